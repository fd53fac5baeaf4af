"""The strict models' refusals, in Antri's words: every problem at once, by dotted path, with a
machine code (no servers started)."""

from __future__ import annotations

import orjson
import pytest

from api.models import PaymentNotice, QuotaChange
from queue_engine.changes import EDITABLE, Changes, InvalidChanges, parse_changes
from queue_engine.validation import Problems, validated


def refused(model: type, body: object) -> Problems:
    with pytest.raises(Problems) as info:
        validated(model, orjson.dumps(body))
    return info.value


def test_every_problem_at_once_with_its_code() -> None:
    problems = refused(
        QuotaChange,
        {"date": "2026-02-30", "session_id": 5, "lane": "vip", "capacity": -1, "colour": "red"},
    )
    assert problems.codes == {
        "date": "date",
        "session_id": "type",
        "lane": "choice",
        "capacity": "range",
        "colour": "unknown_field",
    }
    assert set(problems.fields) == set(problems.codes)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_null_and_blank_are_not_filled_in(value: object) -> None:
    assert refused(QuotaChange, {"date": value, "session_id": "s1", "lane": "reguler",
                                 "capacity": 1}).codes == {"date": "required"}  # fmt: skip


@pytest.mark.parametrize("amount", ["10", 10.0, True])
def test_no_coercion(amount: object) -> None:
    body = {"billing_code": "1", "amount": amount, "transaction_id": "t", "paid_at": "2026-01-01"}
    assert refused(PaymentNotice, body).codes["amount"] == "type"


def test_not_an_object() -> None:
    assert refused(QuotaChange, [1, 2]).codes == {"body": "type"}


def test_room_changes_are_the_models_fields() -> None:
    assert set(EDITABLE) == set(Changes.model_fields)
    changes = parse_changes({"session_minutes": 1.5, "event_starts_at": None, "state": "paused"})
    assert changes.fields == {"session_seconds": "90", "event_starts_at": "", "state": "paused"}
    assert not changes.new_cohort
    with pytest.raises(InvalidChanges) as info:
        parse_changes({"burst": None, "turns_per_account": 1001})
    assert info.value.codes == {"burst": "required", "turns_per_account": "range"}
    with pytest.raises(InvalidChanges) as nothing:
        parse_changes({})
    assert nothing.value.codes == {"body": "required"}
