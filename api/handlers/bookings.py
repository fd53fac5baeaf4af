"""Bookings over HTTP: thin handlers over the booking service."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from queue_engine.validation import Problems

from ..booking.accounts import Accounts
from ..booking.application import parse_booking_request
from ..booking.bookings import CHANGEABLE, Bookings, booking_hash
from ..booking.documents import MAX_DOCUMENT_BYTES, DocumentKind, DocumentRejected
from ..booking.proof import proof_pdf
from ..errors import AdmissionRequired, ApiError
from ..flows import BookingFlow
from ..gate import ADMISSION, end_turn, gated, require_admission
from ..login import require_account, session_token
from ..web import json_response, read_json_object

#: Stripe's rule for keys: printable, at most 255 characters
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_KINDS = {kind.value: kind for kind in DocumentKind}


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise Problems.at("Idempotency-Key", "format", "1 to 255 printable characters")
    return key


@dataclass(frozen=True, slots=True)
class BookingViews:
    """The bookings API, bound to the flow and the booking service."""

    flow: BookingFlow
    bookings: Bookings
    accounts: Accounts
    #: the key of the idempotency digests
    secret: bytes

    async def create(self, request: web.Request) -> web.Response:
        """POST /api/v1/bookings (admitted and logged in): take a place, awaiting payment."""
        try:
            request[ADMISSION] = await require_admission(request)
        except AdmissionRequired:
            # A turn ends once its booking is made: a retry of that request (same key, same body)
            # is answered from its first outcome rather than sent back to the line.
            replayed = await self._replay_after_turn(request)
            if replayed is None:
                raise
            return json_response(replayed, 201)
        account_id = await require_account(request)
        body = await read_json_object(request)
        key = _idempotency_key(request)
        bookings = self.bookings
        now = datetime.now(UTC)
        booking = parse_booking_request(await request.read(), bookings.offices, now.date())
        idempotency = None
        if key is not None:
            idempotency = (key, booking_hash(self.secret, body))
        made = await self.flow.place(account_id, booking, now, idempotency, request[ADMISSION].turn)
        await end_turn(request)  # one booking per turn: the place goes back to the line at once
        return json_response(made, 201)

    async def _replay_after_turn(self, request: web.Request) -> dict[str, Any] | None:
        """The recorded outcome of this request (logged in, with a used Idempotency-Key), else
        None."""
        key = _idempotency_key(request)
        token = session_token(request)
        accounts = self.accounts
        account_id = await accounts.account_id(token) if key is not None and token else None
        if key is None or account_id is None:
            return None
        digest = booking_hash(self.secret, await read_json_object(request))
        return await self.bookings.replay(account_id, key, digest)

    async def index(self, request: web.Request) -> web.Response:
        """GET /api/v1/bookings: the account's bookings."""
        account_id = await require_account(request)
        return json_response(await self.bookings.list_for(account_id))

    async def show(self, request: web.Request) -> web.Response:
        """GET /api/v1/bookings/{id}: one booking with its timeline (owner only)."""
        account_id = await require_account(request)
        booking_id = request.match_info["id"]
        return json_response(await self.bookings.get(account_id, booking_id))

    async def cancel(self, request: web.Request) -> web.Response:
        """POST /api/v1/bookings/{id}/cancel."""
        account_id = await require_account(request)
        booking_id = request.match_info["id"]
        return json_response(await self.flow.cancel(account_id, booking_id))

    @gated
    async def reschedule(self, request: web.Request) -> web.Response:
        """POST /api/v1/bookings/{id}/reschedule `{"date", "session_id"}` (admitted): once, H-1."""
        account_id = await require_account(request)
        view = await self.flow.reschedule(
            account_id, request.match_info["id"], await read_json_object(request), datetime.now(UTC)
        )
        return json_response(view)

    async def proof(self, request: web.Request) -> web.Response:
        """GET /api/v1/bookings/{id}/proof.pdf: the proof of registration, once paid."""
        account_id = await require_account(request)
        bookings = self.bookings
        view = await bookings.get(account_id, request.match_info["id"])
        if view["booking_code"] is None:
            raise ApiError(409, "not_paid", "The proof is issued once the booking is paid.")
        pdf = await asyncio.to_thread(proof_pdf, bookings.proof(view))
        return web.Response(
            body=pdf,
            content_type="application/pdf",
            headers={
                "Content-Disposition": f'inline; filename="bukti-{view["booking_code"]}.pdf"',
                "Cache-Control": "private, no-store",
            },
        )

    async def documents(self, request: web.Request) -> web.Response:
        """POST /api/v1/bookings/{id}/documents (multipart; one part per kind: ktp, kk, pendukung,
        paspor_lama): JPEG, PNG or PDF by content, at most 2 MB each."""
        account_id = await require_account(request)
        bookings = self.bookings
        view = await bookings.get(account_id, request.match_info["id"])
        if view["status"] not in CHANGEABLE:
            raise ApiError(409, "not_changeable", f"A booking that is {view['status']} is closed.")
        if not request.content_type.startswith("multipart/"):
            raise ApiError(415, "unsupported_type", "Send the documents as multipart/form-data.")
        if (request.content_length or 0) > len(_KINDS) * (MAX_DOCUMENT_BYTES + 64 * 1024):
            raise ApiError(413, "too_large", "Each document may be at most 2 MB.")
        try:
            saved = await self._save_parts(request, view["id"])
        except (ValueError, HttpProcessingError):
            raise ApiError(
                400, "bad_multipart", "The upload is not well-formed multipart."
            ) from None
        if not saved:
            raise ApiError(
                422, "invalid", "No document was sent.", extra={"fields": {"documents": "empty"}}
            )
        return json_response({"saved": saved}, 201)

    async def _save_parts(self, request: web.Request, booking_id: str) -> list[dict[str, object]]:
        """Store each part of the upload; refusals raise ApiError."""
        flow = self.flow
        saved: list[dict[str, object]] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name not in _KINDS:
                raise ApiError(
                    422,
                    "invalid",
                    "Each part must be named ktp, kk, pendukung or paspor_lama.",
                    extra={"fields": {str(getattr(part, "name", "")): "unknown document kind"}},
                )
            chunks = await read_limited(part)
            try:
                stored = await flow.save_document(booking_id, _KINDS[part.name], chunks)
            except DocumentRejected as exc:
                raise ApiError(exc.status, exc.code, exc.message) from None
            saved.append({"kind": stored.kind.value, "media_type": stored.media_type,
                          "size": stored.size})  # fmt: skip
        return saved


async def read_limited(part: BodyPartReader) -> list[bytes]:
    """The part's bytes in chunks, refused with 413 as soon as they pass the limit (so an
    oversized upload is never held whole)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(64 * 1024):
        size += len(chunk)
        if size > MAX_DOCUMENT_BYTES:
            raise ApiError(413, "too_large", "Each document may be at most 2 MB.")
        chunks.append(chunk)
    return chunks
