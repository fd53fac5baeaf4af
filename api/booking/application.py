"""The booking request: the JSON body as a strict pydantic model, checked with the domain's rules.

The models carry no HTTP: they are the booking domain's typed input (the JSON API and the wizard
both build one), and the OpenAPI document takes their JSON Schema. What a JSON Schema can say
(types, enums, lengths, patterns, unknown fields) is said in the field's type and checked on the
value as sent; the domain's own rules (a NIK that matches the birth date and sex, an office's
sessions, an appointment from tomorrow, a 10-year passport for adults) are validators that need
the validation context (`today`, `offices`) and report under Antri's codes. Every problem of a
body is reported at once, by dotted path; a rule that compares fields reads whichever of them
were valid, so that a bad sex does not hide a bad NIK.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from queue_engine.validation import Problems, Strict, validated

from .errors import Invalid
from .fees import VALIDITY_YEARS, ApplicationKind, PassportType
from .nik import nik_problems
from .offices import Lane, Office

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

#: what people write between the digits of a phone number ("0812-3456-7890", "+62 812 …")
_SEPARATORS = " -"
_PHONE = re.compile(r"(\+62|0)(8\d+)")
#: the phone numbers `mobile_number` takes, as a pattern for the OpenAPI document: 08 and 8 to 13
#: more digits, or +628 and 7 to 12 more (10 to 15 digits in all), spaces and dashes anywhere
PHONE_PATTERN: Final = (
    r"^[ -]*(0[ -]*8([ -]*[0-9]){8,13}|\+[ -]*6[ -]*2[ -]*8([ -]*[0-9]){7,12})[ -]*$"
)
# Letters of any script plus the punctuation names carry ("Sri Ayu", "R.A. Kartini", "O'Neil").
NAME_PUNCTUATION = frozenset(" '.-,")
_PLACE_PUNCTUATION = frozenset(" '.-,()/")


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


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


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# -- field types ------------------------------------------------------------------------------


def _trimmed_text(text: str) -> str:
    if not text.strip():
        raise PydanticCustomError("required", "Required.")
    return text.strip()


def _worded(low: int, high: int, punctuation: frozenset[str], what: str) -> Any:
    """Free text of `low` to `high` characters once spaces are collapsed, letters (of any
    script) and `punctuation` only."""
    marks = " ".join(sorted(punctuation - {" "}))

    def checked(text: str) -> str:
        text = " ".join(text.split())
        if not low <= len(text) <= high:
            raise PydanticCustomError("length", f"Must be {low} to {high} characters long.")
        if not is_worded(text, punctuation):
            raise PydanticCustomError(
                "format", f"{what} may contain only letters, spaces and these marks: {marks}"
            )
        return text

    return AfterValidator(checked)


def _trimmed(low: int, high: int) -> Any:
    """Text of `low` to `high` characters once trimmed."""

    def checked(text: str) -> str:
        text = text.strip()
        if not low <= len(text) <= high:
            raise PydanticCustomError("length", f"Must be {low} to {high} characters long.")
        return text

    return AfterValidator(checked)


def _mobile(text: str) -> str:
    number = mobile_number(text) if re.fullmatch(PHONE_PATTERN, text) else None
    if number is None:
        raise PydanticCustomError(
            "phone", "Enter an Indonesian mobile number starting with 08 or +628 (10 to 15 digits)."
        )
    return number


def _validity(years: int) -> int:
    if years not in VALIDITY_YEARS:
        raise PydanticCustomError("choice", "Must be 5 or 10.")
    return years


def _nik_form(nik: str) -> str:
    if re.fullmatch(NIK_PATTERN, nik) is None:
        raise PydanticCustomError("nik_format", "A NIK is exactly 16 digits.")
    return nik


#: a NIK as sent: 16 ASCII digits (its other rules are the domain's, in nik.py)
NIK_PATTERN: Final = "^[0-9]{16}$"
#: a text that must be filled in; kept trimmed
Text = Annotated[str, AfterValidator(_trimmed_text)]
_WRITTEN_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _written_as_date(given: Any) -> Any:
    """A text YYYY-MM-DD as its date: pydantic alone also reads "86400" as 2 January 1970 (a
    Unix time of a midnight), which the schema's `format: date` forbids. Blank text and other
    types go on to be refused as pydantic refuses them."""
    if not isinstance(given, str) or not given.strip():
        return given
    try:
        if not _WRITTEN_DATE.fullmatch(given):
            raise ValueError(given)
        return dt.date.fromisoformat(given)
    except ValueError:
        raise PydanticCustomError("date", "Must be a real date written YYYY-MM-DD.") from None


#: a calendar date written YYYY-MM-DD
Day = Annotated[dt.date, BeforeValidator(_written_as_date)]
Name = Annotated[
    str,
    Field(min_length=3, max_length=100, description="As on the KTP; letters, spaces and ' . - ,"),
    _worded(3, 100, NAME_PUNCTUATION, "A name"),
]
Place = Annotated[
    str, Field(min_length=2, max_length=60), _worded(2, 60, _PLACE_PUNCTUATION, "A place")
]
#: an Indonesian mobile number (spaces and dashes allowed), answered as +628…
Phone = Annotated[
    str,
    Field(
        description="Indonesian mobile number, 08… or +628… (answered as +628…).",
        json_schema_extra={"pattern": PHONE_PATTERN},
    ),
    AfterValidator(_mobile),
]


# -- the models -------------------------------------------------------------------------------


class Passport(Strict):
    """The passport asked for."""

    type: PassportType
    validity_years: Annotated[
        int,
        Field(
            json_schema_extra={"enum": list(VALIDITY_YEARS)},
            description="10 needs the applicant to be 17 or older on the date, or married.",
        ),
        AfterValidator(_validity),
    ]


class Applicant(Strict):
    """The person the passport is for, as on their KTP/KK.

    The NIK comes last: its check compares it with the birth date and sex, when they are valid.
    """

    full_name: Name
    birth_place: Place
    birth_date: Day
    sex: Sex = Field(description="L (laki-laki) or P (perempuan), as on the KTP.")
    phone: Phone
    address: Annotated[str, Field(min_length=5, max_length=200), _trimmed(5, 200)]
    marital_status: MaritalStatus
    purpose: Purpose = Field(description="Purpose of travel.")
    destination: Place = Field(description="Destination country.")
    nik: Annotated[
        str,
        Field(
            description="16-digit NIK, consistent with birth date and sex.",
            json_schema_extra={"pattern": NIK_PATTERN},
        ),
        AfterValidator(_nik_form),
    ]

    @field_validator("birth_date")
    @classmethod
    def _born_in_the_past(cls, birth: dt.date, info: ValidationInfo) -> dt.date:
        today = _today(info)
        if birth >= today:
            raise PydanticCustomError("birth_date_future", "The date of birth must be in the past.")
        if birth < _years_before(today, MAX_AGE_YEARS):
            raise PydanticCustomError(
                "birth_date_too_old",
                f"The date of birth cannot be more than {MAX_AGE_YEARS} years ago.",
            )
        return birth

    @field_validator("nik")
    @classmethod
    def _nik_matches(cls, nik: str, info: ValidationInfo) -> str:
        # Checked against whatever else parsed, so a bad sex does not hide a bad NIK.
        problem = nik_problems(nik, info.data.get("birth_date"), info.data.get("sex"))
        if problem is not None:
            raise PydanticCustomError(*problem)
        return nik

    def age_on(self, day: dt.date) -> int:
        """Completed years of age on `day`."""
        return _age(self.birth_date, day)

    def applicant_type(self, on: dt.date) -> str:
        """The applicant type: dewasa (17+ on `on`, or ever married) or anak."""
        adult = self.age_on(on) >= ADULT_AGE or self.marital_status != MaritalStatus.BELUM_KAWIN
        return "dewasa" if adult else "anak"


class BookingRequest(Strict):
    """A booking: where, when and what, for whom. Validated with the context `today` (the date
    appointments are booked from, exclusive) and `offices` (id → Office)."""

    office_id: Text
    date: Day = Field(description="From tomorrow, within the released dates.")
    session_id: Text = Field(description="One of the office's sessions.")
    lane: Lane
    application_kind: ApplicationKind
    passport: Passport
    applicant: Applicant

    @field_validator("office_id")
    @classmethod
    def _known_office(cls, office_id: str, info: ValidationInfo) -> str:
        if office_id not in _context(info)["offices"]:
            raise PydanticCustomError("unknown_office", "No such office.")
        return office_id

    @field_validator("date")
    @classmethod
    def _from_tomorrow(cls, day: dt.date, info: ValidationInfo) -> dt.date:
        if day <= _today(info):
            raise PydanticCustomError(
                "date_not_future", "Appointments can be booked from tomorrow on."
            )
        return day

    @field_validator("session_id")
    @classmethod
    def _office_session(cls, session_id: str, info: ValidationInfo) -> str:
        office = _context(info)["offices"].get(info.data.get("office_id"))
        return _session_of(office, session_id)

    @field_validator("applicant")
    @classmethod
    def _old_enough(cls, person: Applicant, info: ValidationInfo) -> Applicant:
        passport = info.data.get("passport")
        if passport is None or passport.validity_years != 10:
            return person
        # An invalid appointment date is reported on its own; judge the age as of today then.
        day = info.data.get("date") or _today(info)
        if person.age_on(day) < ADULT_AGE and person.marital_status == MaritalStatus.BELUM_KAWIN:
            raise PydanticCustomError(
                "validity_needs_adult",
                "A 10-year passport needs the applicant to be 17 or older on the appointment "
                "date, or married; choose 5 years.",
                {"at": "passport.validity_years"},
            )
        return person

    @property
    def passport_type(self) -> str:
        """The passport type asked for."""
        return self.passport.type

    @property
    def validity_years(self) -> int:
        """The passport's validity asked for, in years."""
        return self.passport.validity_years

    def applicant_type(self) -> str:
        """The applicant type (dewasa or anak) on the appointment date."""
        return self.applicant.applicant_type(self.date)


class Reschedule(Strict):
    """A new date and session for a booking (same office and lane); validated with the
    context `office`."""

    date: Day
    session_id: Text

    @field_validator("session_id")
    @classmethod
    def _office_session(cls, session_id: str, info: ValidationInfo) -> str:
        return _session_of(_context(info)["office"], session_id)


def _context(info: ValidationInfo) -> dict[str, Any]:
    assert isinstance(info.context, dict), "validate with a context"
    return info.context


def _today(info: ValidationInfo) -> dt.date:
    today: dt.date = _context(info)["today"]
    return today


def _session_of(office: Office | None, session_id: str) -> str:
    if office is not None and office.session(session_id) is None:
        ids = ", ".join(s.id for s in office.sessions)
        raise PydanticCustomError("unknown_session", f"This office's sessions are: {ids}.")
    return session_id


def parse_booking_request(
    body: bytes | Mapping[str, Any], offices: Mapping[str, Office], today: dt.date
) -> BookingRequest:
    """The booking body as a typed request; raises Invalid listing every problem at once."""
    try:
        return validated(BookingRequest, body, {"offices": offices, "today": today})
    except Problems as problems:
        raise Invalid(problems.fields, problems.codes) from None


def parse_reschedule(body: bytes | Mapping[str, Any], office: Office) -> tuple[dt.date, str]:
    """A reschedule body ({"date", "session_id"}) as (date, session id); raises Invalid."""
    try:
        choice = validated(Reschedule, body, {"office": office})
    except Problems as problems:
        raise Invalid(problems.fields, problems.codes) from None
    return choice.date, choice.session_id
