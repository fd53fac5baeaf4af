"""Strict input models and their problems, by dotted field path, the way Antri reports them.

Every JSON body Antri takes is a pydantic model validated in strict mode from the JSON text
(`model_validate_json`): no coercion ("10" is not 10, 10.0 is not 10, true is not 1), unknown
fields refused, enums matched by value. The same model gives the body's JSON Schema in the
OpenAPI document, so the two cannot drift.

Antri's refusals name each problem twice: `fields` (dotted path → message for people) and `codes`
(dotted path → machine code, e.g. `applicant.nik: nik_region`). Pydantic's own error types are
mapped to Antri's codes here; a rule of Antri's own raises `PydanticCustomError(code, message)`,
whose type *is* the code. A rule that judges one field by another may report at another path:
its error's context names it as `at`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: strict, closed, immutable: the configuration of every input model
STRICT: Final = ConfigDict(strict=True, extra="forbid", frozen=True)


class Strict(BaseModel):
    """Base of Antri's input models."""

    model_config = STRICT


def optional(**constraints: Any) -> Any:
    """A field that may be left out, but is never null (its JSON Schema is not nullable)."""
    return Field(default=None, **constraints)


#: pydantic's error type → (Antri's code, message); "{…}" are filled from the error's context
_KNOWN: Final[Mapping[str, tuple[str, str]]] = {
    "missing": ("required", "Required."),
    "extra_forbidden": ("unknown_field", "unknown field"),
    "string_type": ("type", "Must be a string."),
    "int_type": ("type", "Must be a whole number."),
    "int_from_float": ("type", "Must be a whole number."),
    "float_type": ("type", "Must be a number."),
    "bool_type": ("type", "Must be true or false."),
    "model_type": ("type", "Must be an object."),
    "model_attributes_type": ("type", "Must be an object."),
    "dict_type": ("type", "Must be an object."),
    "enum": ("choice", "Must be one of: {expected}."),
    "literal_error": ("choice", "Must be one of: {expected}."),
    "string_too_short": ("length", "Must be at least {min_length} characters long."),
    "string_too_long": ("length", "Must be at most {max_length} characters long."),
    "string_pattern_mismatch": ("format", "Does not have the expected form."),
    "greater_than_equal": ("range", "Must be at least {ge}."),
    "less_than_equal": ("range", "Must be at most {le}."),
    "date_type": ("type", "Must be a date written YYYY-MM-DD."),
    "date_parsing": ("date", "Must be a real date written YYYY-MM-DD."),
    "date_from_datetime_parsing": ("date", "Must be a real date written YYYY-MM-DD."),
    "date_from_datetime_inexact": ("date", "Must be a real date written YYYY-MM-DD."),
    "datetime_type": ("type", "Must be an ISO 8601 time."),
    "datetime_parsing": ("datetime", "Must be an ISO 8601 time."),
    "datetime_from_date_parsing": ("datetime", "Must be an ISO 8601 time."),
    "timezone_aware": ("datetime", "Needs a time zone, e.g. 2026-12-01T09:00:00+07:00."),
    "json_invalid": ("json", "The body is not valid JSON."),
}


class Problems(Exception):
    """Input refused: `fields` maps each dotted path to a message, `codes` to a machine code."""

    def __init__(self, fields: dict[str, str], codes: dict[str, str]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in fields.items()))
        self.fields = fields
        self.codes = codes

    @classmethod
    def at(cls, path: str, code: str, message: str) -> Problems:
        """One field refused."""
        return cls({path: message}, {path: code})


def problems(error: ValidationError) -> Problems:
    """Every problem of `error`, by dotted path; the first per path wins."""
    fields: dict[str, str] = {}
    codes: dict[str, str] = {}
    for item in error.errors(include_url=False):
        context: dict[str, Any] = dict(item.get("ctx") or {})
        path = str(context.pop("at", "")) or ".".join(str(part) for part in item["loc"]) or "body"
        kind = item["type"]
        if kind in _KNOWN:
            code, template = _KNOWN[kind]
            try:
                message = template.format(**context)
            except (KeyError, IndexError):
                message = item["msg"]
        else:  # a rule of Antri's own: its type is the code, its message is for people
            code, message = kind, item["msg"]
        given = item.get("input")
        # JSON null and blank text count as absent: clients send them for "not filled in".
        if kind != "extra_forbidden" and (
            given is None or (isinstance(given, str) and not given.strip())
        ):
            code, message = "required", "Required."
        if path not in fields:
            fields[path] = message
            codes[path] = code
    return Problems(fields, codes)


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], body: bytes | str | Mapping[str, Any], context: Any = None) -> M:
    """`body` (JSON text, or an object already decoded) as a `model`; raises Problems."""
    raw = body if isinstance(body, bytes | str) else orjson.dumps(body)
    try:
        return model.model_validate_json(raw, strict=True, context=context)
    except ValidationError as error:
        raise problems(error) from None
