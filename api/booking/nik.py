"""NIK: the 16-digit Indonesian identity number, checked against the applicant's own data."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

# Kemendagri province codes (digits 1-2). 91-97 covers Papua before and after the 2022-2024
# splits: NIKs issued before a split keep their old code, so every code stays valid.
PROVINCE_CODES = frozenset(
    {
        *range(11, 20),  # Aceh .. Kepulauan Bangka Belitung
        21,  # Kepulauan Riau
        *range(31, 37),  # DKI Jakarta .. Banten
        *range(51, 54),  # Bali, NTB, NTT
        *range(61, 66),  # Kalimantan
        *range(71, 77),  # Sulawesi
        81,  # Maluku
        82,  # Maluku Utara
        *range(91, 98),  # Papua provinces
    }
)

#: Women's NIKs carry the birth day plus 40.
FEMALE_DAY_OFFSET = 40


@dataclass(frozen=True)
class NikBirth:
    """The birth data a NIK encodes: day, month, two-digit year and sex ("L" or "P")."""

    day: int
    month: int
    yy: int
    sex: str


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit() accepts other scripts' digits ("٣"); a NIK is ASCII only.
    return text.isascii() and text.isdigit()


def decode_birth(nik: str) -> NikBirth | None:
    """The birth day, month, two-digit year and sex a NIK encodes, or None if not a real date."""
    if len(nik) != 16 or not _is_ascii_digits(nik):
        return None
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex = "L"
    if day > FEMALE_DAY_OFFSET:
        day, sex = day - FEMALE_DAY_OFFSET, "P"
    # The century is not encoded: a date real in either 19yy or 20yy counts (29 February of
    # "00" is real in 2000 though not in 1900).
    for century in (2000, 1900):
        try:
            datetime.date(century + yy, month, day)
        except ValueError:
            continue
        return NikBirth(day=day, month=month, yy=yy, sex=sex)
    return None


def nik_birth(nik: str, today: datetime.date) -> tuple[datetime.date | None, str | None]:
    """The birth date (latest century not after `today`) and sex a NIK encodes, or (None, None)."""
    birth = decode_birth(nik)
    if birth is None:
        return None, None
    for century in (2000, 1900):
        try:
            candidate = datetime.date(century + birth.yy, birth.month, birth.day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate, birth.sex
    return None, birth.sex


def nik_problems(
    nik: str, birth_date: datetime.date | None, sex: str | None
) -> tuple[str, str] | None:
    """The first problem with `nik` as (code, message), or None when it is valid."""
    if len(nik) != 16 or not _is_ascii_digits(nik):
        return "nik_format", "A NIK is exactly 16 digits."
    if int(nik[0:2]) not in PROVINCE_CODES:
        return "nik_region", "The NIK does not start with a known province code."
    if nik[2:4] == "00" or nik[4:6] == "00":
        return "nik_region", "The NIK's regency or district code is not valid."
    birth = decode_birth(nik)
    if birth is None:
        return "nik_birth_date", "The NIK does not encode a real date of birth."
    # Compared without the century: the NIK does not carry it.
    if birth_date is not None and (birth.day, birth.month, birth.yy) != (
        birth_date.day,
        birth_date.month,
        birth_date.year % 100,
    ):
        return (
            "nik_birth_date_mismatch",
            "The NIK does not match the date of birth given; check both against the KTP or KK.",
        )
    if sex in ("L", "P") and birth.sex != sex:
        return "nik_sex_mismatch", "The NIK does not match the sex given."
    if nik[12:16] == "0000":
        return "nik_serial", "The NIK's last four digits cannot be 0000."
    return None


def mask_nik(nik: str) -> str:
    """The NIK for display: the first 4 and last 2 digits visible, the rest as asterisks."""
    if len(nik) <= 6:
        return "*" * len(nik)
    return nik[:4] + "*" * (len(nik) - 6) + nik[-2:]
