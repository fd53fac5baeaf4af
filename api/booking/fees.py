"""PNBP passport fees: tables loaded from data, each in force from its effective date."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from importlib import resources
from types import MappingProxyType
from typing import Any

from .offices import LANES, Lane


class PassportType(StrEnum):
    """The passport book applied for."""

    #: Paper passport (paspor biasa non-elektronik).
    BIASA = "biasa"
    #: Electronic passport with a chip.
    ELEKTRONIK = "elektronik"


class ApplicationKind(StrEnum):
    """Why the applicant needs a passport."""

    #: First passport.
    BARU = "baru"
    #: Replaces an expired or full passport (same fee as a new one).
    PENGGANTIAN = "penggantian"
    #: Replaces a lost passport; the lost surcharge applies.
    HILANG = "hilang"
    #: Replaces a damaged passport; the damaged surcharge applies.
    RUSAK = "rusak"


PASSPORT_TYPES: tuple[str, ...] = tuple(t.value for t in PassportType)
APPLICATION_KINDS: tuple[str, ...] = tuple(k.value for k in ApplicationKind)
VALIDITY_YEARS: tuple[int, ...] = (5, 10)


@dataclass(frozen=True)
class FeeLine:
    """One line of a bill."""

    code: str
    label_id: str
    label_en: str
    amount: int


@dataclass(frozen=True)
class Quote:
    """The itemised fee for one application under one regulation."""

    lines: tuple[FeeLine, ...]
    regulation: str

    @property
    def total(self) -> int:
        """The sum of the lines, in rupiah."""
        return sum(line.amount for line in self.lines)


@dataclass(frozen=True)
class PassportFee:
    """The fee for one passport type and validity."""

    type: str
    validity_years: int
    amount: int
    label_id: str
    label_en: str


@dataclass(frozen=True)
class Surcharge:
    """An amount added on top of the passport fee; may differ by passport type."""

    code: str
    label_id: str
    label_en: str
    amount: int
    by_passport_type: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    def amount_for(self, passport_type: str) -> int:
        """The amount for this passport type."""
        return self.by_passport_type.get(passport_type, self.amount)


def _amount(value: Any, where: str) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{where}: amount must be a non-negative integer, got {value!r}")
    return value


@dataclass(frozen=True)
class FeeTable:
    """The fees of one regulation, in force from `effective_from`."""

    regulation: str
    effective_from: date
    passports: tuple[PassportFee, ...]
    surcharges: tuple[Surcharge, ...]
    per_application: tuple[FeeLine, ...] = ()
    comment: str = ""

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FeeTable:
        """A table from one entry of data/fees.json, checked for completeness."""
        where = str(raw.get("regulation"))
        passports = tuple(
            PassportFee(
                type=str(item["type"]),
                validity_years=int(item["validity_years"]),
                amount=_amount(item["amount"], where),
                label_id=str(item["label_id"]),
                label_en=str(item["label_en"]),
            )
            for item in raw["passports"]
        )
        keys = [(p.type, p.validity_years) for p in passports]
        expected = {(t, v) for t in PASSPORT_TYPES for v in VALIDITY_YEARS}
        if len(keys) != len(set(keys)) or set(keys) != expected:
            raise ValueError(f"{where}: passports must list each type x validity exactly once")
        surcharges = tuple(
            Surcharge(
                code=str(item["code"]),
                label_id=str(item["label_id"]),
                label_en=str(item["label_en"]),
                amount=_amount(item["amount"], where),
                by_passport_type=MappingProxyType(
                    {str(t): _amount(a, where) for t, a in item.get("by_passport_type", {}).items()}
                ),
            )
            for item in raw["surcharges"]
        )
        codes = [s.code for s in surcharges]
        if len(codes) != len(set(codes)) or not set(codes) <= {"percepatan", "hilang", "rusak"}:
            raise ValueError(f"{where}: unknown or repeated surcharge codes {codes}")
        per_application = tuple(
            FeeLine(
                code=str(item["code"]),
                label_id=str(item["label_id"]),
                label_en=str(item["label_en"]),
                amount=_amount(item["amount"], where),
            )
            for item in raw.get("per_application", [])
        )
        return cls(
            regulation=str(raw["regulation"]),
            effective_from=date.fromisoformat(raw["effective_from"]),
            passports=passports,
            surcharges=surcharges,
            per_application=per_application,
            comment=str(raw.get("comment", "")),
        )

    def surcharge(self, code: str) -> Surcharge | None:
        """The surcharge with this code, or None if the regulation has none."""
        for item in self.surcharges:
            if item.code == code:
                return item
        return None

    def quote(
        self,
        passport_type: str,
        validity_years: int,
        lane: str,
        application_kind: str,
        force_majeure: bool = False,
    ) -> Quote:
        """The itemised fee; unknown or unavailable choices raise ValueError."""
        if lane not in LANES:
            raise ValueError(f"unknown lane {lane!r}")
        if application_kind not in APPLICATION_KINDS:
            raise ValueError(f"unknown application kind {application_kind!r}")
        if force_majeure and application_kind not in ("hilang", "rusak"):
            raise ValueError("force majeure applies only to lost or damaged passports")
        passport = next(
            (
                p
                for p in self.passports
                if p.type == passport_type and p.validity_years == validity_years
            ),
            None,
        )
        if passport is None:
            raise ValueError(f"no fee for a {passport_type!r} passport of {validity_years!r} years")
        lines = [
            FeeLine(
                f"paspor_{passport.type}_{passport.validity_years}",
                passport.label_id,
                passport.label_en,
                passport.amount,
            ),
            *self.per_application,
        ]
        # Prioritas is a queue, not a service: it costs what reguler costs.
        if lane == Lane.PERCEPATAN:
            lines.append(self._surcharge_line("percepatan", passport_type))
        if application_kind in ("hilang", "rusak"):
            line = self._surcharge_line(application_kind, passport_type)
            if force_majeure:
                # Kept on the bill at 0 so the applicant sees the surcharge was waived.
                line = FeeLine(
                    line.code,
                    f"{line.label_id} (keadaan kahar)",
                    f"{line.label_en} (force majeure)",
                    0,
                )
            lines.append(line)
        return Quote(lines=tuple(lines), regulation=self.regulation)

    def _surcharge_line(self, code: str, passport_type: str) -> FeeLine:
        item = self.surcharge(code)
        if item is None:
            raise ValueError(f"{self.regulation} has no {code!r} service")
        return FeeLine(item.code, item.label_id, item.label_en, item.amount_for(passport_type))

    def as_json(self) -> dict[str, Any]:
        """The table as the public fee API shows it."""
        surcharges: list[dict[str, Any]] = []
        for item in self.surcharges:
            row: dict[str, Any] = {
                "code": item.code,
                "amount": item.amount,
                "label_id": item.label_id,
                "label_en": item.label_en,
            }
            if item.by_passport_type:
                row["by_passport_type"] = dict(item.by_passport_type)
            surcharges.append(row)
        return {
            "regulation": self.regulation,
            "effective_from": self.effective_from.isoformat(),
            "passports": [
                {"type": p.type, "validity_years": p.validity_years, "amount": p.amount}
                for p in self.passports
            ],
            "surcharges": surcharges,
            "per_application": [
                {"code": f.code, "amount": f.amount, "label_id": f.label_id, "label_en": f.label_en}
                for f in self.per_application
            ],
        }


@dataclass(frozen=True)
class FeeSchedule:
    """Every fee table, oldest first."""

    tables: tuple[FeeTable, ...]

    def __post_init__(self) -> None:
        dates = [t.effective_from for t in self.tables]
        if not dates or dates != sorted(set(dates)):
            raise ValueError("fee tables must be non-empty, oldest first, with distinct dates")

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> FeeSchedule:
        """A schedule from a document shaped like data/fees.json."""
        tables = sorted(
            (FeeTable.from_json(raw) for raw in document["tables"]),
            key=lambda t: t.effective_from,
        )
        return cls(tuple(tables))

    @classmethod
    def load(cls) -> FeeSchedule:
        """The packaged fee tables."""
        text = resources.files("api.booking").joinpath("data/fees.json").read_text("utf-8")
        return cls.from_json(json.loads(text))

    def in_force(self, on: date) -> FeeTable:
        """The table in force on `on`: the latest effective_from not after it."""
        current = [t for t in self.tables if t.effective_from <= on]
        if not current:
            raise ValueError(f"no fee table in force on {on.isoformat()}")
        return current[-1]

    def as_json(self, on: date) -> dict[str, Any]:
        """The table in force on `on` and every other table, newest first."""
        current = self.in_force(on)
        return {
            "in_force": current.as_json(),
            "history": [t.as_json() for t in reversed(self.tables) if t is not current],
        }
