"""Payments: the bank's signed callback, and the sandbox bank that stands in for it."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from ..appkeys import ACCOUNTS, BOOKING_METRICS, JOBS, PAYMENTS, SETTINGS
from ..booking import attempts, signatures
from ..booking.errors import NotFound, Refused
from ..errors import ApiError
from ..web import JSON, json_response, read_json_object, strict_fields


async def callback(request: web.Request) -> web.Response:
    """POST /api/v1/payments/callback: the bank says a billing code was paid (HMAC-signed).

    Idempotent: the same transaction again answers as the first time did.
    """
    raw = await request.read()
    secret = request.config_dict[SETTINGS].payment_secret
    header = request.headers.get(signatures.HEADER, "")
    if not signatures.verify(secret, raw, header, time.time()):
        raise ApiError(401, "bad_signature", "The callback's signature is missing or wrong.")
    body = strict_fields(
        await read_json_object(request),
        {"billing_code": str, "amount": int, "transaction_id": str, "paid_at": str},
    )
    paid_at = _paid_at(body["paid_at"])
    metrics = request.config_dict[BOOKING_METRICS].payments
    try:
        paid = await request.config_dict[PAYMENTS].pay(
            body["billing_code"], body["amount"], body["transaction_id"], paid_at
        )
    except Refused as refusal:
        metrics.labels(refusal.code).inc()
        raise
    metrics.labels("replayed" if paid.replayed else "confirmed").inc()
    if not paid.replayed:
        await request.config_dict[JOBS].paid(paid.booking_id)
    return json_response(
        {
            "status": "confirmed",
            "booking_id": str(paid.booking_id),
            "booking_code": paid.booking_code,
            "replayed": paid.replayed,
        }
    )


def sandbox_bank(request: web.Request) -> None:
    """Refuse (404) unless this server runs the sandbox bank."""
    if not request.config_dict[SETTINGS].sandbox_payments:
        raise ApiError(404, "not_found", "There is no sandbox bank on this server.")


#: billing codes looked up in vain per client address in a window, before it must wait: a payer
#: mistypes a few; a guesser needs billions (15 digits)
UNKNOWN_CODES = 20
UNKNOWN_CODES_WINDOW = 10 * 60


async def amount_due(request: web.Request, code: str) -> int:
    """What the sandbox bank is to collect for `code`. Lookups are counted per client address
    before the database is asked (so that a burst cannot outrun the count) and handed back when
    the code exists: only codes that find nothing use up the limit."""
    redis = request.config_dict[ACCOUNTS].redis
    key = "antri:billing-lookups:" + (request.remote or "unknown")
    message = "Too many unknown billing codes from this address; wait a few minutes."
    await attempts.take(redis, key, UNKNOWN_CODES, UNKNOWN_CODES_WINDOW, message)
    try:
        amount = await request.config_dict[PAYMENTS].amount_due(code)
    except NotFound:
        raise
    except Refused:
        await attempts.refund(redis, key)  # a real code, paid or expired: not a guess
        raise
    await attempts.refund(redis, key)
    return amount


def sandbox_transaction_id() -> str:
    """A new transaction id of the sandbox bank."""
    return f"SBX-{uuid.uuid4().hex}"


async def sandbox_pay(request: web.Request) -> web.Response:
    """POST /api/v1/payments/sandbox/pay `{"billing_code"}`: the sandbox bank collects the
    amount due and calls the payment callback, signed, as a real bank would."""
    sandbox_bank(request)
    body = strict_fields(await read_json_object(request), {"billing_code": str})
    code = body["billing_code"].strip()
    amount = await amount_due(request, code)
    answer = await notify_paid(request, code, amount, sandbox_transaction_id())
    return json_response({"paid": True, "amount": amount, **answer})


async def notify_paid(
    request: web.Request, code: str, amount: int, transaction_id: str
) -> dict[str, Any]:
    """Tell Antri that the sandbox bank collected `amount` for `code`: the signed payment
    callback, over real HTTP as a real bank would send it. Its answer; ApiError if refused.

    The same `transaction_id` sent again is answered as the first time (`replayed`), so a
    notice whose fate is unknown may simply be sent again."""
    settings = request.config_dict[SETTINGS]
    notice = orjson.dumps(
        {
            "billing_code": code,
            "amount": amount,
            "transaction_id": transaction_id,
            "paid_at": datetime.now(UTC).isoformat(),
        }
    )
    headers = {
        "Content-Type": JSON,
        signatures.HEADER: signatures.sign(settings.payment_secret, notice, int(time.time())),
    }
    base = settings.public_url or str(request.url.origin())
    timeout = aiohttp.ClientTimeout(total=10)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(f"{base}/api/v1/payments/callback", data=notice, headers=headers) as reply,
        ):
            answer = await reply.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        raise ApiError(
            502, "callback_failed", "The sandbox bank could not reach Antri's callback."
        ) from None
    if reply.status != 200 or not isinstance(answer, dict):
        answer = answer if isinstance(answer, dict) else {}
        raise ApiError(
            reply.status if 400 <= reply.status < 500 else 502,
            answer.get("error", "payment_refused"),
            answer.get("message", "The payment was refused."),
        )
    return answer


def _paid_at(text: str) -> datetime:
    """The bank's payment time, in UTC (no zone: UTC); 422 unless it is a time of this century
    and not in the future by more than the signature's tolerance."""
    refusal = ApiError(
        422,
        "invalid",
        "paid_at: must be an ISO 8601 time, not in the future",
        extra={"fields": {"paid_at": "must be an ISO 8601 time, not in the future"}},
    )
    try:
        paid_at = datetime.fromisoformat(text.replace("Z", "+00:00"))
        paid_at = (paid_at if paid_at.tzinfo else paid_at.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise refusal from None
    latest = datetime.now(UTC) + timedelta(seconds=signatures.TOLERANCE_SECONDS)
    if not datetime(2000, 1, 1, tzinfo=UTC) <= paid_at <= latest:
        raise refusal
    return paid_at
