"""Payments: the bank's signed callback, and the sandbox bank that stands in for it."""

from __future__ import annotations

import logging
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
from ..caller import caller
from ..errors import ApiError
from ..settings import Settings
from ..web import JSON, json_response, read_json_object, strict_fields

log = logging.getLogger(__name__)


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
    key = "antri:billing-lookups:" + caller(request)
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
    callback, over real HTTP as a real bank would send it. What the database then holds for
    this transaction; the reason it is not payable (Refused), or ApiError(502) if the callback
    recorded nothing.

    The callback goes only where the configuration says (never where a request header points),
    and its reply decides nothing: the payer is told what was recorded, read back. The same
    `transaction_id` sent again is answered as the first time (`replayed`), so a notice whose
    fate is unknown may simply be sent again."""
    settings = request.config_dict[SETTINGS]
    payments = request.config_dict[PAYMENTS]
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
    earlier = await payments.recorded(code, transaction_id)
    url = f"{callback_base(request, settings)}/api/v1/payments/callback"
    timeout = aiohttp.ClientTimeout(total=10)
    #: the callee's Retry-After when it answered 503 (Antri's database or Redis is away)
    unavailable: str | None = None
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(url, data=notice, headers=headers) as reply,
        ):
            outcome = f"HTTP {reply.status}"
            if reply.status == 503:
                unavailable = reply.headers.get("Retry-After", "1")
    except (aiohttp.ClientError, TimeoutError) as exc:
        outcome = f"failed ({type(exc).__name__})"
    recorded = await payments.recorded(code, transaction_id)
    # The transaction id and the callee identify the event; the billing code and the
    # signature stay out of the log.
    log.info(
        "sandbox bank: callback of %s to %s: %s; payment %s",
        transaction_id,
        url,
        outcome,
        "recorded" if recorded is not None else "NOT recorded",
    )
    if recorded is not None:
        return {
            "status": "confirmed",
            "booking_id": str(recorded.booking_id),
            "booking_code": recorded.booking_code,
            "replayed": earlier is not None,
        }
    # Nothing recorded: why, as the database sees it (paid by another transaction, expired,
    # cancelled, unknown); if it is still payable, the callback itself failed.
    await payments.amount_due(code)
    if unavailable is not None:
        # Antri is briefly unavailable: the payer may pay again after Retry-After (the same
        # billing code; nothing was recorded).
        raise ApiError(
            503,
            "callback_unavailable",
            "Antri could not record the payment just now; try again shortly.",
            headers={"Retry-After": unavailable},
        )
    raise ApiError(502, "callback_failed", "The sandbox bank could not reach Antri's callback.")


def callback_base(request: web.Request, settings: Settings) -> str:
    """Where the sandbox bank calls back: ANTRI_PUBLIC_URL, else this very server at the local
    address of the connection the request came in on (its socket, not a header the client
    wrote)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    host, port = settings.host, settings.port
    if isinstance(sockname, tuple):
        host, port = sockname[0], sockname[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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
