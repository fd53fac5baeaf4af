"""What a good answer of Antri's API looks like, for the locustfile's response checks."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from locust.contrib.fasthttp import ResponseContextManager

VISIT_STATES = frozenset({"waiting", "prequeue", "admitted", "paused", "sold_out", "closed"})


class BadBody(Exception):
    """A 2xx response whose body is not what the API promises."""


def json_object(resp: ResponseContextManager) -> dict[str, Any]:
    """The response's body as a JSON object."""
    try:
        body = json.loads(resp.content or b"")
    except ValueError:
        raise BadBody("not JSON") from None
    if not isinstance(body, dict):
        raise BadBody("not a JSON object")
    return body


def number(body: dict[str, Any], key: str, *, nullable: bool = False) -> None:
    """Refuse a body whose `key` is not a number (or null, when `nullable`)."""
    value = body.get(key)
    if value is None and nullable and key in body:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadBody(f"{key} is not a number")


def visit_body(resp: ResponseContextManager) -> dict[str, Any]:
    """The body of a join or status answer, checked against the API's shape."""
    body = json_object(resp)
    if not isinstance(body.get("ticket"), str) or body.get("state") not in VISIT_STATES:
        raise BadBody("no ticket or unknown state")
    number(body, "position", nullable=True)
    number(body, "ahead", nullable=True)
    number(body, "poll_after_seconds")
    eta = body.get("eta_seconds")
    if eta is not None and not (isinstance(eta, dict) and {"low", "high"} <= eta.keys()):
        raise BadBody("eta_seconds is not {low, high}")
    if body["state"] == "admitted" and not isinstance(body.get("admission_token"), str):
        raise BadBody("admitted without an admission_token")
    return body


def unexpected(resp: ResponseContextManager) -> str | None:
    """A failure message for a response that is not a 2xx, else None."""
    if resp.status_code == 0:
        return f"no response: {type(getattr(resp, 'error', None)).__name__}"
    if not 200 <= resp.status_code < 300:
        return f"HTTP {resp.status_code}"
    return None


def retry_after(resp: ResponseContextManager, default: float, cap: float) -> float:
    """The server's Retry-After in seconds, at most `cap`; `default` when absent."""
    header = resp.headers.get("Retry-After") if resp.headers else None
    try:
        seconds = float(header) if isinstance(header, str) else default
    except ValueError:
        seconds = default
    return min(max(seconds, 0.0), cap)
