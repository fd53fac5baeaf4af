"""The sandbox bank (on with ANTRI_SANDBOX_PAYMENTS): it looks up what a billing code owes and
pays it by calling Antri's signed payment callback over HTTP, as a real bank would. Its JSON
route (handlers/payments.py) and its pages (pages/bank.py) both use it: `SandboxBank`, built once
with its services, takes typed inputs (the code, the caller's address key, where to call back)
and reads no request."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson

from queue_engine.scripts import RedisClient

from .booking import attempts, signatures
from .booking.errors import NotFound, Refused
from .booking.payments import Payments
from .errors import ApiError
from .settings import Settings
from .web import JSON

log = logging.getLogger(__name__)


#: billing codes looked up in vain per client address in a window, before it must wait: a payer
#: mistypes a few; a guesser needs billions (15 digits)
UNKNOWN_CODES = 20
UNKNOWN_CODES_WINDOW = 10 * 60


def sandbox_transaction_id() -> str:
    """A new transaction id of the sandbox bank."""
    return f"SBX-{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class SandboxBank:
    """The sandbox bank's use cases: look a billing code up, pay it."""

    payments: Payments
    #: where unknown codes are counted per client address
    redis: RedisClient
    settings: Settings

    def open(self) -> None:
        """Refuse (404) unless this server runs the sandbox bank."""
        if not self.settings.sandbox_payments:
            raise ApiError(404, "not_found", "There is no sandbox bank on this server.")

    async def amount_due(self, code: str, caller: str) -> int:
        """What the sandbox bank is to collect for `code`. Lookups are counted per client
        address (`caller`) before the database is asked (so that a burst cannot outrun the
        count) and handed back when the code exists: only codes that find nothing use up the
        limit."""
        key = "antri:billing-lookups:" + caller
        message = "Too many unknown billing codes from this address; wait a few minutes."
        await attempts.take(self.redis, key, UNKNOWN_CODES, UNKNOWN_CODES_WINDOW, message)
        try:
            amount = await self.payments.amount_due(code)
        except NotFound:
            raise
        except Refused:
            await attempts.refund(self.redis, key)  # a real code, paid or expired: not a guess
            raise
        await attempts.refund(self.redis, key)
        return amount

    async def notify_paid(
        self, code: str, amount: int, transaction_id: str, local_address: object
    ) -> dict[str, Any]:
        """Tell Antri that the sandbox bank collected `amount` for `code`: the signed payment
        callback, over real HTTP as a real bank would send it. What the database then holds for
        this transaction; the reason it is not payable (Refused), or ApiError(502) if the callback
        recorded nothing.

        The callback goes only where the configuration says (never where a request header points),
        and its reply decides nothing: the payer is told what was recorded, read back. The same
        `transaction_id` sent again is answered as the first time (`replayed`), so a notice whose
        fate is unknown may simply be sent again. `local_address` is the socket name of the
        connection the payer came in on (where, without ANTRI_PUBLIC_URL, this server is)."""
        settings, payments = self.settings, self.payments
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
        url = f"{callback_base(settings, local_address)}/api/v1/payments/callback"
        timeout = aiohttp.ClientTimeout(total=10)
        #: the callee's Retry-After when it answered 503 (Antri's database or Redis is away)
        unavailable: str | None = None
        # A connection that dies without an answer (the callee's process was killed, a pooled
        # connection it had closed) is tried once more: the same notice is replay-safe.
        for attempt in (1, 2):
            try:
                async with (
                    aiohttp.ClientSession(timeout=timeout) as session,
                    session.post(url, data=notice, headers=headers) as reply,
                ):
                    outcome = f"HTTP {reply.status}"
                    if reply.status == 503:
                        unavailable = reply.headers.get("Retry-After", "1")
            except aiohttp.ClientConnectionError as exc:
                outcome = f"failed ({type(exc).__name__})"
                if attempt == 1 and not isinstance(exc, TimeoutError):  # a slow callee: no
                    continue
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcome = f"failed ({type(exc).__name__})"
            break
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


def callback_base(settings: Settings, sockname: object) -> str:
    """Where the sandbox bank calls back: ANTRI_PUBLIC_URL, else this very server at the local
    address of the connection the request came in on (`sockname`, its socket's: not a header
    the client wrote)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host, port = settings.host, settings.port
    if isinstance(sockname, tuple):
        host, port = sockname[0], sockname[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
