"""A waiting room: join, status, claim, release — the engine's core.

Two counters drive the line: `arrivals` numbers each visitor, `serving` says how far the line has
been let in. A signed ticket carries the visitor's number, so a status poll is computed from this
process's view of the room (refreshed in the background by `refresh`) without touching Redis.
Redis is asked only to join, to claim a place whose turn has come, and to check a session.
"""

from __future__ import annotations

import math
import random
import secrets
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .errors import (
    InvalidToken,
    JoinBudgetSpent,
    MalformedToken,
    NotYours,
    StorageUnavailable,
    TurnRefused,
    UnknownRoom,
)
from .keys import RoomKeys
from .metrics import EngineMetrics
from .proof import ProofRejected
from .scripts import ANONYMOUS, JoinEntry, RedisClient, Scripts
from .settings import EngineSettings, RoomSettings, RoomState
from .shuffle import commitment, shuffled_index
from .tokens import Admission, Signer, Ticket

T = TypeVar("T")
#: marks the owner of a turn that `finish` ended
FINISHED = "/finished"


class VisitState(StrEnum):
    """Where a ticket stands, as told to its holder."""

    PREQUEUE = "prequeue"  #: joined before the release; shuffled fairly at the start
    WAITING = "waiting"  #: in line with a known position
    ADMITTED = "admitted"  #: the turn came; holds a session
    PAUSED = "paused"  #: in line, but the operator paused admissions
    SOLD_OUT = "sold_out"  #: nothing left to book: waiting would be in vain
    CLOSED = "closed"  #: the room takes nobody


#: looked up once: an Enum member read from its class costs ~0.1 µs on Python 3.11
_OPEN = RoomState.OPEN
_WAITING = VisitState.WAITING


@dataclass(frozen=True, slots=True)
class RoomView:
    """One process's recent copy of a room's settings and counters."""

    state: RoomState
    rate_per_minute: int
    burst: int
    max_active: int
    session_seconds: int
    keep_place_seconds: int
    event_starts_ms: int | None
    inventory: int | None
    epoch: str
    seed: str
    cohort_lo: int
    cohort_hi: int | None  #: None until the release instant fixes the cohort
    arrivals: int
    serving: int
    active: int
    pending: int  #: places offered and not yet claimed (they count against the cap)
    noshow: float
    admitted_last_minute: int
    served_last_minute: int
    span_ms: int
    advanced: int  #: places this refresh offered
    clock_offset: float  #: Redis clock minus this process's clock, in seconds
    fetched_at: float  #: time.monotonic() when fetched
    #: offers per second the bucket aims at: the rate compensated for no-shows
    offer_rate: float
    #: places actually offered per second over the last minute, once there are 5 s of it; when
    #: the cap on active sessions binds, this tells the truth (sessions end when people finish)
    measured_rate: float | None
    #: leading zero bits a join's proof of work needs (0: no proof asked)
    pow_difficulty: int = 0
    #: joins one client address may make a minute (0: no limit)
    joins_per_minute_per_client: int = 0
    #: admissions one account may take per epoch (0: no cap)
    turns_per_account: int = 0
    #: derived in __post_init__, for the usual poll: the room is open and not sold out ...
    usual: bool = field(init=False)
    #: ... and the rates `eta` divides by (offers per second), fastest and slowest
    eta_fast: float = field(init=False)
    eta_slow: float = field(init=False)

    def __post_init__(self) -> None:
        offer, measured = self.offer_rate, self.measured_rate
        if measured is None:
            # Nothing measured yet (the first seconds of a crowd): the cap may hold the line
            # back more than the rate does, so promise no more than half the rate.
            fast, slow = offer, offer / 2
        else:
            fast, slow = max(offer, measured), min(offer, measured)
        object.__setattr__(self, "eta_fast", fast)
        object.__setattr__(self, "eta_slow", slow)
        object.__setattr__(self, "usual", self.state is _OPEN and not self.sold_out)

    @classmethod
    def parse(cls, f: dict[str, str], local_now: float) -> RoomView:
        """Build a view from the fields the tick script returns."""

        def optional(name: str) -> int | None:
            return int(f[name]) if f[name] != "" else None

        noshow = float(f["noshow"])
        served, span_ms = int(f["served_last_minute"]), int(f["span_ms"])
        return cls(
            state=RoomState(f["state"]),
            rate_per_minute=int(f["rate_per_minute"]),
            burst=int(f["burst"]),
            max_active=int(f["max_active"]),
            session_seconds=int(f["session_seconds"]),
            keep_place_seconds=int(f["keep_place_seconds"]),
            event_starts_ms=optional("event_starts_at"),
            inventory=optional("inventory"),
            epoch=f["epoch"],
            seed=f["seed"],
            cohort_lo=int(f["cohort_lo"]),
            cohort_hi=optional("cohort_hi"),
            arrivals=int(f["arrivals"]),
            serving=int(f["serving"]),
            active=int(f["active"]),
            pending=int(f["pending"]),
            noshow=noshow,
            admitted_last_minute=int(f["admitted_last_minute"]),
            served_last_minute=served,
            span_ms=span_ms,
            advanced=int(f["advanced"]),
            clock_offset=int(f["now_ms"]) / 1000 - local_now,
            fetched_at=time.monotonic(),
            offer_rate=int(f["rate_per_minute"]) / 60 / (1 - noshow),
            measured_rate=served / (span_ms / 1000) if span_ms >= 5_000 and served > 0 else None,
            pow_difficulty=int(f.get("pow_difficulty", "0")),
            joins_per_minute_per_client=int(f.get("joins_per_minute_per_client", "0")),
            turns_per_account=int(f.get("turns_per_account") or 0),
        )

    @property
    def waiting(self) -> int:
        """Tickets in line not yet offered a place (silent ones included)."""
        return self.arrivals - self.serving

    @property
    def sold_out(self) -> bool:
        """True when the booking flow reported nothing left."""
        return self.inventory is not None and self.inventory <= 0

    def position_of(self, number: int) -> int | None:
        """The place in line of arrival `number`; None while its cohort waits for the release."""
        if number <= self.cohort_lo:
            return number
        if self.cohort_hi is None:
            return None
        if number > self.cohort_hi:
            return number
        size = self.cohort_hi - self.cohort_lo
        return self.cohort_lo + 1 + shuffled_index(self.seed, size, number - self.cohort_lo - 1)

    def eta(self, position: int) -> tuple[int, int]:
        """Seconds until `position` is offered: a range between the modelled and measured rate."""
        return int(position / self.eta_fast * 0.9), int(position / self.eta_slow * 1.1) + 2


class Status(NamedTuple):
    """What a ticket's holder is told (a NamedTuple: one is built on every poll)."""

    state: VisitState
    ticket: Ticket | None  #: the ticket to hold from now on (None when a closed room refused it)
    position: int | None = None  #: 1 = next in line
    eta: tuple[int, int] | None = None  #: seconds, low and high
    poll_after: float = 0.0  #: seconds until the next poll is worth making
    admission: Admission | None = None

    @property
    def ahead(self) -> int | None:
        """How many people stand before the holder."""
        return None if self.position is None else max(0, self.position - 1)


class Changed(NamedTuple):
    """What `Room.configure` replaced."""

    previous: dict[str, str]  #: each changed field's value before
    number: int  #: the room's change number: orders changes as Redis applied them


class Holding(NamedTuple):
    """An admission presented with its own ticket, as the gate found it."""

    admission: Admission
    live: bool  #: False once its session has ended (released, revoked or expired)
    owner: str | None  #: the account it is bound to, if any
    finished: bool  #: ended by `finish`: its work was done (not lost, revoked or expired)
    also: str | None  #: the value of the key the caller asked to read in the same round trip
    #: why the bind asked for in the same call was refused (None: bound, or nothing to bind)
    refused: TurnRefused | None = None


class Room:
    """One room seen from one process; see the module docstring for the design."""

    def __init__(
        self,
        name: str,
        client: RedisClient,
        scripts: Scripts,
        signer: Signer,
        settings: EngineSettings,
        metrics: EngineMetrics | None = None,
    ) -> None:
        self.name = name
        self.keys = RoomKeys.for_room(name)
        self._client = client
        self._scripts = scripts
        self.signer = signer
        self._settings = settings
        self._metrics = metrics
        self._view: RoomView | None = None
        #: this room's join counter, looked up once (labels() takes a lock and builds a key)
        self._joins = metrics.joins.labels(name) if metrics else None
        #: the epoch and the highest place number this process handed out in it: a Redis that
        #: comes back behind it (a lost AOF tail) is moved past it by the next join
        self._highest = ("", 0)
        #: on a cluster a login session lives in another slot than the room: the gate reads it
        #: in a call of its own before the room's script
        self._cluster = isinstance(client, aioredis.RedisCluster)

    async def create(self, defaults: RoomSettings) -> None:
        """Create the room in Redis unless it exists; existing settings are kept."""
        fields = defaults.as_fields() | {
            "event_starts_at": "",
            "inventory": "",
            "epoch": secrets.token_hex(4),
            "seed": secrets.token_hex(16),
            "cohort_lo": "0",
            "cohort_hi": "",
            "arrivals": "0",
            "serving": "0",
            "tokens": str(defaults.burst),
            "ctokens": str(defaults.burst),
            "claimed_total": "0",
            "noshow": "0",
        }
        await self._scripts.configure(self.keys, fields, create=True)

    async def reset(self, defaults: RoomSettings) -> None:
        """Empty the room and start a new epoch: every ticket and token issued before is void."""
        every = [*self.keys.all(), self.keys.turn_counts, self.keys.turns]
        await self._counted("reset", _wrapped(self._client.delete(*every)))
        await self.create(defaults)
        await self.refresh()

    async def refresh(self) -> RoomView:
        """Advance the line and take a fresh view of the room (one script call)."""
        fields = await self._scripts.tick(self.keys, round(self._settings.schedule_ahead * 1000))
        if not fields:
            raise UnknownRoom(self.name)
        self._view = RoomView.parse(fields, time.time())
        return self._view

    def view(self) -> RoomView:
        """The current view; raises StorageUnavailable when too old to trust (fail closed)."""
        view = self._fresh_view()
        if view is None:
            raise StorageUnavailable("the waiting room cannot reach its store")
        return view

    def _fresh_view(self) -> RoomView | None:
        view = self._view
        if view is None or time.monotonic() - view.fetched_at > self._settings.stale_after:
            return None
        return view

    def now(self) -> float:
        """Unix time on Redis's clock, so that every process agrees."""
        return time.time() + (self._view.clock_offset if self._view else 0.0)

    async def join(self, held: Ticket | None = None, entry: JoinEntry = ANONYMOUS) -> Status:
        """A place in line; a live ticket already held keeps its place (join is idempotent).
        A new place may need a solved challenge and room in the address's budget (`entry`):
        raises ProofRejected or JoinBudgetSpent otherwise."""
        if held is not None:
            try:
                return await self.status(held)
            except InvalidToken:
                pass  # spent, silent too long or from another epoch: a new place at the back
        # A join talks to Redis anyway, so a stale view is renewed rather than refused.
        view = self._fresh_view() or await self.refresh()
        if 0 < view.pow_difficulty > entry.difficulty and view.state is not RoomState.CLOSED:
            # Refused without asking Redis: a flood of joins without proofs costs no round trip.
            raise ProofRejected("missing", view.pow_difficulty)
        handed_out = self._highest[1] if self._highest[0] == view.epoch else 0
        seen = (max(handed_out, view.arrivals), view.epoch)
        verdict, number, epoch = await self._counted(
            "join", self._scripts.join(self.keys, entry, seen)
        )
        if verdict == "unknown":
            raise UnknownRoom(self.name)
        if verdict == "proof_required":
            raise ProofRejected("missing", number)
        if verdict == "replayed":
            raise ProofRejected("replayed", view.pow_difficulty)
        if verdict == "busy":
            raise JoinBudgetSpent(math.ceil(number / 1000))
        if verdict == "closed":
            return Status(VisitState.CLOSED, None, poll_after=self._settings.poll_ceiling)
        if epoch == view.epoch:
            self._highest = (epoch, max(handed_out, number))
        if self._joins is not None:
            self._joins.inc()
        now = int(self.now())
        visitor = held.visitor if held is not None else secrets.token_urlsafe(12)
        ticket = Ticket(self.name, epoch, number, visitor, now, now)
        return self._waiting_status(ticket, view.position_of(number), view)

    async def status(self, ticket: Ticket) -> Status:
        """Where `ticket` stands; Redis is asked only when its turn has come."""
        status = self.poll(ticket)
        if status is not None:
            return status
        ticket, view = self._checked(ticket)
        position = view.position_of(ticket.number)
        assert position is not None  # poll() answers every ticket whose turn has not come
        return await self._claim(ticket, position)

    def poll(self, ticket: Ticket) -> Status | None:
        """Where `ticket` stands, from this process's view alone: None when its turn has come
        (then `status` asks Redis). Raises InvalidToken or StorageUnavailable as `status` does.
        The usual status poll: no await, nothing but arithmetic."""
        ticket, view = self._checked(ticket)
        position = view.position_of(ticket.number)
        if position is not None and position <= view.serving:
            return None
        return self._waiting_status(ticket, position, view)

    def _checked(self, ticket: Ticket) -> tuple[Ticket, RoomView]:
        """`ticket`, if still good here (with `seen_at` renewed now and then), and the view."""
        view = self.view()
        now = time.time() + view.clock_offset  # self.now(), on the view just checked
        if ticket.room != self.name:
            raise InvalidToken("another room")
        if ticket.epoch != view.epoch:
            raise InvalidToken("expired")
        # A ticket's seen_at is refreshed only every quarter of the keep-place time, so allow
        # that much slack before calling its holder silent.
        silent = now - ticket.seen_at
        keep = view.keep_place_seconds
        if silent > keep * 1.25:
            raise InvalidToken("expired")
        if silent > keep / 4:
            ticket = ticket._replace(seen_at=int(now))
        return ticket, view

    def _waiting_status(self, ticket: Ticket, position: int | None, view: RoomView) -> Status:
        settings = self._settings
        if view.usual and position is not None:
            # The usual poll, answered first: in line in an open room (view.eta, inlined).
            place = position - view.serving
            if place < 1:
                place = 1
            low = int(place / view.eta_fast * 0.9)
            # Far from the front, poll seldom; near it, often (a tenth of the expected wait).
            poll = min(settings.poll_ceiling, max(settings.poll_floor, low / 10))
            eta = (low, int(place / view.eta_slow * 1.1) + 2)
            return Status(_WAITING, ticket, place, eta, _jitter(poll))
        ceiling = settings.poll_ceiling
        if view.state is RoomState.CLOSED:
            return Status(VisitState.CLOSED, ticket, poll_after=_jitter(ceiling))
        if view.sold_out:
            return Status(VisitState.SOLD_OUT, ticket, poll_after=_jitter(ceiling))
        if position is None:
            until_start = (view.event_starts_ms or 0) / 1000 - self.now()
            poll = min(ceiling, max(1.0, until_start / 2))
            return Status(VisitState.PREQUEUE, ticket, poll_after=_jitter(poll))
        place = max(1, position - view.serving)
        if view.state is RoomState.PAUSED:
            return Status(VisitState.PAUSED, ticket, place, poll_after=_jitter(ceiling / 3))
        if view.state is RoomState.QUEUE_ALL:
            # Everyone queues: the place is known, the wait is not (nobody goes in until resumed).
            return Status(VisitState.WAITING, ticket, place, poll_after=_jitter(ceiling / 3))
        raise AssertionError(f"room state {view.state} not handled")  # every state is above

    async def _claim(self, ticket: Ticket, position: int) -> Status:
        verdict, expires_ms, admitted_ms = await self._counted(
            "claim", self._scripts.claim(self.keys, ticket.epoch, position)
        )
        if verdict == "claimed" and self._metrics:
            self._metrics.claimed.labels(self.name).inc()
        if verdict in ("claimed", "admitted"):
            admission = Admission(
                room=self.name,
                epoch=ticket.epoch,
                visitor=ticket.visitor,
                ticket_number=ticket.number,
                position=position,
                issued_at=admitted_ms // 1000,
                expires_at=expires_ms // 1000,
            )
            return Status(VisitState.ADMITTED, ticket, 0, (0, 0), 0.0, admission)
        if verdict == "scheduled":
            # The turn is booked for a moment from now: come back then, not before (a little
            # after, so that this process's estimate of Redis's clock cannot make it too early).
            wait = max(0.0, admitted_ms / 1000 - self.now())
            return Status(
                VisitState.WAITING, ticket, 1, (0, math.ceil(wait)), math.ceil(wait * 100 + 5) / 100
            )
        if verdict == "spent":
            raise InvalidToken("spent")
        if verdict == "gone":
            raise InvalidToken("expired")
        if verdict == RoomState.QUEUE_ALL:
            # Offered before the room queued everyone: held at the front until resumed.
            floor = self._settings.poll_floor
            return Status(VisitState.WAITING, ticket, 1, poll_after=_jitter(floor))
        if verdict in ("full", "waiting"):
            # Offered but held at the front by the cap: next in line.
            floor = self._settings.poll_floor
            return Status(VisitState.WAITING, ticket, 1, (0, math.ceil(floor)), _jitter(floor))
        return Status(VisitState(verdict), ticket, 1, poll_after=_jitter(self._settings.poll_floor))

    def _current_admission(self, text: str) -> Admission:
        """The admission a token carries if it is of this room, this epoch and not past its
        end (else InvalidToken); whether its session still holds needs Redis."""
        admission = self.signer.read_admission(text)
        if admission.room != self.name:
            raise InvalidToken("another room")
        if admission.epoch != self.view().epoch or admission.expires_at <= self.now():
            raise InvalidToken("expired")
        return admission

    async def check_admission(self, text: str) -> Admission:
        """The live admission behind a token; raises InvalidToken unless its session still holds."""
        admission = self._current_admission(text)
        session = self._client.zscore(self.keys.sessions, admission.token_id)
        expires = await self._counted("session", _wrapped(session))
        if not isinstance(expires, float) or expires <= self.now() * 1000:
            raise InvalidToken("revoked")
        return admission

    async def holding(
        self,
        text: str,
        ticket_text: str | None,
        also_read: str | None = None,
        *,
        bind: bool = False,
    ) -> Holding:
        """The admission behind `text`, which must come with the ticket it was claimed with (else
        NotYours): whether its session is live and the account it is bound to, in one script
        call, which also reads the key `also_read` (the gate's login session, whose value is an
        account) and, with `bind`, binds a live unbound admission to that account at once (a
        refusal in `refused`). On a cluster the login is read first, in a call of its own (it
        lives in another slot). The owner is told even after the session ended, so a copy
        hears it is a copy."""
        admission = self._current_admission(text)
        if not self._claimed_with(admission, ticket_text):
            raise NotYours("the admission was claimed with another ticket")
        login_key, account = also_read, ""
        if also_read is not None and self._cluster:
            login = self._client.get(also_read)
            account = _text(await self._counted("session", _wrapped(login))) or ""
            login_key = None
        hold = self._scripts.hold(
            self.keys,
            admission.epoch,
            admission.token_id,
            login_key=login_key,
            account=account,
            bind=bind,
        )
        expires, owner, found, verdict, until = await self._counted("session", hold)
        live = expires > self.now() * 1000
        finished = owner.endswith(FINISHED)
        refused = (
            TurnRefused(verdict, until / 1000 if until else None)
            if verdict[:5] == "turn_"
            else None
        )
        also = (found or None) if also_read is not None else None
        return Holding(
            admission, live, owner.removesuffix(FINISHED) or None, finished, also, refused
        )

    def _claimed_with(self, admission: Admission, ticket_text: str | None) -> bool:
        """Whether `ticket_text` is the ticket `admission` was claimed with (a check of its
        signature and fields: no Redis)."""
        if not ticket_text:
            return False
        try:
            ticket = self.signer.read_ticket(ticket_text)
        except (InvalidToken, MalformedToken):
            return False
        return (ticket.room, ticket.epoch, ticket.visitor, ticket.number) == (
            admission.room,
            admission.epoch,
            admission.visitor,
            admission.ticket_number,
        )

    async def bind(self, admission: Admission, account: str) -> None:
        """Make `admission` the turn of `account`, atomically: raises NotYours when another
        account took it first, TurnRefused when the account holds another live turn or used its
        turns this epoch, InvalidToken when the session has ended."""
        hold = self._scripts.hold(
            self.keys, admission.epoch, admission.token_id, account=account, bind=True
        )
        expires, owner, _, verdict, until = await self._counted("bind", hold)
        if verdict == "bound":
            return
        if verdict:
            raise TurnRefused(verdict, until / 1000 if until else None)
        # Nothing bound: the session has ended, or the admission has an owner already.
        if expires <= self.now() * 1000 or not owner or owner.endswith(FINISHED):
            raise InvalidToken("revoked")
        if owner != account:
            raise NotYours("the admission is another account's turn")

    async def finish(self, admission: Admission, account: str) -> None:
        """End `account`'s turn because its work is done (its booking made): the place goes
        back to the line at once, and a late copy of the same request is told the turn was
        used rather than lost."""
        keep_ms = max(1, int(admission.expires_at - self.now()) + 60) * 1000
        finish = self._scripts.finish(
            self.keys, admission.epoch, admission.token_id, account, FINISHED, keep_ms
        )
        await self._counted("release", finish)

    async def release(self, token_id: str) -> bool:
        """End a session now, freeing its place (also how an operator revokes a token)."""
        removed = await self._counted(
            "release", _wrapped(self._client.zrem(self.keys.sessions, token_id))
        )
        return bool(removed)

    async def configure(self, fields: dict[str, str], *, new_cohort: bool = False) -> Changed:
        """Change settings at run time; `new_cohort` opens a fresh pre-queue with a new seed.
        Returns the fields' previous values (read atomically with the change) and its number."""
        seed = secrets.token_hex(16) if new_cohort else ""
        done = await self._scripts.configure(self.keys, fields, create=False, new_seed=seed)
        if done is None:
            raise UnknownRoom(self.name)
        await self.refresh()
        return Changed(*done)

    async def set_inventory(self, remaining: int | None) -> None:
        """Tell the room how much is left to book (None: unknown); 0 turns waiters away at once."""
        await self.configure({"inventory": "" if remaining is None else str(max(0, remaining))})

    def public_state(self) -> dict[str, object]:
        """What anyone may know about the room, including the audit trail of the shuffle."""
        view = self.view()
        starts = view.event_starts_ms
        return {
            "room": self.name,
            "state": view.state.value,
            "waiting": view.waiting,
            "active": view.active,
            "rate_per_minute": view.rate_per_minute,
            "event_starts_at": _iso(starts / 1000) if starts is not None else None,
            "admitted_last_minute": view.admitted_last_minute,
            "no_show_share": round(view.noshow, 3),
            "sold_out": view.sold_out,
            "shuffle": {
                "commitment": commitment(view.seed),
                # The seed is revealed only once the cohort is fixed, so nobody can game it.
                "seed": view.seed if view.cohort_hi is not None else None,
                "cohort_first": view.cohort_lo + 1,
                "cohort_last": view.cohort_hi,
            },
        }

    def settings_state(self) -> dict[str, object]:
        """The operator's view: every setting plus the public state."""
        view = self.view()
        return self.public_state() | {
            "burst": view.burst,
            "max_active": view.max_active,
            "session_minutes": view.session_seconds / 60,
            "keep_place_seconds": view.keep_place_seconds,
            "turns_per_account": view.turns_per_account,
            "inventory": view.inventory,
            "arrivals": view.arrivals,
            "serving": view.serving,
            "pow_difficulty": view.pow_difficulty,
            "joins_per_minute_per_client": view.joins_per_minute_per_client,
        }

    async def _counted(self, operation: str, call: Awaitable[T]) -> T:
        """Await a Redis call, counting its failure before it fails the request closed."""
        try:
            return await call
        except StorageUnavailable:
            if self._metrics:
                self._metrics.redis_errors.labels(self.name, operation).inc()
            raise


async def _wrapped(call: Awaitable[T]) -> T:
    """A plain client call with driver errors turned into StorageUnavailable."""
    try:
        return await call
    except RedisError as exc:
        raise StorageUnavailable(str(exc)) from exc


def _text(value: object) -> str | None:
    """A Redis reply as text (clients may or may not decode)."""
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _jitter(seconds: float) -> float:
    """Spread polls so that visitors who joined together do not return together (in
    hundredths of a second: int() of the scaled value, a fifth of round(x, 2)'s cost)."""
    return int(seconds * (85.0 + 30.0 * random.random()) + 0.5) / 100


def _iso(unix: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))
