"""The sandbox bank's pages: pay a billing code as an applicant would at a real bank.

Served only where `sandbox_payments` is on. Paying goes through the same path as the sandbox's
JSON endpoint: the amount due, then Antri's signed payment callback over real HTTP. The billing
code travels in POST bodies only, never in a URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import web

from ..booking.errors import Conflict, NotFound, Refused, TooManyAttempts
from ..caller import caller
from ..errors import ApiError
from ..sandbox_bank import SandboxBank, sandbox_transaction_id
from ..web import local_address
from . import i18n
from .csrf import checked_form
from .guards import local_path
from .i18n import Translate
from .render import page
from .types import Routes

#: where the success page sends the applicant back to, unless the billing page said otherwise
DEFAULT_RETURN = "/akun/permohonan"
_BILLING_CODE = re.compile(r"^[1-9][0-9]{14}$")
#: what people type between groups of digits (as printed on a bill)
_SEPARATORS = re.compile(r"[\s.\-]")
_TRANSACTION_ID = re.compile(r"^SBX-[0-9a-f]{32}$")
_MAX_AMOUNT = 10**12


@dataclass(frozen=True, slots=True)
class BankPages:
    """The sandbox bank's pages: bound to the bank."""

    bank: SandboxBank

    async def bill_form(self, request: web.Request) -> web.Response:
        """GET /bank: a form for the billing code."""
        self.bank.open()
        return _entry_page(request, kembali=_return_path(request.query.get("kembali")))

    async def bill(self, request: web.Request) -> web.Response:
        """POST /bank: the amount due for the billing code, and a button to pay it."""
        self.bank.open()
        form = await checked_form(request)
        kembali = _return_path(form.get("kembali"))
        entered = form.get("billing_code", "")
        code = _billing_code(entered)
        if code is None:
            message = _invalid_code_message(request)
            return _entry_page(request, kembali, entered, message, 422, field_error=True)
        try:
            amount = await self.bank.amount_due(code, caller(request))
        except TooManyAttempts as refusal:
            return _too_many(request, kembali, code, refusal)
        except Refused as refusal:
            return _entry_page(request, kembali, code, *_refusal(request, refusal))
        return _confirm_page(request, code, amount, sandbox_transaction_id(), kembali)

    async def pay(self, request: web.Request) -> web.Response:
        """POST /bank/bayar: collect the amount and tell Antri (its signed callback); a receipt.

        The transaction id was issued with the confirmation page, so the same form sent twice (a
        double tap, a reload) is the same transaction: Antri records it once and answers the second
        notice as a replay, and the receipt shows again."""
        self.bank.open()
        form = await checked_form(request)
        kembali = _return_path(form.get("kembali"))
        code = _billing_code(form.get("billing_code", ""))
        transaction_id = form.get("transaksi", "")
        if code is None or not _TRANSACTION_ID.match(transaction_id):
            _ = i18n.for_visitor(request)
            message = _("Formulir pembayaran tidak lengkap. Masukkan kode billing lagi.")
            return _entry_page(request, kembali, code or "", message, 400)
        try:
            amount = await self._amount_to_collect(request, code, form.get("jumlah", ""))
        except TooManyAttempts as refusal:
            return _too_many(request, kembali, code, refusal)
        except Refused as refusal:
            return _entry_page(request, kembali, code, *_refusal(request, refusal))
        try:
            bank = self.bank
            answer = await bank.notify_paid(code, amount, transaction_id, local_address(request))
        except (ApiError, Refused) as refusal:
            message, status = _refusal(request, refusal)
            if refusal.code == "callback_failed":
                # Nothing is known to be recorded: offer the same transaction again (safe
                # to resend).
                return _confirm_page(
                    request, code, amount, transaction_id, kembali, message, status
                )
            return _entry_page(request, kembali, code, message, status)
        context = {
            "amount": amount,
            "billing_code": code,
            "transaction_id": transaction_id,
            "replayed": bool(answer.get("replayed")),
            "kembali": kembali,
        }
        return page(request, "bank-lunas.html", context)

    async def _amount_to_collect(self, request: web.Request, code: str, claimed_text: str) -> int:
        """The amount due for `code`; for a code paid already, the amount this form confirmed, so
        that its notice is sent again and Antri says whether it was this very transaction (then a
        replay) or another one (refused as paid already)."""
        try:
            return await self.bank.amount_due(code, caller(request))
        except Conflict as refusal:
            claimed = _claimed(claimed_text)
            if refusal.code != "already_paid" or claimed is None:
                raise
            return claimed


def _entry_page(
    request: web.Request,
    kembali: str,
    billing_code: str = "",
    error: str | None = None,
    status: int = 200,
    field_error: bool = False,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """The billing code form; `field_error`: the code as typed is not a billing code."""
    context = {
        "billing_code": billing_code,
        "error": error,
        "field_error": field_error,
        "kembali": kembali,
    }
    return page(request, "bank.html", context, status, headers)


def _too_many(
    request: web.Request, kembali: str, code: str, refusal: TooManyAttempts
) -> web.Response:
    """The billing code form again: this address looked up too many unknown codes."""
    _ = i18n.for_visitor(request)
    minutes = -(-refusal.retry_after // 60)
    message = _(
        "Terlalu banyak kode billing yang tidak dikenal. Coba lagi dalam {n} menit.", n=minutes
    )
    headers = {"Retry-After": str(refusal.retry_after)}
    return _entry_page(request, kembali, code, message, 429, headers=headers)


def _confirm_page(
    request: web.Request,
    code: str,
    amount: int,
    transaction_id: str,
    kembali: str,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    context = {
        "billing_code": code,
        "amount": amount,
        "transaction_id": transaction_id,
        "kembali": kembali,
        "error": error,
    }
    return page(request, "bank-konfirmasi.html", context, status)


def _billing_code(text: str) -> str | None:
    """The 15 digits of a billing code as typed (spaces, dots and dashes between groups are
    dropped), or None if it is not one."""
    code = _SEPARATORS.sub("", text)
    return code if _BILLING_CODE.match(code) else None


def _claimed(text: str) -> int | None:
    """The amount a confirmation form carried, if it is one."""
    return int(text) if text.isdigit() and 0 < len(text) <= 12 and int(text) < _MAX_AMOUNT else None


def _return_path(value: str | None) -> str:
    return local_path(value, DEFAULT_RETURN)


def _invalid_code_message(request: web.Request) -> str:
    _ = i18n.for_visitor(request)
    return _("Kode billing terdiri dari 15 angka. Periksa lagi kode pada tagihan Anda.")


def _refusal(request: web.Request, error: Refused | ApiError) -> tuple[str, int]:
    """What to tell the payer about a refusal, in their language, and the page's status."""
    _ = i18n.for_visitor(request)
    if isinstance(error, ApiError):
        status = error.status
    else:
        status = 404 if isinstance(error, NotFound) else 409
    message = _refusal_messages(_).get(error.code)
    return message or _("Pembayaran ditolak. Tidak ada dana yang ditarik."), status


def _refusal_messages(_: Translate) -> dict[str, str]:
    # One literal per line, so that the catalogue check finds each text whole.
    unknown = _("Kode billing ini tidak dikenal. Periksa lagi angkanya.")
    expired = _("Kode billing ini sudah kedaluwarsa. Buat permohonan baru di Antri.")
    cancelled = _("Permohonan untuk kode billing ini sudah dibatalkan.")
    paid = _("Kode billing ini sudah lunas; tidak ada tagihan lagi. Tidak ada dana yang ditarik.")
    unreachable = _("Bank belum dapat menghubungi Antri; pembayaran belum tercatat. Coba lagi.")
    return {
        "unknown_billing_code": unknown,
        "billing_expired": expired,
        "booking_cancelled": cancelled,
        "already_paid": paid,
        "callback_failed": unreachable,
    }


ROUTES: Routes = [
    ("GET", "/bank", BankPages.bill_form),
    ("POST", "/bank", BankPages.bill),
    ("POST", "/bank/bayar", BankPages.pay),
]
