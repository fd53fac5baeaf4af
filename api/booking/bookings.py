"""Bookings: take a place, read, reschedule, cancel, expire, and the officer's status steps.

Every change of a place happens inside PostgreSQL in one transaction with the booking (see the
`create_booking` and `expire_unpaid` functions of the migrations); Python never reads a count
and writes it back.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from .. import audit
from ..audit import Actor
from . import calendar
from .application import BookingRequest, parse_reschedule
from .booking_batch import BookingBatch, Taken, Taking
from .calendar import iso_utc
from .codes import billing_code
from .documents import StoredDocument, required_documents
from .errors import Conflict, Invalid, NotFound
from .fees import FeeSchedule
from .nik import mask_nik
from .offices import Office
from .proof import Proof
from .sealing import NikSealer
from .slots import Slots

#: statuses in which a booking holds (or has used) its place
ACTIVE = ("awaiting_payment", "confirmed", "checked_in", "interviewed", "approved", "printing",
          "ready")  # fmt: skip
#: the officer's steps: from each status, the statuses it may move to
OFFICER_STEPS: Mapping[str, tuple[str, ...]] = {
    "confirmed": ("checked_in",),
    "checked_in": ("interviewed",),
    "interviewed": ("approved", "rejected"),
    "approved": ("printing",),
    "printing": ("ready",),
    "ready": ("collected",),
}
#: the statuses from which an applicant may cancel or reschedule
CHANGEABLE = ("awaiting_payment", "confirmed")
MAX_PEOPLE_PER_ACCOUNT = 5
#: how many times a booking may be moved to another date or session
RESCHEDULES_ALLOWED = 1
#: how codes are printed on the proof (Bahasa Indonesia)
LABELS: Mapping[str, str] = {
    "reguler": "Reguler", "percepatan": "Percepatan", "prioritas": "Prioritas",
    "baru": "Baru", "penggantian": "Penggantian", "hilang": "Hilang", "rusak": "Rusak",
    "biasa": "Paspor biasa", "elektronik": "Paspor elektronik",
    "confirmed": "Lunas - terjadwal", "checked_in": "Hadir", "interviewed": "Wawancara selesai",
    "approved": "Disetujui", "printing": "Dicetak", "ready": "Siap diambil",
    "collected": "Sudah diambil", "rejected": "Ditolak",
}  # fmt: skip

_BOOKING_COLUMNS = """
    b.id, b.account_id, b.status, b.application_kind, b.passport_type, b.validity_years,
    b.nik_masked, b.applicant, b.amount, b.fee_lines, b.billing_code, b.expires_at, b.paid_at,
    b.booking_code, b.reschedules, b.created_at, b.expires_at <= now() AS overdue,
    s.office_id, s.day, s.session_id, s.lane, s.starts_at, s.ends_at
"""


@dataclass(frozen=True)
class Created:
    """A new booking awaiting payment; `remaining` is what is left in its slot."""

    body: dict[str, Any]
    expires_at: datetime
    remaining: int


def _created(taking: Taking, taken: Taken) -> Created:
    """The new booking, or the refusal PostgreSQL gave `taking`."""
    if taken.outcome in ("nik_has_active_booking", "bookings_one_active_per_nik"):
        raise _nik_has_active_booking()
    if taken.outcome == "turn_bookings_pkey":
        raise Conflict("turn_used", "This turn has already made its booking.")
    if taken.outcome == "slot_full":
        raise Conflict("slot_full", "This session has no places left in this lane.")
    if taken.outcome == "too_many_applicants":
        raise Conflict(
            "too_many_applicants",
            f"An account can apply for at most {MAX_PEOPLE_PER_ACCOUNT} people at a time.",
        )
    body = {
        "id": str(taken.booking_id),
        "status": "awaiting_payment",
        "billing_code": taking.billing_code,
        "amount": taking.amount,
        "currency": "IDR",
        "expires_at": iso_utc(taking.expires_at),
        "fee_lines": taking.fee_lines,
    }
    assert taken.remaining is not None  # a booking made says what its slot has left
    return Created(body, taking.expires_at, taken.remaining)


def booking_hash(secret: bytes, body: dict[str, Any]) -> bytes:
    """The keyed hash of a booking body that tells a replay from another request."""
    return request_hash(secret, orjson.dumps(body, option=orjson.OPT_SORT_KEYS))


def request_hash(key: bytes, body: bytes) -> bytes:
    """A keyed hash of a request body, to tell a replay from a different request under one key
    (keyed, because the body holds a NIK)."""
    return hmac.new(key, body, hashlib.sha256).digest()


class Bookings:
    """The booking service, on a PostgreSQL pool."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        slots: Slots,
        fees: FeeSchedule,
        sealer: NikSealer,
        payment_window: timedelta,
        secret: bytes,
    ) -> None:
        self.pool = pool
        self.slots = slots
        self.offices = slots.offices
        self.fees = fees
        self.sealer = sealer
        self.payment_window = payment_window
        self.batch = BookingBatch(pool, MAX_PEOPLE_PER_ACCOUNT)
        self._qr_key = hashlib.sha256(b"antri qr v1" + secret).digest()

    # -- booking ---------------------------------------------------------------------------

    async def create(
        self,
        account_id: int,
        request: BookingRequest,
        now: datetime,
        idempotency: tuple[str, bytes] | None = None,
        turn: str | None = None,
    ) -> Created | dict[str, Any]:
        """Take a place for `request`, awaiting payment. With `idempotency` (key, request hash),
        the first outcome for the key is replayed: a dict body, or the same Conflict. With
        `turn` (the waiting room's turn that admitted the request), the turn makes one booking:
        another, made at the same time, is refused `turn_used`."""
        office = self.slots.office(request.office_id)
        self.slots.check_bookable(office, request.date, now)
        if idempotency is None:
            taking = self._taking(account_id, office, request, now, turn)
            return _created(taking, await self.batch.take(taking))
        key, digest = idempotency
        async with self.pool.acquire() as conn, conn.transaction():
            # A concurrent request with the same key waits here until the first one commits,
            # then finds its row: 50 copies at once have one effect.
            claimed = await conn.fetchval(
                "INSERT INTO idempotency_keys (account_id, key, request_hash) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING RETURNING true",
                account_id,
                key,
                digest,
            )
            if not claimed:
                return await self._replay(conn, account_id, key, digest)
            created: Created | None = None
            try:
                async with conn.transaction():  # a savepoint: a refusal undoes only the booking
                    taking = self._taking(account_id, office, request, now, turn)
                    created = _created(taking, await self.batch.take_alone(conn, taking))
                    stored: dict[str, Any] = created.body
            except Conflict as refusal:
                stored = {"error": refusal.code, "message": refusal.message}
            await conn.execute(
                "UPDATE idempotency_keys SET response = $3 WHERE account_id = $1 AND key = $2",
                account_id,
                key,
                orjson.dumps(stored).decode(),
            )
        if created is None:
            raise Conflict(stored["error"], stored["message"])
        return created

    async def replay(self, account_id: int, key: str, digest: bytes) -> dict[str, Any] | None:
        """The first outcome recorded for `key` (a body, or the same Conflict raised), or None
        when the key was never used: a retry answered without taking anything."""
        async with self.pool.acquire() as conn:
            known = await conn.fetchval(
                "SELECT true FROM idempotency_keys WHERE account_id = $1 AND key = $2"
                " AND response IS NOT NULL",
                account_id,
                key,
            )
            if not known:
                return None
            return await self._replay(conn, account_id, key, digest)

    async def _replay(
        self, conn: asyncpg.Connection, account_id: int, key: str, digest: bytes
    ) -> dict[str, Any]:
        row = await conn.fetchrow(
            "SELECT request_hash, response FROM idempotency_keys"
            " WHERE account_id = $1 AND key = $2",
            account_id,
            key,
        )
        if row is None or not hmac.compare_digest(bytes(row["request_hash"]), digest):
            raise Invalid(
                {"Idempotency-Key": "this key was used with a different request"},
                {"Idempotency-Key": "idempotency_key_reused"},
            )
        stored: dict[str, Any] = orjson.loads(row["response"])
        if "error" in stored:
            raise Conflict(stored["error"], stored["message"])
        return stored

    def _taking(
        self,
        account_id: int,
        office: Office,
        request: BookingRequest,
        now: datetime,
        turn: str | None = None,
    ) -> Taking:
        applicant = request.applicant
        quote = self.fees.in_force(calendar.local_today(office, now)).quote(
            request.passport_type, request.validity_years, request.lane, request.application_kind
        )
        # Everything about the person but the NIK, which is stored sealed beside it.
        details = applicant.model_dump(exclude={"nik"}) | {
            "applicant_type": applicant.applicant_type(request.date)
        }
        fee_lines = [
            {"code": line.code, "label_id": line.label_id, "label_en": line.label_en,
             "amount": line.amount}
            for line in quote.lines
        ]  # fmt: skip
        return Taking(
            account_id=account_id,
            office_id=office.id,
            day=request.date,
            session_id=request.session_id,
            lane=request.lane,
            nik_cipher=self.sealer.seal(applicant.nik),
            nik_hash=self.sealer.digest(applicant.nik),
            nik_masked=mask_nik(applicant.nik),
            kind=request.application_kind,
            passport_type=request.passport_type,
            validity_years=request.validity_years,
            applicant=details,
            amount=quote.total,
            fee_lines=fee_lines,
            billing_code=billing_code(),
            expires_at=now + self.payment_window,
            turn=turn,
        )

    # -- reading ---------------------------------------------------------------------------

    async def _row(self, conn: asyncpg.Connection, booking_id: UUID, lock: bool = False) -> Any:
        if lock:
            # The booking alone is locked first. A locking read of the join, waiting behind a
            # reschedule, would re-check the moved booking against its old slot and find
            # nothing: a retried change would be told the booking does not exist.
            await conn.execute("SELECT 1 FROM bookings WHERE id = $1 FOR UPDATE", booking_id)
        return await conn.fetchrow(
            f"SELECT {_BOOKING_COLUMNS} FROM bookings b JOIN slots s ON s.id = b.slot_id"
            " WHERE b.id = $1",
            booking_id,
        )

    async def _owned(
        self, conn: asyncpg.Connection, account_id: int, booking_id: str, lock: bool = False
    ) -> Any:
        """The booking's row if it is the account's; anyone else's looks like no booking."""
        try:
            uuid = UUID(booking_id)
        except ValueError:
            raise NotFound("unknown_booking", "There is no such booking.") from None
        row = await self._row(conn, uuid, lock)
        if row is None or row["account_id"] != account_id:
            raise NotFound("unknown_booking", "There is no such booking.")
        if row["status"] == "awaiting_payment" and row["overdue"]:
            # The check on read: a deadline passed is acted on now, not when a job runs.
            await conn.fetch("SELECT * FROM expire_unpaid($1, NULL, 1)", uuid)
            row = await self._row(conn, uuid, lock)
        return row

    def _view(self, row: Any, events: list[Any] | None = None) -> dict[str, Any]:
        office = self.offices[row["office_id"]]
        session = office.session(row["session_id"])
        applicant = orjson.loads(row["applicant"])
        awaiting = row["status"] == "awaiting_payment"
        view = {
            "id": str(row["id"]),
            "status": row["status"],
            "office": office.public_json() | {"sessions": None},
            "date": row["day"].isoformat(),
            "session": {
                "id": row["session_id"],
                "start": session.start.strftime("%H:%M") if session else None,
                "end": session.end.strftime("%H:%M") if session else None,
                "starts_at": iso_utc(row["starts_at"]),
            },
            "lane": row["lane"],
            "application_kind": row["application_kind"],
            "passport": {"type": row["passport_type"], "validity_years": row["validity_years"]},
            "applicant": applicant | {"nik_masked": row["nik_masked"]},
            "amount": row["amount"],
            "currency": "IDR",
            "fee_lines": orjson.loads(row["fee_lines"]),
            "billing_code": row["billing_code"] if awaiting else None,
            "expires_at": iso_utc(row["expires_at"]) if awaiting else None,
            "paid_at": iso_utc(row["paid_at"]) if row["paid_at"] else None,
            "booking_code": row["booking_code"],
            "qr_text": self.qr_text(row["booking_code"]) if row["booking_code"] else None,
            "reschedules_left": RESCHEDULES_ALLOWED - row["reschedules"],
            "documents_required": [k.value for k in required_documents(row["application_kind"])],
            "created_at": iso_utc(row["created_at"]),
        }
        view["office"].pop("sessions")
        if events is not None:
            view["timeline"] = [
                {"status": e["status"], "at": iso_utc(e["at"]), "note": e["note"]} for e in events
            ]
        return view

    def qr_text(self, code: str) -> str:
        """What the proof's QR code holds: the booking code and a tag that only Antri can make,
        so the office can tell a real proof from a printed fake."""
        tag = hmac.new(self._qr_key, code.encode(), hashlib.sha256).hexdigest()[:16]
        return f"ANTRI:{code}:{tag}"

    def code_from_qr(self, text: str) -> str | None:
        """The booking code in a genuine QR text (or a bare booking code), else None."""
        parts = text.strip().split(":")
        if len(parts) == 1:
            return parts[0].upper()
        if (
            len(parts) == 3
            and parts[0] == "ANTRI"
            and hmac.compare_digest(self.qr_text(parts[1]), text.strip())
        ):
            return parts[1]
        return None

    async def get(self, account_id: int, booking_id: str) -> dict[str, Any]:
        """One of the account's bookings with its timeline and documents."""
        async with self.pool.acquire() as conn:
            return await self._full_view(conn, await self._owned(conn, account_id, booking_id))

    async def _full_view(self, conn: asyncpg.Connection, row: Any) -> dict[str, Any]:
        """The view of `row` with its timeline and documents, read on `conn`: a change returns
        the view from inside its own transaction, so a committed change is never answered as a
        failure because a second connection could not be had afterwards."""
        events = await conn.fetch(
            "SELECT status, at, note FROM booking_events WHERE booking_id = $1 ORDER BY id",
            row["id"],
        )
        documents = await conn.fetch(
            "SELECT kind, media_type, size, uploaded_at FROM documents WHERE booking_id = $1"
            " ORDER BY kind",
            row["id"],
        )
        view = self._view(row, events)
        view["documents"] = [
            {"kind": d["kind"], "media_type": d["media_type"], "size": d["size"],
             "uploaded_at": iso_utc(d["uploaded_at"])}
            for d in documents
        ]  # fmt: skip
        return view

    async def list_for(self, account_id: int) -> list[dict[str, Any]]:
        """The account's bookings, newest first (overdue unpaid ones expired first)."""
        query = (
            f"SELECT {_BOOKING_COLUMNS} FROM bookings b JOIN slots s ON s.id = b.slot_id"
            " WHERE b.account_id = $1 ORDER BY b.created_at DESC LIMIT 100"
        )
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(query, account_id)
            overdue = [r["id"] for r in rows if r["status"] == "awaiting_payment" and r["overdue"]]
            if overdue:
                for booking_id in overdue:
                    await conn.fetch("SELECT * FROM expire_unpaid($1, NULL, 1)", booking_id)
                rows = await conn.fetch(query, account_id)
        return [self._view(r) for r in rows]

    # -- changes by the applicant -------------------------------------------------------------

    async def cancel(self, account_id: int, booking_id: str) -> dict[str, Any]:
        """Cancel an unpaid or confirmed booking; its place goes back to the pool."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._owned(conn, account_id, booking_id, lock=True)
            if row["status"] == "cancelled":
                # A retry of a cancel whose answer was lost: the booking is as asked.
                return await self._full_view(conn, row)
            if row["status"] not in CHANGEABLE:
                raise Conflict(
                    "not_cancellable", f"A booking that is {row['status']} cannot be cancelled."
                )
            await conn.execute(
                "UPDATE bookings SET status = 'cancelled', updated_at = now() WHERE id = $1",
                row["id"],
            )
            await conn.execute(
                "UPDATE slots SET booked = booked - 1 WHERE id ="
                " (SELECT slot_id FROM bookings WHERE id = $1)",
                row["id"],
            )
            await conn.execute(
                "INSERT INTO booking_events (booking_id, status) VALUES ($1, 'cancelled')",
                row["id"],
            )
            return await self._full_view(conn, await self._row(conn, row["id"]))

    async def reschedule(
        self, account_id: int, booking_id: str, choice: Mapping[str, Any], now: datetime
    ) -> dict[str, Any]:
        """Move a booking once, until the day before (H-1), into a released place of the same
        office and lane; `choice` is the body `{"date", "session_id"}`, checked against the
        booking's office."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._owned(conn, account_id, booking_id, lock=True)
            office = self.offices[row["office_id"]]
            day, session_id = parse_reschedule(choice, office)
            if row["reschedules"] and (day, session_id) == (row["day"], row["session_id"]):
                # A retry of the move that was made: the booking is where it was asked to be.
                return await self._full_view(conn, row)
            refusal = reschedule_refusal(row["status"], row["reschedules"], office, row["day"], now)
            if refusal is not None:
                raise refusal
            if (day, session_id) == (row["day"], row["session_id"]):
                raise Conflict("same_slot", "This is the booking's current date and session.")
            self.slots.check_bookable(office, day, now)
            moved = await conn.fetchval(
                "UPDATE slots SET booked = booked + 1 WHERE office_id = $1 AND day = $2"
                " AND session_id = $3 AND lane = $4 AND booked < capacity RETURNING id",
                office.id,
                day,
                session_id,
                row["lane"],
            )
            if moved is None:
                raise Conflict("slot_full", "This session has no places left in this lane.")
            await conn.execute(
                "UPDATE slots SET booked = booked - 1 WHERE id ="
                " (SELECT slot_id FROM bookings WHERE id = $1)",
                row["id"],
            )
            await conn.execute(
                "UPDATE bookings SET slot_id = $2, reschedules = reschedules + 1,"
                " updated_at = now() WHERE id = $1",
                row["id"],
                moved,
            )
            await conn.execute(
                "INSERT INTO booking_events (booking_id, status, note)"
                " VALUES ($1, 'rescheduled', $2)",
                row["id"],
                f"{row['day'].isoformat()} {row['session_id']} -> {day.isoformat()} {session_id}",
            )
            return await self._full_view(conn, await self._row(conn, row["id"]))

    async def record_document(self, booking_id: str, stored: StoredDocument) -> None:
        """Note an uploaded document (a new upload of a kind replaces the earlier one)."""
        await self.pool.execute(
            "INSERT INTO documents (booking_id, kind, media_type, size, sha256, path)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (booking_id, kind) DO UPDATE SET"
            " media_type = excluded.media_type, size = excluded.size, sha256 = excluded.sha256,"
            " path = excluded.path, uploaded_at = now()",
            UUID(booking_id),
            stored.kind.value,
            stored.media_type,
            stored.size,
            stored.sha256,
            str(stored.path),
        )

    # -- the office --------------------------------------------------------------------------

    async def find_by_code(self, code: str) -> dict[str, Any]:
        """A booking by its booking code (for the officer)."""
        async with self.pool.acquire() as conn:
            booking_id = await conn.fetchval(
                "SELECT id FROM bookings WHERE booking_code = $1", code.upper()
            )
            if booking_id is None:
                raise NotFound("unknown_booking", "There is no booking with this code.")
            account_id = await conn.fetchval(
                "SELECT account_id FROM bookings WHERE id = $1", booking_id
            )
        return await self.get(account_id, str(booking_id))

    async def set_status(
        self, booking_id: str, status: str, note: str | None, actor: Actor | None = None
    ) -> dict[str, Any]:
        """The officer moves a booking one step along OFFICER_STEPS; the step carries the
        officer's name and goes into the audit trail in the same transaction."""
        try:
            uuid = UUID(booking_id)
        except ValueError:
            raise NotFound("unknown_booking", "There is no such booking.") from None
        steps = {s for nexts in OFFICER_STEPS.values() for s in nexts}
        if status not in steps:
            raise Invalid({"status": f"must be one of {', '.join(sorted(steps))}"})
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._row(conn, uuid, lock=True)
            if row is None:
                raise NotFound("unknown_booking", "There is no such booking.")
            if row["status"] == status:
                # A retry of the step that was recorded: nothing to add to the timeline.
                return await self._full_view(conn, row)
            if status not in OFFICER_STEPS.get(row["status"], ()):
                raise Conflict(
                    "invalid_step", f"A booking that is {row['status']} cannot become {status}."
                )
            await conn.execute(
                "UPDATE bookings SET status = $2, updated_at = now() WHERE id = $1",
                uuid,
                status,
            )
            await conn.execute(
                "INSERT INTO booking_events (booking_id, status, note, actor)"
                " VALUES ($1, $2, $3, $4)",
                uuid,
                status,
                note,
                actor.name if actor is not None else None,
            )
            if actor is not None:
                await audit.record(
                    conn,
                    actor,
                    "booking.status",
                    f"booking:{row['booking_code'] or uuid}",
                    {"status": row["status"]},
                    {"status": status},
                    note,
                )
            return await self._full_view(conn, await self._row(conn, uuid))

    async def proof_of(self, booking_id: UUID) -> tuple[str, Proof] | None:
        """The account's e-mail and the proof of a paid booking (None if it is not paid)."""
        async with self.pool.acquire() as conn:
            row = await self._row(conn, booking_id)
            if row is None or row["booking_code"] is None:
                return None
            email = await conn.fetchval(
                "SELECT email FROM accounts WHERE id = $1", row["account_id"]
            )
        return email, self.proof(self._view(row))

    def proof(self, view: Mapping[str, Any]) -> Proof:
        """The printable proof of a paid booking's view."""
        office = self.offices[view["office"]["id"]]
        session = office.session(view["session"]["id"])
        assert session is not None and view["booking_code"] is not None
        return Proof(
            booking_code=view["booking_code"],
            qr_text=view["qr_text"],
            office_name=office.name,
            office_city=office.city,
            zone_label=office.zone_label,
            date=date.fromisoformat(view["date"]),
            session_start=session.start,
            session_end=session.end,
            lane=LABELS.get(view["lane"], view["lane"]),
            application_kind=LABELS.get(view["application_kind"], view["application_kind"]),
            passport_type=LABELS.get(view["passport"]["type"], view["passport"]["type"]),
            validity_years=view["passport"]["validity_years"],
            applicant_name=view["applicant"]["full_name"],
            nik_masked=view["applicant"]["nik_masked"],
            amount=view["amount"],
            paid_at=datetime.fromisoformat(view["paid_at"]),
            status=LABELS.get(view["status"], view["status"]),
        )

    async def mark_notified(self, booking_id: UUID) -> None:
        """Note that the confirmation e-mail went out."""
        await self.pool.execute(
            "UPDATE bookings SET notified_at = now() WHERE id = $1 AND notified_at IS NULL",
            booking_id,
        )

    async def unnotified(self, older_than: timedelta) -> list[UUID]:
        """Paid bookings whose confirmation has not gone out for a while (a lost job)."""
        rows = await self.pool.fetch(
            "SELECT id FROM bookings WHERE notified_at IS NULL AND paid_at IS NOT NULL"
            " AND paid_at < now() - $1::interval LIMIT 500",
            older_than,
        )
        return [r["id"] for r in rows]

    async def mark_receipt_written(self, booking_id: UUID) -> None:
        """Note that the booking's receipt is written (it is owed no more)."""
        await self.pool.execute(
            "UPDATE bookings SET receipt_written_at = now() WHERE id = $1"
            " AND receipt_written_at IS NULL",
            booking_id,
        )

    async def receipts_owed(self, older_than: timedelta) -> list[UUID]:
        """Paid bookings whose receipt has not been written for a while (a job lost, or failed
        all its retries)."""
        rows = await self.pool.fetch(
            "SELECT id FROM bookings WHERE receipt_written_at IS NULL AND paid_at IS NOT NULL"
            " AND paid_at < now() - $1::interval LIMIT 500",
            older_than,
        )
        return [r["id"] for r in rows]

    # -- housekeeping ------------------------------------------------------------------------

    async def expire_due(self, limit: int = 500) -> list[UUID]:
        """Expire every unpaid booking past its deadline (up to `limit`); the sweeper's work."""
        rows = await self.pool.fetch("SELECT * FROM expire_unpaid(NULL, NULL, $1)", limit)
        return [r[0] for r in rows]

    async def forget_old_keys(self) -> int:
        """Drop idempotency keys and turn records older than 24 hours (a retry or a turn lasts
        minutes); how many rows went."""
        forgotten = 0
        for table, made in (("idempotency_keys", "created_at"), ("turn_bookings", "made_at")):
            result = await self.pool.execute(
                f"DELETE FROM {table} WHERE {made} < now() - interval '24 hours'"
            )
            forgotten += int(result.split()[-1])
        return forgotten


def reschedule_refusal(
    status: str, reschedules: int, office: Office, day: date, now: datetime
) -> Conflict | None:
    """Why a booking in `status`, moved `reschedules` times, for `day` at `office` cannot be
    rescheduled `now` (whatever the new place), or None if it can."""
    if status not in CHANGEABLE:
        return Conflict("not_reschedulable", f"A booking that is {status} cannot be rescheduled.")
    if reschedules >= RESCHEDULES_ALLOWED:
        return Conflict("already_rescheduled", "A booking can be rescheduled once.")
    if now >= calendar.reschedule_allowed_until(office, day):
        return Conflict("too_late", "Rescheduling closes at the end of the day before (H-1).")
    return None


def _nik_has_active_booking() -> Conflict:
    return Conflict(
        "nik_has_active_booking",
        "This NIK already has an active booking; cancel it or wait until it ends.",
    )
