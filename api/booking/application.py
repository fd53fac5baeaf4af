"""The booking request: strict parsing of the JSON body into a typed value."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import Invalid
from .fees import APPLICATION_KINDS, PASSPORT_TYPES, VALIDITY_YEARS
from .nik import nik_problems
from .offices import LANES, Office

#: Age from which an applicant is an adult (dewasa) and may hold a 10-year passport.
ADULT_AGE = 17
#: Oldest plausible applicant; older birth dates are typing mistakes.
MAX_AGE_YEARS = 120


class Sex(StrEnum):
    """Sex as written on the KTP."""

    #: Laki-laki (male).
    L = "L"
    #: Perempuan (female).
    P = "P"


class MaritalStatus(StrEnum):
    """Marital status as on the KK (family card)."""

    #: Never married.
    BELUM_KAWIN = "belum_kawin"
    #: Married.
    KAWIN = "kawin"
    #: Divorced.
    CERAI_HIDUP = "cerai_hidup"
    #: Widowed.
    CERAI_MATI = "cerai_mati"


class Purpose(StrEnum):
    """The purpose of travel asked in the questionnaire."""

    #: Tourism.
    WISATA = "wisata"
    #: Umrah pilgrimage.
    UMRAH = "umrah"
    #: Hajj pilgrimage.
    HAJI = "haji"
    #: Work abroad.
    BEKERJA = "bekerja"
    #: Study abroad.
    BELAJAR = "belajar"
    #: Visiting family.
    KUNJUNGAN_KELUARGA = "kunjungan_keluarga"
    #: Business trip.
    BISNIS = "bisnis"
    #: Medical treatment.
    BEROBAT = "berobat"
    #: Anything else.
    LAINNYA = "lainnya"


SEXES: tuple[str, ...] = tuple(s.value for s in Sex)
MARITAL_STATUSES: tuple[str, ...] = tuple(m.value for m in MaritalStatus)
PURPOSES: tuple[str, ...] = tuple(p.value for p in Purpose)

_TOP_FIELDS = frozenset(
    {"office_id", "date", "session_id", "lane", "application_kind", "passport", "applicant"}
)
_PASSPORT_FIELDS = frozenset({"type", "validity_years"})
_APPLICANT_FIELDS = frozenset(
    {
        "nik",
        "full_name",
        "birth_place",
        "birth_date",
        "sex",
        "phone",
        "address",
        "marital_status",
        "purpose",
        "destination",
    }
)
_RESCHEDULE_FIELDS = frozenset({"date", "session_id"})

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PHONE = re.compile(r"(\+62|0)(8\d+)")
# Letters of any script plus the punctuation names carry ("Sri Ayu", "R.A. Kartini", "O'Neil").
NAME_PUNCTUATION = frozenset(" '.-,")
_PLACE_PUNCTUATION = frozenset(" '.-,()/")


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class Applicant:
    """The person the passport is for, as on their KTP/KK."""

    nik: str
    full_name: str
    birth_place: str
    birth_date: dt.date
    sex: str
    phone: str  # normalised to +62…
    address: str
    marital_status: str
    purpose: str
    destination: str

    def age_on(self, day: dt.date) -> int:
        """Completed years of age on `day`."""
        return _age(self.birth_date, day)

    def applicant_type(self, on: dt.date) -> str:
        """The applicant type: dewasa (17+ on `on`, or ever married) or anak."""
        adult = self.age_on(on) >= ADULT_AGE or self.marital_status != MaritalStatus.BELUM_KAWIN
        return "dewasa" if adult else "anak"


@dataclass(frozen=True)
class BookingRequest:
    """A parsed, checked booking request."""

    office_id: str
    date: dt.date
    session_id: str
    lane: str
    application_kind: str
    passport_type: str
    validity_years: int
    applicant: Applicant

    def applicant_type(self) -> str:
        """The applicant type (dewasa or anak) on the appointment date."""
        return self.applicant.applicant_type(self.date)


class _Problems:
    """Field problems collected across the whole body; the first per path wins."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.codes: dict[str, str] = {}

    def add(self, path: str, code: str, message: str) -> None:
        if path not in self.fields:
            self.fields[path] = message
            self.codes[path] = code

    def raise_any(self) -> None:
        if self.fields:
            raise Invalid(self.fields, self.codes)


def _path(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _unknown(obj: Mapping[str, Any], allowed: frozenset[str], prefix: str, p: _Problems) -> None:
    for key in obj:
        if key not in allowed:
            p.add(_path(prefix, str(key)), "unknown_field", "unknown field")


def _object(obj: Mapping[str, Any], key: str, p: _Problems) -> Mapping[str, Any] | None:
    value = obj.get(key)
    if value is None:
        p.add(key, "required", "Required.")
        return None
    if not isinstance(value, Mapping):
        p.add(key, "type", "Must be an object.")
        return None
    return value


def _string(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    p: _Problems,
    lengths: tuple[int, int] | None = None,
) -> str | None:
    value = obj.get(key)
    # JSON null counts as absent: clients send it for "not filled in".
    if value is None:
        p.add(path, "required", "Required.")
        return None
    if not isinstance(value, str):
        p.add(path, "type", "Must be a string.")
        return None
    text = value.strip()
    if not text:
        p.add(path, "required", "Required.")
        return None
    if lengths is not None and not lengths[0] <= len(text) <= lengths[1]:
        p.add(path, "length", f"Must be {lengths[0]} to {lengths[1]} characters long.")
        return None
    return text


def _choice(
    obj: Mapping[str, Any], key: str, path: str, choices: Collection[str], p: _Problems
) -> str | None:
    text = _string(obj, key, path, p)
    if text is not None and text not in choices:
        p.add(path, "choice", f"Must be one of: {', '.join(choices)}.")
        return None
    return text


def _date(obj: Mapping[str, Any], key: str, path: str, p: _Problems) -> dt.date | None:
    text = _string(obj, key, path, p)
    if text is None:
        return None
    # fromisoformat alone also takes "20260105" and week dates; the API promises YYYY-MM-DD.
    if _ISO_DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    p.add(path, "date", "Must be a real date written YYYY-MM-DD.")
    return None


def _collapse(text: str | None) -> str | None:
    return " ".join(text.split()) if text is not None else None


def is_worded(text: str, punctuation: frozenset[str] = NAME_PUNCTUATION) -> bool:
    """Whether `text` is letters (of any script) with only the given punctuation, as a
    person's name is."""
    return any(c.isalpha() for c in text) and all(c.isalpha() or c in punctuation for c in text)


def mobile_number(text: str) -> str | None:
    """An Indonesian mobile number as +62…, or None if `text` is not one."""
    # People write numbers in groups ("0812-3456-7890"); the digits are what count.
    compact = re.sub(r"[ \-]", "", text)
    match = _PHONE.fullmatch(compact)
    digits = sum(c.isdigit() for c in compact)
    if match is None or not compact.isascii() or not 10 <= digits <= 15:
        return None
    return "+62" + match.group(2)


def _worded(
    text: str | None, path: str, punctuation: frozenset[str], what: str, p: _Problems
) -> str | None:
    if text is None:
        return None
    if not is_worded(text, punctuation):
        marks = " ".join(sorted(punctuation - {" "}))
        p.add(path, "format", f"{what} may contain only letters, spaces and these marks: {marks}")
        return None
    return text


def _phone(obj: Mapping[str, Any], path: str, p: _Problems) -> str | None:
    text = _string(obj, "phone", path, p)
    if text is None:
        return None
    number = mobile_number(text)
    if number is None:
        p.add(
            path,
            "phone",
            "Enter an Indonesian mobile number starting with 08 or +628 (10 to 15 digits).",
        )
    return number


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _applicant(raw: Mapping[str, Any], today: dt.date, p: _Problems) -> dict[str, Any]:
    """The applicant's fields that parsed, by name; problems go to `p`."""
    _unknown(raw, _APPLICANT_FIELDS, "applicant", p)
    a = "applicant."
    values: dict[str, Any] = {
        "nik": _string(raw, "nik", a + "nik", p),
        "full_name": _worded(
            _collapse(_string(raw, "full_name", a + "full_name", p, (3, 100))),
            a + "full_name",
            NAME_PUNCTUATION,
            "A name",
            p,
        ),
        "birth_place": _worded(
            _collapse(_string(raw, "birth_place", a + "birth_place", p, (2, 60))),
            a + "birth_place",
            _PLACE_PUNCTUATION,
            "A place of birth",
            p,
        ),
        "birth_date": _date(raw, "birth_date", a + "birth_date", p),
        "sex": _choice(raw, "sex", a + "sex", SEXES, p),
        "phone": _phone(raw, a + "phone", p),
        "address": _string(raw, "address", a + "address", p, (5, 200)),
        "marital_status": _choice(raw, "marital_status", a + "marital_status", MARITAL_STATUSES, p),
        "purpose": _choice(raw, "purpose", a + "purpose", PURPOSES, p),
        "destination": _worded(
            _collapse(_string(raw, "destination", a + "destination", p, (2, 60))),
            a + "destination",
            _PLACE_PUNCTUATION,
            "A country name",
            p,
        ),
    }
    birth = values["birth_date"]
    if birth is not None:
        if birth >= today:
            p.add(a + "birth_date", "birth_date_future", "The date of birth must be in the past.")
            values["birth_date"] = birth = None
        elif birth < _years_before(today, MAX_AGE_YEARS):
            p.add(
                a + "birth_date",
                "birth_date_too_old",
                f"The date of birth cannot be more than {MAX_AGE_YEARS} years ago.",
            )
            values["birth_date"] = birth = None
    if values["nik"] is not None:
        # Checked against whatever else parsed, so a bad sex does not hide a bad NIK.
        problem = nik_problems(values["nik"], birth, values["sex"])
        if problem is not None:
            p.add(a + "nik", *problem)
            values["nik"] = None
    return values


def parse_booking_request(
    body: Mapping[str, Any], offices: Mapping[str, Office], today: dt.date
) -> BookingRequest:
    """The booking body as a typed request; raises Invalid listing every problem at once."""
    p = _Problems()
    if not isinstance(body, Mapping):
        raise Invalid({"body": "The body must be a JSON object."}, {"body": "type"})
    _unknown(body, _TOP_FIELDS, "", p)

    office_id = _string(body, "office_id", "office_id", p)
    office = offices.get(office_id) if office_id is not None else None
    if office_id is not None and office is None:
        p.add("office_id", "unknown_office", "No such office.")
    day = _date(body, "date", "date", p)
    if day is not None and day <= today:
        p.add("date", "date_not_future", "Appointments can be booked from tomorrow on.")
        day = None
    session_id = _string(body, "session_id", "session_id", p)
    if office is not None and session_id is not None and office.session(session_id) is None:
        ids = ", ".join(s.id for s in office.sessions)
        p.add("session_id", "unknown_session", f"This office's sessions are: {ids}.")
    lane = _choice(body, "lane", "lane", LANES, p)
    kind = _choice(body, "application_kind", "application_kind", APPLICATION_KINDS, p)

    passport_type: str | None = None
    validity: int | None = None
    passport = _object(body, "passport", p)
    if passport is not None:
        _unknown(passport, _PASSPORT_FIELDS, "passport", p)
        passport_type = _choice(passport, "type", "passport.type", PASSPORT_TYPES, p)
        raw_validity = passport.get("validity_years")
        if raw_validity is None:
            p.add("passport.validity_years", "required", "Required.")
        elif type(raw_validity) is not int:  # bool is an int subclass; 5.0 is not a count
            p.add("passport.validity_years", "type", "Must be a whole number.")
        elif raw_validity not in VALIDITY_YEARS:
            p.add("passport.validity_years", "choice", "Must be 5 or 10.")
        else:
            validity = raw_validity

    person: dict[str, Any] = {}
    raw_applicant = _object(body, "applicant", p)
    if raw_applicant is not None:
        person = _applicant(raw_applicant, today, p)

    if validity == 10 and person.get("birth_date") and person.get("marital_status"):
        # An invalid appointment date is reported on its own; judge the age as of today then.
        age = _age(person["birth_date"], day or today)
        if age < ADULT_AGE and person["marital_status"] == MaritalStatus.BELUM_KAWIN:
            p.add(
                "passport.validity_years",
                "validity_needs_adult",
                "A 10-year passport needs the applicant to be 17 or older on the appointment "
                "date, or married; choose 5 years.",
            )

    p.raise_any()
    # Every field parsed, or raise_any would have raised; the asserts narrow types for mypy.
    assert office_id is not None and day is not None and session_id is not None
    assert lane is not None and kind is not None
    assert passport_type is not None and validity is not None
    return BookingRequest(
        office_id=office_id,
        date=day,
        session_id=session_id,
        lane=lane,
        application_kind=kind,
        passport_type=passport_type,
        validity_years=validity,
        applicant=Applicant(**person),
    )


def parse_reschedule(body: Mapping[str, Any], office: Office) -> tuple[dt.date, str]:
    """A reschedule body ({"date", "session_id"}) as (date, session id); raises Invalid."""
    p = _Problems()
    if not isinstance(body, Mapping):
        raise Invalid({"body": "The body must be a JSON object."}, {"body": "type"})
    _unknown(body, _RESCHEDULE_FIELDS, "", p)
    day = _date(body, "date", "date", p)
    session_id = _string(body, "session_id", "session_id", p)
    if session_id is not None and office.session(session_id) is None:
        ids = ", ".join(s.id for s in office.sessions)
        p.add("session_id", "unknown_session", f"This office's sessions are: {ids}.")
    p.raise_any()
    assert day is not None and session_id is not None
    return day, session_id
