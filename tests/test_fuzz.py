"""Fuzzing the API: schemathesis against the OpenAPI document the app serves, on the real app
(loopback port, real Redis and PostgreSQL). The promise: no response is a 5xx.

Every documented operation is fuzzed with schemathesis' positive and negative data. So that the
fuzzing reaches past the gate and the login, each operation is called with a live admission and a
live login session (admin routes: the admin token), and half the time its path parameters,
`code` query and JSON body are swapped for, or blended with, real values: the rooms, an office,
bookings in several states, their billing and booking codes, a valid booking body; and a quarter
of the time one field gets a hostile value (NUL, calendar extremes, integers past 64 bits).
Payment callbacks are signed as the bank would sign them. Schemathesis' calls are synchronous,
so they run in a worker thread while the session's event loop keeps serving the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import hypothesis
import requests
import schemathesis
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.appkeys import ACCOUNTS, SETTINGS
from api.booking import signatures

from .booking_support import OFFICE, booking_body, new_account, released_days, turn
from .conftest import ADMIN_TOKEN, PAYMENT_SECRET, AppFactory

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}
#: per operation and generation mode; ANTRI_FUZZ_EXAMPLES=500 for a longer hunt
MAX_EXAMPLES = int(os.environ.get("ANTRI_FUZZ_EXAMPLES", "25"))
SEED = 20260501
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
#: reported, not asserted: the document may be stricter or looser than the answers
CONFORMANCE = {
    "content_type_conformance": content_type_conformance,
    "response_schema_conformance": response_schema_conformance,
}
#: run after every other operation: they change the room, revoke admissions, move bookings
LAST = (
    "POST /api/v1/bookings/{id}/cancel",
    "POST /api/v1/session/release",
    "POST /api/v1/logout",
    "POST /api/v1/admin/bookings/{id}/status",
    "PUT /api/v1/admin/offices/{id}/quota",
    "PUT /api/v1/admin/rooms/{room}/inventory",
    "PATCH /api/v1/admin/rooms/{room}",
    "POST /api/v1/admin/rooms/{room}/revoke",
)


@dataclasses.dataclass
class Seeds:
    """Real values to put in place of generated ones, and the valid bodies to blend with."""

    path: dict[str, dict[str, list[str]]]  # "METHOD /path" -> parameter -> values
    query: dict[str, dict[str, list[str]]]
    bodies: dict[str, Callable[[], dict[str, Any]]]


@dataclasses.dataclass
class Finding:
    operation: str
    check: str
    status: int | None
    message: str
    server_log: str


@dataclasses.dataclass
class Outcome:
    calls: int = 0
    statuses: dict[str, dict[int, int]] = dataclasses.field(default_factory=dict)
    findings: list[Finding] = dataclasses.field(default_factory=list)


class LogTrap(logging.Handler):
    """Every record of WARNING and above the app logs, tracebacks formatted."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def cause(finding: Finding) -> str:
    """What went wrong, in a line: the server's exception, else the check's own words."""
    for line in reversed(finding.server_log.splitlines()):
        if line and not line[0].isspace() and not line.startswith(("ERROR", "WARNING")):
            return line[:160]
    lines = [line.strip() for line in finding.message.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.startswith("- ST"):
            return " / ".join(lines[i : i + 2])[:160]
    return lines[0][:160] if lines else ""


def label(operation: Any) -> str:
    return f"{operation.method.upper()} {operation.path}"


async def booking_created(client: TestClient, headers: dict[str, str], day: str) -> dict[str, Any]:
    response = await client.post("/api/v1/bookings", json=booking_body(day), headers=headers)
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def paid(client: TestClient, headers: dict[str, str], day: str) -> dict[str, Any]:
    receipt = await booking_created(client, headers, day)
    pay = await client.post(
        "/api/v1/payments/sandbox/pay", json={"billing_code": receipt["billing_code"]}
    )
    assert pay.status == 200, await pay.text()
    response = await client.get(f"/api/v1/bookings/{receipt['id']}", headers=headers)
    body: dict[str, Any] = await response.json()
    return body


async def seed(client: TestClient) -> tuple[int, Seeds]:
    """An account with bookings awaiting payment and paid, another account's booking; the
    account's id and the values to fuzz with."""
    days = await released_days(client)
    owner, login = await new_account(client)
    # A turn makes one booking, and belongs to its account: one turn each.
    waiting = [await booking_created(client, login | await turn(client), days[0]) for _ in range(2)]
    confirmed = await paid(client, login | await turn(client), days[0])
    _, stranger = await new_account(client)
    foreign = await booking_created(client, stranger | await turn(client), days[0])
    guard, other = client.server.app[SETTINGS].rooms
    offices = await (await client.get("/api/v1/offices")).json()
    ids = [b["id"] for b in (*waiting, confirmed, foreign)]
    rooms = {"room": [guard, other]}
    billing = [b["billing_code"] for b in (*waiting, foreign)]
    path = {f"{m} /api/v1/bookings/{{id}}{tail}": {"id": ids} for m, tail in (
        ("GET", ""), ("POST", "/documents"), ("POST", "/reschedule"), ("POST", "/cancel"),
        ("GET", "/proof.pdf"))}  # fmt: skip
    path |= {
        "POST /api/v1/admin/bookings/{id}/status": {"id": ids},
        "GET /api/v1/offices/{id}/availability": {"id": [OFFICE, offices[-1]["id"]]},
        "PUT /api/v1/admin/offices/{id}/quota": {"id": [OFFICE, offices[-1]["id"]]},
    }
    for op in (
        "POST /api/v1/rooms/{room}/join",
        "GET /api/v1/rooms/{room}/status",
        "GET /api/v1/rooms/{room}",
        "GET /api/v1/admin/rooms/{room}",
        "PATCH /api/v1/admin/rooms/{room}",
        "PUT /api/v1/admin/rooms/{room}/inventory",
        "POST /api/v1/admin/rooms/{room}/revoke",
    ):
        path[op] = rooms
    query = {
        "GET /api/v1/admin/bookings": {
            "code": [confirmed["booking_code"], confirmed["qr_text"]],
        },
        "GET /api/v1/offices/{id}/availability": {"from": days[:2], "days": ["7", "30"]},
    }
    amounts = {b["billing_code"]: b["amount"] for b in (*waiting, foreign)}

    notices = itertools.count(1)

    def callback() -> dict[str, Any]:
        n = next(notices)
        code = billing[n % len(billing)]
        return {
            "billing_code": code,
            "amount": amounts[code],
            "transaction_id": f"FUZZ-{n}",
            "paid_at": "2026-05-01T08:00:00Z",
        }

    bodies: dict[str, Callable[[], dict[str, Any]]] = {
        "POST /api/v1/bookings": lambda: booking_body(days[-1]),
        "POST /api/v1/bookings/{id}/reschedule": lambda: {"date": days[-1], "session_id": "s1"},
        "POST /api/v1/payments/sandbox/pay": lambda: {"billing_code": billing[0]},
        "POST /api/v1/payments/callback": callback,
        "POST /api/v1/admin/bookings/{id}/status": lambda: {"status": "checked_in"},
        "PUT /api/v1/admin/rooms/{room}/inventory": lambda: {"remaining": 100},
        "PUT /api/v1/admin/offices/{id}/quota": lambda: {
            "date": days[-1],
            "session_id": "s2",
            "lane": "reguler",
            "capacity": 40,
        },
    }
    return owner, Seeds(path, query, bodies)


def blend(valid: Any, generated: Any, data: st.DataObject) -> Any:
    """`valid`, with some of `generated`'s fields (recursively) in place of its own."""
    if not (isinstance(valid, dict) and isinstance(generated, dict)):
        return generated
    out = dict(valid)
    for key, value in generated.items():
        if data.draw(st.booleans()):
            out[key] = blend(valid[key], value, data) if key in valid else value
    return out


#: values that break code schemathesis' generators reach only by luck: NUL (PostgreSQL text
#: refuses it), instants at the ends of the calendar, integers past 64 bits, odd Unicode
HOSTILE: tuple[Any, ...] = (
    "\x00",
    "a\x00b",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01",
    "9999-12-31",
    2**63,
    -(2**63) - 1,
    1e308,
    -1,
    "",
    " ",
    "\u202e\ufeff",
    "\U0001f4a5" * 300,
    None,
    [],
    {},
)


def slots(body: Any, at: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The key paths of every field of a JSON object, nested ones too."""
    if not isinstance(body, dict):
        return []
    found = []
    for key, value in body.items():
        found.append((*at, key))
        found.extend(slots(value, (*at, key)))
    return found


def spoil(case: Any, data: st.DataObject) -> None:
    """Put one hostile value in one path parameter, query parameter or body field."""
    places = [("path", name) for name in case.path_parameters or {}]
    places += [("query", name) for name in case.query or {}]
    places += [("body", *keys) for keys in slots(case.body)]
    if not places:
        return
    where, *keys = data.draw(st.sampled_from(places))
    value = data.draw(st.sampled_from(HOSTILE))
    if where != "body":
        value = value if isinstance(value, str) else json.dumps(value)
        target = case.path_parameters if where == "path" else case.query
        target[keys[0]] = value
        return
    node = case.body
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value


def steer(case: Any, seeds: Seeds, data: st.DataObject) -> None:
    """Swap some generated values for real ones, so the case reaches the deeper code."""
    op = label(case.operation)
    for name, values in seeds.path.get(op, {}).items():
        if case.path_parameters is not None and data.draw(st.booleans()):
            case.path_parameters[name] = data.draw(st.sampled_from(values))
    for name, values in seeds.query.get(op, {}).items():
        if data.draw(st.booleans()):
            case.query = {**(case.query or {}), name: data.draw(st.sampled_from(values))}
    valid = seeds.bodies.get(op)
    if valid is not None:
        how = data.draw(st.sampled_from(["generated", "blended", "valid"]))
        if how == "blended":
            case.body = blend(valid(), case.body, data)
        elif how == "valid":
            case.body = valid()
    if data.draw(st.sampled_from(range(4))) == 3:  # a quarter of the cases
        spoil(case, data)


def send(case: Any, base_url: str, headers: dict[str, str]) -> Any:
    """Make the call; a payment callback is signed over the exact bytes sent."""
    if label(case.operation) == "POST /api/v1/payments/callback":
        body = case.body
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        signed = headers | {
            "Content-Type": "application/json",
            signatures.HEADER: signatures.sign(PAYMENT_SECRET, raw, int(time.time())),
        }
        return case.call(base_url=base_url, headers=signed, data=raw, timeout=30)
    return case.call(base_url=base_url, headers=headers, timeout=30)


def fuzz(
    operation: Any,
    base_url: str,
    headers: dict[str, str],
    seeds: Seeds,
    log: LogTrap,
    outcome: Outcome,
) -> None:
    """Fuzz one operation in both generation modes (blocking: run it in a worker thread)."""
    op = label(operation)

    def check(case: Any, response: Any, sent: dict[str, str], logged: int) -> None:
        outcome.calls += 1
        counts = outcome.statuses.setdefault(op, {})
        counts[response.status_code] = counts.get(response.status_code, 0) + 1
        checks = {
            "not_a_server_error": not_a_server_error,
            "status_code_conformance": status_code_conformance,
            **CONFORMANCE,
        }
        for name, function in checks.items():
            try:
                case.validate_response(response, checks=[function], headers=sent)
            except FailureGroup as failed:
                outcome.findings.append(
                    Finding(
                        op,
                        name,
                        response.status_code,
                        str(failed),
                        "\n".join(log.lines[logged:]),
                    )
                )

    for mode in MODES:
        try:
            # Fixed headers: negative data would otherwise drop the credentials half the time.
            strategy = operation.as_strategy(generation_mode=mode, headers=headers)
        except Exception as exc:  # an operation with nothing to negate
            outcome.findings.append(Finding(op, f"strategy:{mode}", None, repr(exc), ""))
            continue

        @hypothesis.settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=hypothesis.Verbosity.quiet,
        )
        @hypothesis.seed(SEED)
        @given(case=strategy, data=st.data())
        def run(case: Any, data: st.DataObject) -> None:
            steer(case, seeds, data)
            # Now and then, credentials that are not (or no longer) valid.
            junk = data.draw(st.sampled_from(range(10))) == 9  # (integers() favour 0)
            sent = {name: "x" for name in headers} if junk else {}
            logged = len(log.lines)
            try:
                response = send(case, base_url, sent)
            except requests.RequestException as exc:  # a dropped connection, a timeout
                outcome.findings.append(
                    Finding(op, "transport", None, f"{exc!r}\n{case.as_curl_command()}", "")
                )
                return
            except Exception as exc:  # the client would not send it (say, a bad header)
                outcome.findings.append(Finding(op, "unsendable", None, repr(exc), ""))
                return
            check(case, response, sent, logged)

        with contextlib.suppress(hypothesis.errors.Unsatisfiable):
            run()


async def test_fuzzing_the_api_finds_no_server_error(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    owner, seeds = await seed(client)
    base_url = str(client.make_url("")).rstrip("/")
    schema = await asyncio.to_thread(
        schemathesis.openapi.from_url, f"{base_url}/api/openapi.json", timeout=30
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: LAST.index(label(op)) if label(op) in LAST else -1)
    # Credentials for every operation first: the admin operations fuzzed last may pause the room.
    accounts = client.server.app[ACCOUNTS]
    credentials: dict[str, dict[str, str]] = {}
    for op in operations:
        if op.path.startswith("/api/v1/admin/"):
            credentials[label(op)] = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            continue
        if label(op) == "POST /api/v1/bookings":
            _, login = await new_account(client)  # a fresh applicant: five people at most each
        else:
            login = {"X-Session-Token": await accounts.open_session(owner)}
        credentials[label(op)] = login | await turn(client)
    log = LogTrap()
    logging.getLogger().addHandler(log)
    outcome = Outcome()
    try:
        for op in operations:
            await asyncio.to_thread(fuzz, op, base_url, credentials[label(op)], seeds, log, outcome)
    finally:
        logging.getLogger().removeHandler(log)

    def report(check: str) -> str:
        """The findings of one check, one example of each distinct failure."""
        found = [f for f in outcome.findings if f.check == check]
        distinct: dict[tuple[str, int | None, str], list[Finding]] = {}
        for f in found:
            distinct.setdefault((f.operation, f.status, cause(f)), []).append(f)
        parts = [f"{len(found)} {check} failure(s) in {outcome.calls} calls, distinct:"]
        for (op, status, why), group in distinct.items():
            parts.append(f"  {len(group)} x {op} -> {status}: {why}")
        for (op, status, why), group in distinct.items():
            f = group[0]
            parts.append(f"--- {op} -> {status}: {why}\n{f.message}\n{f.server_log}")
        return "\n".join(parts)

    print(f"{outcome.calls} calls; statuses per operation:")
    for op, counts in outcome.statuses.items():
        print(f"  {op}: {dict(sorted(counts.items()))}")
    checks = {f.check for f in outcome.findings}
    for check in sorted(checks - {"not_a_server_error", "transport"}):
        print(report(check))
    assert set(outcome.statuses) == {label(op) for op in operations}, (
        "an operation was never called"
    )
    assert not checks & {"not_a_server_error", "transport"}, (
        report("not_a_server_error") + "\n" + report("transport")
    )
    assert "status_code_conformance" not in checks, report("status_code_conformance")


#: the pages' forms that end the visit: posted last, so the others still meet a live session
FORMS_LAST = ("/keluar", "/permohonan/selesai", "/petugas/keluar")


def odd_bodies(csrf: str) -> list[tuple[str, bytes]]:
    """(Content-Type, body) pairs a broken or hostile client sends to a form: bytes that are
    not UTF-8, multipart bodies cut off or without a boundary, a body past the size limit.
    The CSRF token comes first, so that the form reader gets past the token to the rest."""
    token = csrf.encode()
    form = "application/x-www-form-urlencoded"
    multipart = "multipart/form-data; boundary=antri-fuzz"

    def part(name: str, value: bytes, file: bool = False) -> bytes:
        disposition = f'form-data; name="{name}"' + ('; filename="k.png"' if file else "")
        kind = b"Content-Type: image/png\r\n" if file else b""
        return (
            b"--antri-fuzz\r\nContent-Disposition: " + disposition.encode() + b"\r\n" + kind
            + b"\r\n" + value + b"\r\n"
        )  # fmt: skip

    return [
        (form, b"csrf=" + token + b"&full_name=%FF%FE%C3%28&nik=%E0%80%80"),
        (form, b"csrf=" + token + b"&full_name=\xff\xfe\xc3\x28&email=\xed\xa0\x80"),
        (form + "; charset=no-such-charset", b"csrf=" + token + b"&full_name=x"),
        (
            multipart,
            part("csrf", token) + part("full_name", b"\xff\xfe\xc3\x28") + b"--antri-fuzz--\r\n",
        ),
        (
            multipart,
            part("csrf", token) + part("ktp", b"\x89PNG\r\n\x1a\n" + bytes(64), True)[:-20],
        ),
        (multipart, part("csrf", token)[:30]),
        (
            multipart,
            b"--antri-fuzz\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--antri-fuzz--",
        ),
        ("multipart/form-data", part("csrf", token) + b"--antri-fuzz--\r\n"),  # no boundary
        (form, b"csrf=" + token + b"&full_name=" + b"a" * (5 << 20)),
        (
            multipart,
            part("csrf", token) + part("ktp", bytes(5 << 20), True) + b"--antri-fuzz--\r\n",
        ),
    ]


async def test_the_forms_answer_odd_bodies_without_a_server_error(
    make_client: AppFactory,
) -> None:
    """Every POST route of the pages (from the router, as the CSRF test enumerates them), for
    an admitted and logged-in visitor, given bodies its form reader cannot read: a 4xx, never
    a 5xx."""
    from .page_support import csrf_of, page_form_paths
    from .test_wizard_pages import applicant_ready

    client, _ = await applicant_ready(make_client)
    csrf = await csrf_of(client, "/permohonan")
    paths = sorted(page_form_paths(client, "pemohon"), key=lambda path: (path in FORMS_LAST, path))
    assert len(paths) >= 15, paths
    failures = []
    for path in paths:
        for kind, body in odd_bodies(csrf):
            response = await client.post(
                path, data=body, headers={"Content-Type": kind}, allow_redirects=False
            )
            if response.status >= 500:
                failures.append((path, kind, body[:60], response.status))
    assert not failures, "\n".join(map(repr, failures))
