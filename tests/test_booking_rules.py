"""The booking domain's pure rules: NIK, fees, offices, calendar and request parsing."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from api.booking import calendar
from api.booking.application import (
    BookingRequest,
    parse_booking_request,
    parse_reschedule,
)
from api.booking.errors import Invalid
from api.booking.fees import FeeSchedule
from api.booking.nik import decode_birth, mask_nik, nik_birth, nik_problems
from api.booking.offices import (
    DEFAULT_SESSIONS,
    LANES,
    Office,
    ReleaseSchedule,
    load_offices,
    parse_offices,
)

WIB, WITA, WIT = ZoneInfo("Asia/Jakarta"), ZoneInfo("Asia/Makassar"), ZoneInfo("Asia/Jayapura")

# A man born 15 May 1990 in Jakarta Pusat (31 71 01), serial 0001.
NIK_MAN = "3171011505900001"
# A woman born 15 May 1990: the day is stored plus 40.
NIK_WOMAN = "3171015505900001"


def nik(
    region: str = "317101", day: int = 15, month: int = 5, yy: int = 90, serial: str = "0001"
) -> str:
    """A NIK built from its parts."""
    return f"{region}{day:02d}{month:02d}{yy:02d}{serial}"


# --- NIK ------------------------------------------------------------------------------------


def test_valid_niks_have_no_problem() -> None:
    assert nik_problems(NIK_MAN, date(1990, 5, 15), "L") is None
    assert nik_problems(NIK_WOMAN, date(1990, 5, 15), "P") is None
    # Kepulauan Riau (21) and a post-split Papua code (96) are real provinces.
    assert nik_problems(nik(region="217101"), date(1990, 5, 15), "L") is None
    assert nik_problems(nik(region="967101"), date(1990, 5, 15), "L") is None


@pytest.mark.parametrize(
    "value",
    [
        "317101150590000",  # 15 digits
        "31710115059000011",  # 17 digits
        "3171O11505900001",  # letter O for zero
        "3171 11505900001",
        "٣١٧١٠١١٥٠٥٩٠٠٠٠١",  # Arabic-Indic digits are digits, but not ASCII
        "",
    ],
)
def test_nik_format(value: str) -> None:
    problem = nik_problems(value, date(1990, 5, 15), "L")
    assert problem is not None and problem[0] == "nik_format"


@pytest.mark.parametrize("region", ["107101", "207101", "377101", "987101", "007101"])
def test_nik_unknown_province(region: str) -> None:
    problem = nik_problems(nik(region=region), date(1990, 5, 15), "L")
    assert problem is not None and problem[0] == "nik_region"


@pytest.mark.parametrize("region", ["310001", "317100"])
def test_nik_zero_regency_or_district(region: str) -> None:
    problem = nik_problems(nik(region=region), date(1990, 5, 15), "L")
    assert problem is not None and problem[0] == "nik_region"


@pytest.mark.parametrize(
    ("day", "month", "yy"),
    [(32, 5, 90), (0, 5, 90), (15, 13, 90), (15, 0, 90), (72, 5, 90), (40, 5, 90), (29, 2, 1)],
)
def test_nik_impossible_birth_date(day: int, month: int, yy: int) -> None:
    problem = nik_problems(nik(day=day, month=month, yy=yy), None, None)
    assert problem is not None and problem[0] == "nik_birth_date"


def test_nik_leap_day_of_year_00_is_real() -> None:
    # 29 February 2000 existed (1900's did not); the century is not in the NIK.
    assert nik_problems(nik(day=29, month=2, yy=0), date(2000, 2, 29), "L") is None
    assert nik_problems(nik(day=69, month=2, yy=0), date(2000, 2, 29), "P") is None


@pytest.mark.parametrize("birth", [date(1990, 5, 16), date(1990, 6, 15), date(1991, 5, 15)])
def test_nik_birth_date_mismatch(birth: date) -> None:
    problem = nik_problems(NIK_MAN, birth, "L")
    assert problem is not None and problem[0] == "nik_birth_date_mismatch"


def test_nik_compares_two_digit_year_only() -> None:
    assert nik_problems(NIK_MAN, date(2090, 5, 15), "L") is None


def test_nik_sex_mismatch() -> None:
    assert nik_problems(NIK_MAN, date(1990, 5, 15), "P") == (
        "nik_sex_mismatch",
        "The NIK does not match the sex given.",
    )
    problem = nik_problems(NIK_WOMAN, date(1990, 5, 15), "L")
    assert problem is not None and problem[0] == "nik_sex_mismatch"


def test_nik_serial_zero() -> None:
    problem = nik_problems(nik(serial="0000"), date(1990, 5, 15), "L")
    assert problem is not None and problem[0] == "nik_serial"


def test_nik_first_problem_wins() -> None:
    # Bad province and bad serial: the province is reported.
    problem = nik_problems(nik(region="997101", serial="0000"), date(1990, 5, 15), "P")
    assert problem is not None and problem[0] == "nik_region"
    # Woman's NIK, wrong date and wrong sex: the date is reported before the sex.
    problem = nik_problems(NIK_WOMAN, date(1990, 5, 16), "L")
    assert problem is not None and problem[0] == "nik_birth_date_mismatch"


def test_nik_birth_decodes_date_and_sex() -> None:
    today = date(2026, 1, 5)
    assert nik_birth(NIK_MAN, today) == (date(1990, 5, 15), "L")
    assert nik_birth(NIK_WOMAN, today) == (date(1990, 5, 15), "P")
    assert nik_birth(nik(yy=10), today) == (date(2010, 5, 15), "L")
    # 15 May 2026 is after `today`, so it must be 1926.
    assert nik_birth(nik(yy=26), today) == (date(1926, 5, 15), "L")
    assert nik_birth("123", today) == (None, None)
    birth = decode_birth(NIK_WOMAN)
    assert birth is not None and (birth.day, birth.month, birth.yy, birth.sex) == (15, 5, 90, "P")


def test_mask_nik() -> None:
    assert mask_nik("3171011505900001") == "3171**********01"
    assert mask_nik("123") == "***"


# --- Fees -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fees() -> FeeSchedule:
    return FeeSchedule.load()


PP_2024_TOTALS = [
    ("biasa", 5, "reguler", "baru", 350_000),
    ("biasa", 5, "reguler", "penggantian", 350_000),
    ("biasa", 5, "reguler", "hilang", 1_350_000),
    ("biasa", 5, "reguler", "rusak", 850_000),
    ("biasa", 5, "percepatan", "baru", 1_350_000),
    ("biasa", 5, "percepatan", "penggantian", 1_350_000),
    ("biasa", 5, "percepatan", "hilang", 2_350_000),
    ("biasa", 5, "percepatan", "rusak", 1_850_000),
    ("biasa", 5, "prioritas", "baru", 350_000),
    ("biasa", 5, "prioritas", "penggantian", 350_000),
    ("biasa", 5, "prioritas", "hilang", 1_350_000),
    ("biasa", 5, "prioritas", "rusak", 850_000),
    ("biasa", 10, "reguler", "baru", 650_000),
    ("biasa", 10, "reguler", "penggantian", 650_000),
    ("biasa", 10, "reguler", "hilang", 1_650_000),
    ("biasa", 10, "reguler", "rusak", 1_150_000),
    ("biasa", 10, "percepatan", "baru", 1_650_000),
    ("biasa", 10, "percepatan", "penggantian", 1_650_000),
    ("biasa", 10, "percepatan", "hilang", 2_650_000),
    ("biasa", 10, "percepatan", "rusak", 2_150_000),
    ("biasa", 10, "prioritas", "baru", 650_000),
    ("biasa", 10, "prioritas", "penggantian", 650_000),
    ("biasa", 10, "prioritas", "hilang", 1_650_000),
    ("biasa", 10, "prioritas", "rusak", 1_150_000),
    ("elektronik", 5, "reguler", "baru", 650_000),
    ("elektronik", 5, "reguler", "penggantian", 650_000),
    ("elektronik", 5, "reguler", "hilang", 1_650_000),
    ("elektronik", 5, "reguler", "rusak", 1_150_000),
    ("elektronik", 5, "percepatan", "baru", 1_650_000),
    ("elektronik", 5, "percepatan", "penggantian", 1_650_000),
    ("elektronik", 5, "percepatan", "hilang", 2_650_000),
    ("elektronik", 5, "percepatan", "rusak", 2_150_000),
    ("elektronik", 5, "prioritas", "baru", 650_000),
    ("elektronik", 5, "prioritas", "penggantian", 650_000),
    ("elektronik", 5, "prioritas", "hilang", 1_650_000),
    ("elektronik", 5, "prioritas", "rusak", 1_150_000),
    ("elektronik", 10, "reguler", "baru", 950_000),
    ("elektronik", 10, "reguler", "penggantian", 950_000),
    ("elektronik", 10, "reguler", "hilang", 1_950_000),
    ("elektronik", 10, "reguler", "rusak", 1_450_000),
    ("elektronik", 10, "percepatan", "baru", 1_950_000),
    ("elektronik", 10, "percepatan", "penggantian", 1_950_000),
    ("elektronik", 10, "percepatan", "hilang", 2_950_000),
    ("elektronik", 10, "percepatan", "rusak", 2_450_000),
    ("elektronik", 10, "prioritas", "baru", 950_000),
    ("elektronik", 10, "prioritas", "penggantian", 950_000),
    ("elektronik", 10, "prioritas", "hilang", 1_950_000),
    ("elektronik", 10, "prioritas", "rusak", 1_450_000),
]


@pytest.mark.parametrize(("passport", "validity", "lane", "kind", "total"), PP_2024_TOTALS)
def test_every_2024_fee(
    fees: FeeSchedule, passport: str, validity: int, lane: str, kind: str, total: int
) -> None:
    quote = fees.in_force(date(2025, 1, 1)).quote(passport, validity, lane, kind)
    assert quote.regulation == "PP 45/2024"
    assert quote.total == total


def test_2024_table_is_fully_covered() -> None:
    combos = {(p, v, lane, k) for p, v, lane, k, _ in PP_2024_TOTALS}
    assert len(combos) == 2 * 2 * 3 * 4


def test_quote_lines(fees: FeeSchedule) -> None:
    quote = fees.in_force(date(2025, 6, 1)).quote("elektronik", 10, "percepatan", "rusak")
    assert [(line.code, line.amount) for line in quote.lines] == [
        ("paspor_elektronik_10", 950_000),
        ("percepatan", 1_000_000),
        ("rusak", 500_000),
    ]
    assert quote.lines[0].label_en == "Electronic passport, 10 years"


def test_fee_table_switches_on_17_december_2024(fees: FeeSchedule) -> None:
    before = fees.in_force(date(2024, 12, 16))
    after = fees.in_force(date(2024, 12, 17))
    assert before.regulation == "PP 28/2019"
    assert after.regulation == "PP 45/2024"
    # PP 28/2019 had one validity: 10 years cost what 5 did.
    assert before.quote("biasa", 10, "reguler", "baru").total == 350_000
    assert after.quote("biasa", 10, "reguler", "baru").total == 650_000
    assert before.quote("elektronik", 10, "percepatan", "hilang").total == 2_650_000
    assert after.quote("elektronik", 10, "percepatan", "hilang").total == 2_950_000


def test_2014_table(fees: FeeSchedule) -> None:
    table = fees.in_force(date(2019, 5, 2))
    assert table.regulation == "PP 45/2014"
    assert fees.in_force(date(2019, 5, 3)).regulation == "PP 28/2019"
    # Biometrics were charged on every application.
    assert table.quote("biasa", 5, "reguler", "baru").total == 355_000
    assert table.quote("elektronik", 5, "prioritas", "baru").total == 655_000
    # Lost through negligence: the book cost 800,000 instead of 600,000 for an e-passport.
    assert table.quote("elektronik", 5, "reguler", "hilang").total == 855_000
    assert table.quote("biasa", 5, "reguler", "rusak").total == 655_000
    with pytest.raises(ValueError, match="percepatan"):
        table.quote("biasa", 5, "percepatan", "baru")


@pytest.mark.parametrize(("kind", "waived"), [("hilang", 1_000_000), ("rusak", 500_000)])
def test_force_majeure_waives_the_surcharge(fees: FeeSchedule, kind: str, waived: int) -> None:
    table = fees.in_force(date(2025, 1, 1))
    normal = table.quote("elektronik", 5, "reguler", kind)
    disaster = table.quote("elektronik", 5, "reguler", kind, force_majeure=True)
    assert normal.total == 650_000 + waived
    assert disaster.total == 650_000
    # The waived line stays on the bill at 0.
    assert disaster.lines[-1].code == kind
    assert disaster.lines[-1].amount == 0
    assert "force majeure" in disaster.lines[-1].label_en


def test_force_majeure_needs_a_lost_or_damaged_passport(fees: FeeSchedule) -> None:
    with pytest.raises(ValueError):
        fees.in_force(date(2025, 1, 1)).quote("biasa", 5, "reguler", "baru", force_majeure=True)


@pytest.mark.parametrize(
    ("passport", "validity", "lane", "kind"),
    [
        ("diplomatik", 5, "reguler", "baru"),
        ("biasa", 7, "reguler", "baru"),
        ("biasa", 5, "kilat", "baru"),
        ("biasa", 5, "reguler", "perpanjangan"),
    ],
)
def test_unknown_fee_choices_raise(
    fees: FeeSchedule, passport: str, validity: int, lane: str, kind: str
) -> None:
    with pytest.raises(ValueError):
        fees.in_force(date(2025, 1, 1)).quote(passport, validity, lane, kind)


def test_no_table_before_the_first(fees: FeeSchedule) -> None:
    with pytest.raises(ValueError):
        fees.in_force(date(2000, 1, 1))


def test_fees_json(fees: FeeSchedule) -> None:
    doc = fees.as_json(date(2025, 1, 1))
    assert doc["in_force"]["regulation"] == "PP 45/2024"
    assert doc["in_force"]["effective_from"] == "2024-12-17"
    assert {"type": "elektronik", "validity_years": 10, "amount": 950_000} in doc["in_force"][
        "passports"
    ]
    assert {s["code"]: s["amount"] for s in doc["in_force"]["surcharges"]} == {
        "percepatan": 1_000_000,
        "hilang": 1_000_000,
        "rusak": 500_000,
    }
    assert [t["regulation"] for t in doc["history"]] == ["PP 28/2019", "PP 45/2014"]
    # On a date under the 2019 table, the 2024 table is listed among the others.
    doc = fees.as_json(date(2020, 1, 1))
    assert doc["in_force"]["regulation"] == "PP 28/2019"
    assert [t["regulation"] for t in doc["history"]] == ["PP 45/2024", "PP 45/2014"]


# --- Offices --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def offices() -> dict[str, Office]:
    return load_offices()


def test_seed_offices(offices: dict[str, Office]) -> None:
    assert len(offices) >= 32
    priok = offices["tanjung-priok"]
    assert priok.name == "Kantor Imigrasi Kelas I TPI Tanjung Priok"
    assert priok.city == "Jakarta Utara"
    assert priok.zone_label == "WIB"
    labels = {office_id: offices[office_id].zone_label for office_id in offices}
    assert labels["mataram"] == labels["makassar"] == labels["denpasar"] == "WITA"
    assert labels["ambon"] == labels["jayapura"] == labels["sorong"] == labels["ternate"] == "WIT"
    assert labels["pontianak"] == labels["batam"] == "WIB"
    for office in offices.values():
        assert set(office.capacity) == set(LANES)
        assert [s.id for s in office.sessions] == ["s1", "s2", "s3"]
        assert office.closed_weekdays == frozenset({5, 6})
    assert offices["mataram"].release == ReleaseSchedule(4, time(16, 0), 14)


def test_office_public_json(offices: dict[str, Office]) -> None:
    doc = offices["jayapura"].public_json()
    assert doc["id"] == "jayapura"
    assert doc["timezone"] == "WIT"
    assert doc["tz"] == "Asia/Jayapura"
    assert doc["sessions"][2] == {"id": "s3", "start": "13:00", "end": "15:00"}


def _document() -> dict[str, Any]:
    return {
        "defaults": {
            "capacity": {"reguler": 10, "percepatan": 2, "prioritas": 2},
            "release": {"weekday": 4, "at": "14:00", "horizon_days": 14},
        },
        "offices": [
            {"id": "a", "name": "A", "city": "A", "province": "A", "timezone": "Asia/Jakarta"},
        ],
    }


def test_parse_offices_uses_defaults() -> None:
    office = parse_offices(_document())["a"]
    assert office.sessions == DEFAULT_SESSIONS
    assert office.capacity == {"reguler": 10, "percepatan": 2, "prioritas": 2}


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["offices"].append(dict(d["offices"][0])),  # duplicate id
        lambda d: d["offices"][0].update(timezone="Asia/Singapore"),
        lambda d: d["offices"][0].update(id="Kanim A"),
        lambda d: d["offices"][0].update(capacity={"reguler": 10}),
        lambda d: d["offices"][0].update(
            capacity={"reguler": 10, "percepatan": -1, "prioritas": 0}
        ),
        lambda d: d["offices"][0].update(release={"weekday": 7, "at": "14:00", "horizon_days": 7}),
    ],
)
def test_parse_offices_refuses_bad_data(change: Any) -> None:
    document = _document()
    change(document)
    with pytest.raises(ValueError):
        parse_offices(document)


# --- Calendar -------------------------------------------------------------------------------


def office_in(tz: str, weekday: int = 4, at: time = time(14, 0), horizon: int = 14) -> Office:
    """An office in `tz` releasing weekly at `weekday` `at` local."""
    return Office(
        id="t",
        name="Test",
        city="Test",
        province="Test",
        timezone=tz,
        sessions=DEFAULT_SESSIONS,
        capacity=MappingProxyType({"reguler": 1, "percepatan": 1, "prioritas": 1}),
        release=ReleaseSchedule(weekday, at, horizon),
    )


NO_HOLIDAYS = calendar.Holidays(frozenset())
FRIDAY = date(2026, 1, 9)


def test_friday_release_minute_before_and_at() -> None:
    office = office_in("Asia/Jakarta")
    before = datetime(2026, 1, 9, 13, 59, tzinfo=WIB)
    at = datetime(2026, 1, 9, 14, 0, tzinfo=WIB)
    assert calendar.last_release(office, before) == datetime(2026, 1, 2, 14, 0, tzinfo=WIB)
    assert calendar.next_release(office, before) == at
    assert calendar.released_until(office, before) == date(2026, 1, 16)
    assert calendar.last_release(office, at) == at
    assert calendar.next_release(office, at) == datetime(2026, 1, 16, 14, 0, tzinfo=WIB)
    assert calendar.released_until(office, at) == date(2026, 1, 23)
    tuesday = date(2026, 1, 20)
    assert not calendar.is_bookable(office, tuesday, before, NO_HOLIDAYS)
    assert calendar.is_bookable(office, tuesday, at, NO_HOLIDAYS)
    # Accepts UTC input and answers in the office's zone.
    assert calendar.last_release(office, at.astimezone(UTC)).utcoffset() == timedelta(hours=7)


def test_same_instant_differs_by_zone() -> None:
    wib, wita, wit = (
        office_in("Asia/Jakarta"),
        office_in("Asia/Makassar"),
        office_in("Asia/Jayapura"),
    )
    # 06:30 UTC: 13:30 WIB, 14:30 WITA, 15:30 WIT on Friday.
    now = datetime(2026, 1, 9, 6, 30, tzinfo=UTC)
    assert calendar.released_until(wib, now) == date(2026, 1, 16)
    assert calendar.released_until(wita, now) == date(2026, 1, 23)
    assert calendar.released_until(wit, now) == date(2026, 1, 23)
    # 05:30 UTC: only WIT (14:30) has released.
    now = datetime(2026, 1, 9, 5, 30, tzinfo=UTC)
    assert calendar.released_until(wita, now) == date(2026, 1, 16)
    assert calendar.released_until(wit, now) == date(2026, 1, 23)
    # The release instants themselves are 14:00 local, an hour apart in absolute time.
    assert calendar.next_release(wib, now).astimezone(UTC) == datetime(2026, 1, 9, 7, tzinfo=UTC)
    assert calendar.next_release(wita, now).astimezone(UTC) == datetime(2026, 1, 9, 6, tzinfo=UTC)


def test_local_today_by_zone() -> None:
    now = datetime(2026, 1, 9, 16, 30, tzinfo=UTC)  # 23:30 WIB, 00:30 WITA, 01:30 WIT
    assert calendar.local_today(office_in("Asia/Jakarta"), now) == FRIDAY
    assert calendar.local_today(office_in("Asia/Makassar"), now) == date(2026, 1, 10)
    assert calendar.local_today(office_in("Asia/Jayapura"), now) == date(2026, 1, 10)


def test_naive_now_refused() -> None:
    with pytest.raises(ValueError):
        calendar.local_today(office_in("Asia/Jakarta"), datetime(2026, 1, 9, 12))


def test_monday_release_seen_on_sunday() -> None:
    office = office_in("Asia/Jakarta", weekday=0, at=time(9, 0), horizon=30)
    sunday = datetime(2026, 1, 11, 20, 0, tzinfo=WIB)
    assert calendar.last_release(office, sunday) == datetime(2026, 1, 5, 9, 0, tzinfo=WIB)
    assert calendar.next_release(office, sunday) == datetime(2026, 1, 12, 9, 0, tzinfo=WIB)
    assert calendar.released_until(office, sunday) == date(2026, 2, 4)


def test_weekends_and_holidays_are_closed() -> None:
    office = office_in("Asia/Jakarta")
    holidays = calendar.Holidays.load()
    assert date(2026, 8, 17) in holidays.dates
    assert date(2026, 3, 20) in holidays.dates  # cuti bersama counts
    assert holidays.names[date(2026, 12, 25)] == "Hari Raya Natal"
    assert calendar.is_open_day(office, date(2026, 1, 12), holidays)  # a Monday
    assert not calendar.is_open_day(office, date(2026, 1, 10), holidays)  # Saturday
    assert not calendar.is_open_day(office, date(2026, 1, 11), holidays)  # Sunday
    assert not calendar.is_open_day(office, date(2026, 1, 16), holidays)  # Isra Mikraj, a Friday
    # Released and a weekday, but a holiday: not bookable.
    now = datetime(2026, 1, 9, 15, 0, tzinfo=WIB)
    assert calendar.is_bookable(office, date(2026, 1, 15), now, holidays)
    assert not calendar.is_bookable(office, date(2026, 1, 16), now, holidays)


def test_today_is_not_bookable() -> None:
    office = office_in("Asia/Jakarta", weekday=0, at=time(9, 0), horizon=30)
    now = datetime(2026, 1, 13, 7, 0, tzinfo=WIB)  # Tuesday morning
    assert not calendar.is_bookable(office, date(2026, 1, 13), now, NO_HOLIDAYS)
    assert not calendar.is_bookable(office, date(2026, 1, 12), now, NO_HOLIDAYS)
    assert calendar.is_bookable(office, date(2026, 1, 14), now, NO_HOLIDAYS)


def test_session_start_and_reschedule_deadline() -> None:
    office = office_in("Asia/Makassar")
    start = calendar.session_start(office, date(2026, 1, 12), DEFAULT_SESSIONS[0])
    assert start.astimezone(UTC) == datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
    deadline = calendar.reschedule_allowed_until(office, date(2026, 1, 12))
    assert deadline == datetime(2026, 1, 12, 0, 0, tzinfo=WITA)
    assert deadline.astimezone(UTC) == datetime(2026, 1, 11, 16, 0, tzinfo=UTC)


# --- The booking request --------------------------------------------------------------------

TODAY = date(2026, 1, 5)


def body(**changes: Any) -> dict[str, Any]:
    """A valid booking body; `changes` replace top-level keys, "applicant__x" applicant keys."""
    doc: dict[str, Any] = {
        "office_id": "tanjung-priok",
        "date": "2026-01-20",
        "session_id": "s2",
        "lane": "reguler",
        "application_kind": "baru",
        "passport": {"type": "elektronik", "validity_years": 10},
        "applicant": {
            "nik": NIK_MAN,
            "full_name": "  Budi   Santoso ",
            "birth_place": "Jakarta",
            "birth_date": "1990-05-15",
            "sex": "L",
            "phone": "0812-3456-7890",
            "address": "Jl. Enggano No. 64, Tanjung Priok, Jakarta Utara",
            "marital_status": "kawin",
            "purpose": "umrah",
            "destination": "Arab Saudi",
        },
    }
    for key, value in changes.items():
        group, _, field = key.partition("__")
        if field:
            doc[group][field] = value
        else:
            doc[key] = value
    return doc


def refused(doc: Any, offices: dict[str, Office]) -> Invalid:
    with pytest.raises(Invalid) as info:
        parse_booking_request(doc, offices, TODAY)
    assert set(info.value.fields) == set(info.value.codes)
    return info.value


def test_valid_body_parses(offices: dict[str, Office]) -> None:
    request = parse_booking_request(body(), offices, TODAY)
    assert isinstance(request, BookingRequest)
    assert request.office_id == "tanjung-priok"
    assert request.date == date(2026, 1, 20)
    assert (request.session_id, request.lane, request.application_kind) == ("s2", "reguler", "baru")
    assert (request.passport_type, request.validity_years) == ("elektronik", 10)
    person = request.applicant
    assert person.full_name == "Budi Santoso"
    assert person.phone == "+6281234567890"
    assert person.birth_date == date(1990, 5, 15)
    assert person.age_on(request.date) == 35
    assert request.applicant_type() == "dewasa"


def test_unknown_fields_everywhere(offices: dict[str, Office]) -> None:
    doc = body(status="paid")
    doc["passport"]["pages"] = 48
    doc["applicant"]["email"] = "budi@example.com"
    error = refused(doc, offices)
    assert error.codes == {
        "status": "unknown_field",
        "passport.pages": "unknown_field",
        "applicant.email": "unknown_field",
    }
    assert error.fields["status"] == "unknown field"


def test_every_problem_is_reported_at_once(offices: dict[str, Office]) -> None:
    error = refused(
        body(lane="kilat", session_id="s9", applicant__sex="X", applicant__phone="12", extra=1),
        offices,
    )
    assert error.codes == {
        "extra": "unknown_field",
        "session_id": "unknown_session",
        "lane": "choice",
        "applicant.sex": "choice",
        "applicant.phone": "phone",
    }


def test_empty_body_lists_every_required_field(offices: dict[str, Office]) -> None:
    error = refused({}, offices)
    assert error.codes == {
        key: "required"
        for key in (
            "office_id",
            "date",
            "session_id",
            "lane",
            "application_kind",
            "passport",
            "applicant",
        )
    }


def test_missing_nested_fields(offices: dict[str, Office]) -> None:
    error = refused(body(passport={}, applicant={"nik": NIK_MAN}), offices)
    expected = {"passport.type", "passport.validity_years"} | {
        f"applicant.{name}"
        for name in (
            "full_name",
            "birth_place",
            "birth_date",
            "sex",
            "phone",
            "address",
            "marital_status",
            "purpose",
            "destination",
        )
    }
    assert error.codes == dict.fromkeys(expected, "required")


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"office_id": 5}, "office_id"),
        ({"date": 20260120}, "date"),
        ({"passport": "elektronik"}, "passport"),
        ({"applicant": ["Budi"]}, "applicant"),
        ({"passport": {"type": "biasa", "validity_years": "10"}}, "passport.validity_years"),
        ({"passport": {"type": "biasa", "validity_years": True}}, "passport.validity_years"),
        ({"passport": {"type": "biasa", "validity_years": 10.0}}, "passport.validity_years"),
        ({"applicant__nik": 3171011505900001}, "applicant.nik"),
    ],
)
def test_wrong_json_types(offices: dict[str, Office], changes: dict[str, Any], path: str) -> None:
    assert refused(body(**changes), offices).codes == {path: "type"}


@pytest.mark.parametrize(
    ("changes", "path", "code"),
    [
        ({"office_id": "kanim-atlantis"}, "office_id", "unknown_office"),
        ({"session_id": "s4"}, "session_id", "unknown_session"),
        ({"lane": "vip"}, "lane", "choice"),
        ({"application_kind": "perpanjangan"}, "application_kind", "choice"),
        ({"passport": {"type": "diplomatik", "validity_years": 5}}, "passport.type", "choice"),
        ({"passport": {"type": "biasa", "validity_years": 7}}, "passport.validity_years", "choice"),
        ({"applicant__marital_status": "menikah"}, "applicant.marital_status", "choice"),
        ({"applicant__purpose": "mudik"}, "applicant.purpose", "choice"),
        ({"date": "2026/01/20"}, "date", "date"),
        ({"date": "20260120"}, "date", "date"),
        ({"date": "2026-02-30"}, "date", "date"),
        ({"date": "2026-01-05"}, "date", "date_not_future"),
        ({"applicant__full_name": "Bo"}, "applicant.full_name", "length"),
        ({"applicant__full_name": "B" * 101}, "applicant.full_name", "length"),
        ({"applicant__full_name": "R2D2 Santoso"}, "applicant.full_name", "format"),
        ({"applicant__full_name": "   "}, "applicant.full_name", "required"),
        ({"applicant__birth_place": "J"}, "applicant.birth_place", "length"),
        ({"applicant__address": "Jl."}, "applicant.address", "length"),
        ({"applicant__address": "x" * 201}, "applicant.address", "length"),
        ({"applicant__destination": "X"}, "applicant.destination", "length"),
        ({"applicant__destination": "Planet 9"}, "applicant.destination", "format"),
        ({"applicant__birth_date": "15-05-1990"}, "applicant.birth_date", "date"),
        ({"applicant__phone": "0212345678"}, "applicant.phone", "phone"),  # a landline
        ({"applicant__phone": "+6581234567"}, "applicant.phone", "phone"),  # Singapore
        ({"applicant__phone": "08123456"}, "applicant.phone", "phone"),  # 8 digits
        ({"applicant__phone": "0812345678901234"}, "applicant.phone", "phone"),  # 16 digits
        ({"applicant__phone": "6281234567890"}, "applicant.phone", "phone"),  # no +
    ],
)
def test_field_rules(
    offices: dict[str, Office], changes: dict[str, Any], path: str, code: str
) -> None:
    assert refused(body(**changes), offices).codes == {path: code}


@pytest.mark.parametrize(
    ("phone", "stored"),
    [
        ("081234567890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("0812345678", "+62812345678"),  # 10 digits
        ("+628123456789012", "+628123456789012"),  # 15 digits
    ],
)
def test_phone_is_normalised(offices: dict[str, Office], phone: str, stored: str) -> None:
    request = parse_booking_request(body(applicant__phone=phone), offices, TODAY)
    assert request.applicant.phone == stored


def test_names_with_punctuation_pass(offices: dict[str, Office]) -> None:
    doc = body(applicant__full_name="R.A. Siti Nur'aini-Putri, S.E.")
    doc["applicant"]["nik"] = NIK_WOMAN
    doc["applicant"]["sex"] = "P"
    request = parse_booking_request(doc, offices, TODAY)
    assert request.applicant.full_name == "R.A. Siti Nur'aini-Putri, S.E."


@pytest.mark.parametrize(
    ("nik_value", "birth_date", "sex", "code"),
    [
        ("31710115059000", "1990-05-15", "L", "nik_format"),
        ("9971011505900001", "1990-05-15", "L", "nik_region"),
        ("3100011505900001", "1990-05-15", "L", "nik_region"),
        ("3171013505900001", "1990-05-15", "L", "nik_birth_date"),
        ("3171011605900001", "1990-05-15", "L", "nik_birth_date_mismatch"),
        ("3171015505900001", "1990-05-15", "L", "nik_sex_mismatch"),
        ("3171011505900000", "1990-05-15", "L", "nik_serial"),
    ],
)
def test_nik_problems_surface_at_applicant_nik(
    offices: dict[str, Office], nik_value: str, birth_date: str, sex: str, code: str
) -> None:
    doc = body(applicant__nik=nik_value, applicant__birth_date=birth_date, applicant__sex=sex)
    error = refused(doc, offices)
    assert error.codes == {"applicant.nik": code}
    assert error.fields["applicant.nik"]


def test_nik_checked_even_when_sex_is_invalid(offices: dict[str, Office]) -> None:
    error = refused(body(applicant__nik="3171011605900001", applicant__sex="M"), offices)
    assert error.codes == {
        "applicant.sex": "choice",
        "applicant.nik": "nik_birth_date_mismatch",
    }


def test_birth_date_limits(offices: dict[str, Office]) -> None:
    future = refused(body(applicant__birth_date="2026-01-05"), offices)
    assert future.codes["applicant.birth_date"] == "birth_date_future"
    old = refused(
        body(applicant__birth_date="1906-01-04", applicant__nik=nik(day=4, month=1, yy=6)), offices
    )
    assert old.codes == {"applicant.birth_date": "birth_date_too_old"}
    # Exactly 120 years ago is still allowed.
    request = parse_booking_request(
        body(applicant__birth_date="1906-01-05", applicant__nik=nik(day=5, month=1, yy=6)),
        offices,
        TODAY,
    )
    assert request.applicant.birth_date == date(1906, 1, 5)


def child(born: date, marital_status: str = "belum_kawin", validity: int = 10) -> dict[str, Any]:
    """A body for an applicant born on `born`, wanting a passport of `validity` years."""
    return body(
        passport={"type": "biasa", "validity_years": validity},
        applicant__birth_date=born.isoformat(),
        applicant__nik=nik(day=born.day, month=born.month, yy=born.year % 100),
        applicant__marital_status=marital_status,
    )


def test_ten_years_needs_an_adult(offices: dict[str, Office]) -> None:
    # Appointment 2026-01-20; born 2009-01-21: 16 on the day, 17 the day after.
    error = refused(child(date(2009, 1, 21)), offices)
    assert error.codes == {"passport.validity_years": "validity_needs_adult"}
    # Seventeen on the appointment date itself (though 16 today) is enough.
    request = parse_booking_request(child(date(2009, 1, 20)), offices, TODAY)
    assert request.applicant.age_on(TODAY) == 16
    assert request.applicant_type() == "dewasa"
    # Married at 16: adult for passport purposes.
    request = parse_booking_request(child(date(2009, 1, 21), "kawin"), offices, TODAY)
    assert request.validity_years == 10
    assert request.applicant_type() == "dewasa"
    # A child may take 5 years.
    request = parse_booking_request(child(date(2015, 6, 1), validity=5), offices, TODAY)
    assert request.applicant_type() == "anak"


def test_body_must_be_an_object(offices: dict[str, Office]) -> None:
    assert refused(["not", "an", "object"], offices).codes == {"body": "type"}


def test_parsing_does_not_change_the_body(offices: dict[str, Office]) -> None:
    doc = body()
    before = copy.deepcopy(doc)
    parse_booking_request(doc, offices, TODAY)
    assert doc == before


# --- Reschedule -----------------------------------------------------------------------------


def test_reschedule_parses(offices: dict[str, Office]) -> None:
    assert parse_reschedule({"date": "2026-01-21", "session_id": " s3 "}, offices["batam"]) == (
        date(2026, 1, 21),
        "s3",
    )


@pytest.mark.parametrize(
    ("doc", "codes"),
    [
        (
            {"date": "2026-01-21", "session_id": "s1", "office_id": "batam"},
            {"office_id": "unknown_field"},
        ),
        ({"date": "2026-01-21", "session_id": "s7"}, {"session_id": "unknown_session"}),
        ({"session_id": "s1"}, {"date": "required"}),
        ({"date": "21/01/2026", "session_id": 1}, {"date": "date", "session_id": "type"}),
    ],
)
def test_reschedule_refusals(
    offices: dict[str, Office], doc: dict[str, Any], codes: dict[str, str]
) -> None:
    with pytest.raises(Invalid) as info:
        parse_reschedule(doc, offices["batam"])
    assert info.value.codes == codes
