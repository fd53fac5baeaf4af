"""Valid, distinct people to book for: NIKs, applicants and booking request bodies.

One kit for the tests, `bench/`, `loadtests/` and `dashboards/pictures.py`, so that the NIK's
layout (region, birth date with 40 added to a woman's day, serial 0001-9999) is written once.
It lives outside `api/` because it is not the domain: the domain checks NIKs
(`api.booking.nik`), this module makes them, and no production code needs to. It imports only
that checker's constants (no aiohttp), so the Locust process can use it too.

Distinct people come from numbering: `person(n)` is the n-th of a region, and `crowd_person`
folds a run id (into the region code) and a Locust worker's index (into a block of birth
dates) in, so that repeated and distributed load runs on one database never repeat a NIK.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any, NamedTuple

from api.booking.nik import FEMALE_DAY_OFFSET, PROVINCE_CODES

#: Jakarta Utara, Koja (31 72 01): near the Tanjung Priok office
REGION = "317201"
#: the office the kit's bookings go to unless told otherwise
OFFICE = "tanjung-priok"
#: a NIK's serial runs 0001..9999 for one region, birth date and sex
SERIALS = 9999
#: numbered people are born from this day on, over ADULT_DAYS days: adults, whatever today is
FIRST_BIRTH = date(1950, 1, 1)
ADULT_DAYS = (date(2000, 1, 1) - FIRST_BIRTH).days
#: distinct numbered people in one region
PER_REGION = SERIALS * 2 * ADULT_DAYS
#: people a crowd's worker may number in one run (a block of its region's birth dates)
PER_WORKER = 2_000_000
WORKERS = PER_REGION // PER_WORKER
#: the birth date and sex tests use when they do not care
DEFAULT_BIRTH = date(1990, 5, 17)

_PROVINCES = sorted(PROVINCE_CODES)
#: valid region codes: a known province, regency and district 01..99
REGIONS = len(_PROVINCES) * 99 * 99

_serials = itertools.count(1)


class Person(NamedTuple):
    """Who a booking is for: the NIK and the birth date and sex it encodes."""

    nik: str
    birth: date
    sex: str  # "L" or "P"


def nik(
    birth: date = DEFAULT_BIRTH, sex: str = "L", serial: int | None = None, region: str = REGION
) -> str:
    """A valid NIK for this birth date and sex; a fresh serial of this process unless given."""
    number = next(_serials) if serial is None else serial
    if not 1 <= number <= SERIALS:
        raise ValueError(f"a NIK's serial is 1..{SERIALS}, not {number}")
    if len(region) != 6 or not region.isdigit():
        raise ValueError(f"a region code is 6 digits, not {region!r}")
    day = birth.day + (FEMALE_DAY_OFFSET if sex == "P" else 0)
    return f"{region}{day:02d}{birth.month:02d}{birth.year % 100:02d}{number:04d}"


def region_code(k: int) -> str:
    """The k-th valid region code (0 <= k < REGIONS), e.g. 0 -> "110101"."""
    if not 0 <= k < REGIONS:
        raise ValueError(f"region number {k} is outside 0..{REGIONS - 1}")
    province, rest = divmod(k, 99 * 99)
    regency, district = divmod(rest, 99)
    return f"{_PROVINCES[province]:02d}{regency + 1:02d}{district + 1:02d}"


def person(n: int, region: str = REGION) -> Person:
    """The n-th (from 0) distinct adult of `region`: each n its own NIK."""
    if not 0 <= n < PER_REGION:
        raise ValueError(f"person number {n} is outside 0..{PER_REGION - 1}")
    rest, serial = divmod(n, SERIALS)
    days, women = divmod(rest, 2)
    sex = "P" if women else "L"
    birth = FIRST_BIRTH + timedelta(days=days)
    return Person(nik(birth, sex, serial + 1, region), birth, sex)


def crowd_person(run: int, worker: int, n: int) -> Person:
    """The n-th person of a load test's worker `worker` in run `run`: distinct across runs
    (the run picks the region; two runs share one with odds 1 in REGIONS), across workers (each
    numbers its own block) and within a worker."""
    if not 0 <= worker < WORKERS:
        raise ValueError(f"worker index {worker} is outside 0..{WORKERS - 1}")
    if not 0 <= n < PER_WORKER:
        raise ValueError(f"a worker numbers at most {PER_WORKER} people in a run")
    return person(worker * PER_WORKER + n, region_code(run % REGIONS))


def applicant(who: Person | None = None, **changes: Any) -> dict[str, Any]:
    """A valid adult applicant (a man born DEFAULT_BIRTH with a fresh NIK unless `who`)."""
    who = who or Person(nik(), DEFAULT_BIRTH, "L")
    fields = {
        "nik": who.nik,
        "full_name": "Siti Rahayu" if who.sex == "P" else "Budi Santoso",
        "birth_place": "Jakarta",
        "birth_date": who.birth.isoformat(),
        "sex": who.sex,
        "phone": "081234567890",
        "address": "Jl. Enggano No. 10, Tanjung Priok, Jakarta Utara",
        "marital_status": "kawin",
        "purpose": "wisata",
        "destination": "Jepang",
    }
    return fields | changes


def booking_body(
    day: str,
    session_id: str = "s1",
    who: Person | None = None,
    office: str = OFFICE,
    **changes: Any,
) -> dict[str, Any]:
    """A valid request for a reguler place, a new electronic passport, at `office`."""
    body = {
        "office_id": office,
        "date": day,
        "session_id": session_id,
        "lane": "reguler",
        "application_kind": "baru",
        "passport": {"type": "elektronik", "validity_years": 10},
        "applicant": applicant(who),
    }
    return body | changes
