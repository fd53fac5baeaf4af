"""Payments: the bank's signed callback, and the sandbox bank's JSON route."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from queue_engine.validation import Problems

from ..booking import signatures
from ..caller import caller
from ..errors import ApiError
from ..flows import BookingFlow
from ..models import PayBillingCode, PaymentNotice
from ..sandbox_bank import SandboxBank, sandbox_transaction_id
from ..web import json_response, local_address, read_model


@dataclass(frozen=True, slots=True)
class PaymentViews:
    """The bank's callback and the sandbox bank's route: bound to the flow and the bank."""

    flow: BookingFlow
    bank: SandboxBank
    payment_secret: bytes

    async def callback(self, request: web.Request) -> web.Response:
        """POST /api/v1/payments/callback: the bank says a billing code was paid (HMAC-signed).

        Idempotent: the same transaction again answers as the first time did.
        """
        raw = await request.read()
        secret = self.payment_secret
        header = request.headers.get(signatures.HEADER, "")
        if not signatures.verify(secret, raw, header, time.time()):
            raise ApiError(401, "bad_signature", "The callback's signature is missing or wrong.")
        body = await read_model(request, PaymentNotice)
        paid_at = _paid_at(body.paid_at)
        paid = await self.flow.confirm_payment(
            body.billing_code, body.amount, body.transaction_id, paid_at
        )
        return json_response(
            {
                "status": "confirmed",
                "booking_id": str(paid.booking_id),
                "booking_code": paid.booking_code,
                "replayed": paid.replayed,
            }
        )

    async def sandbox_pay(self, request: web.Request) -> web.Response:
        """POST /api/v1/payments/sandbox/pay `{"billing_code"}`: the sandbox bank collects the
        amount due and calls the payment callback, signed, as a real bank would."""
        bank = self.bank
        bank.open()
        code = (await read_model(request, PayBillingCode)).billing_code.strip()
        amount = await bank.amount_due(code, caller(request))
        answer = await bank.notify_paid(
            code, amount, sandbox_transaction_id(), local_address(request)
        )
        return json_response({"paid": True, "amount": amount, **answer})


def _paid_at(moment: datetime) -> datetime:
    """The bank's payment time, in UTC (no zone: UTC); 422 unless it is a time of this century
    and not in the future by more than the signature's tolerance."""
    refusal = Problems.at("paid_at", "range", "must be an ISO 8601 time, not in the future")
    try:
        paid_at = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise refusal from None
    latest = datetime.now(UTC) + timedelta(seconds=signatures.TOLERANCE_SECONDS)
    if not datetime(2000, 1, 1, tzinfo=UTC) <= paid_at <= latest:
        raise refusal
    return paid_at
