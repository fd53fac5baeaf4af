"""A flash crowd at Antri's waiting room, and the bookings of those it admits.

Applicants join the line, poll their status as the server asks (never waiting longer than
LOAD_POLL_CAP_SECONDS), use the session once admitted, release it and come back as someone new.
Once admitted, an applicant fills the form and books a reguler place at LOAD_OFFICE: it logs in
(once, with its own account, load<n>@antri.test, from its own loopback address), reads the
office's availability, books one of the earliest places left for a new person (a fresh NIK,
with an Idempotency-Key) and pays a share LOAD_PAY_SHARE of its bookings at the sandbox bank.
`409 slot_full` is an expected answer (the applicant reads the availability again, at most three
tries); when the office has nothing left, the applicant releases its session at once.
A few Refreshers only watch the room's public counters. The FlashCrowd shape brings LOAD_USERS
users within LOAD_RAMP_SECONDS, holds them for LOAD_HOLD_SECONDS and then stops the test.

Run from the repository's root (`loadtests.run` does all of this and checks the results):

    locust -f loadtests/locustfile.py --headless --host http://127.0.0.1:8080

Every response body is checked: a 5xx, a connection error or a malformed body is a failure,
named so that Locust's failure table groups them ("HTTP 503", "malformed body: ...").
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
from locust import FastHttpUser, LoadTestShape, between, events, task
from locust.contrib.fasthttp import ResponseContextManager
from locust.exception import CatchResponseError

from loadtests.applicants import BadAvailability, booking_body, error_code, open_places, pick
from loadtests.checks import BadBody, json_object, number, retry_after, unexpected, visit_body
from loadtests.config import TALLY_FILE_ENV, LoadSettings
from loadtests.tally import TALLY, write

SETTINGS = LoadSettings.from_env()
ROOM_PATH = f"/api/v1/rooms/{SETTINGS.room}"
TICKET_HEADER = "X-Antri-Ticket"
#: the names under which Locust reports each request (one line per endpoint); also the paths
#: of the requests without a room in them
HOME = "/"
JOIN = "/api/v1/rooms/[room]/join"
STATUS = "/api/v1/rooms/[room]/status"
SESSION = "/api/v1/session"
RELEASE = "/api/v1/session/release"
ROOM = "/api/v1/rooms/[room]"
LOGIN = "/api/v1/login"
AVAILABILITY = "/api/v1/offices/[office]/availability"
BOOKINGS = "/api/v1/bookings"
BOOKING = "/api/v1/bookings/[id]"
PAY = "/api/v1/payments/sandbox/pay"
#: refusals of a booking that are the crowd's fault of timing, not the server's (an account
#: holds one turn at a time: two applicants share one only when LOAD_USERS > LOAD_ACCOUNTS)
EXPECTED_REFUSALS = frozenset({"slot_full", "too_many_applicants", "turn_already_held"})
#: tries per admission (each after reading the availability again) before giving up
BOOKING_TRIES = 3
#: an account applies for at most this many people at a time (the server's rule)
MAX_PEOPLE = 5
#: the account number of each Applicant, in the order they start
_account_numbers = itertools.count()


class LoginPace:
    """At most LOAD_LOGINS_PER_SECOND logins start each second, in the order asked for; none
    is started that could not end before the crowd stops."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_at = 0.0
        self.ends_at = float("inf")

    def start(self) -> None:
        """The crowd starts now."""
        self.next_at = time.monotonic()
        self.ends_at = self.next_at + SETTINGS.duration - 2.0

    def wait_turn(self) -> bool:
        """Sleep until this login may start; False when its turn would come too late."""
        now = time.monotonic()
        turn = max(now, self.next_at)
        if turn > self.ends_at:
            return False
        self.next_at = turn + self.interval
        if turn > now:
            TALLY.events["logins paced"] += 1
            gevent.sleep(turn - now)
        return True


LOGINS = LoginPace(SETTINGS.logins_per_second)


def loopback_address(n: int) -> str:
    """A loopback address of its own for account n (all of 127/8 is this machine's): the
    server limits logins per client address, as phones behind a carrier's NAT share one."""
    return f"127.0.{n // 250 + 1}.{n % 250 + 2}"


class Applicant(FastHttpUser):
    """A visitor of the waiting room, from joining the line to leaving the booking form."""

    weight = 19
    connection_timeout = 5.0
    network_timeout = 10.0

    ticket: str | None = None  #: the ticket held, once joined
    position: int | None = None  #: the last place in line the server gave
    admission: str | None = None  #: the admission token, once admitted
    pause: float = 0.0  #: seconds until the next step
    joined_at: float = 0.0  #: time.monotonic() of the join
    promised: tuple[float, float] | None = None  #: the ETA range the join answer gave
    account: int = 0  #: the number n of the account load<n>@antri.test
    login_token: str | None = None  #: the login session, once logged in (kept across visits)
    booked: int = 0  #: bookings made with the account
    to_book: bool = False  #: admitted and the form not yet sent
    turn_used: bool = False  #: the turn made its booking, which ended it

    def on_start(self) -> None:
        """Arrive as a new visitor, with an account of one's own."""
        self.account = next(_account_numbers) % SETTINGS.accounts + 1
        self.new_visitor(pause=0.0)

    def wait_time(self) -> float:
        """How long this applicant waits before its next step, as the last answer decided."""
        return self.pause

    def new_visitor(self, pause: float) -> None:
        """Forget everything: no cookies, no ticket, no admission."""
        self.client.cookiejar.clear()
        self.ticket = self.position = self.admission = self.promised = None
        self.turn_used = False
        self.pause = pause

    @task
    def step(self) -> None:
        """One step of the visit: join, poll, send the form, or leave."""
        if self.admission is not None:
            if self.to_book:
                self.to_book = False
                if self.book():
                    self.pause = random.uniform(0.5, 2.0)  # reads the receipt, then leaves
                    return
            self.release()
            return
        if self.ticket is None:
            self.join()
        else:
            self.poll()
        if self.admission is not None:
            self.open_session()

    def join(self) -> None:
        """Arrive at the home page (fees, dates, the next release), then take a place in line:
        a release's stampede lands on the front door first."""
        with self.client.get(HOME, name=HOME, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"home page: {resp.status_code}")
        with self.client.post(f"{ROOM_PATH}/join", name=JOIN, catch_response=True) as resp:
            self.follow(resp, rejoin_on_401=False)

    def poll(self) -> None:
        """Ask where the ticket stands, as a browser tab in the waiting room does."""
        assert self.ticket is not None
        headers = {TICKET_HEADER: self.ticket}
        with self.client.get(
            f"{ROOM_PATH}/status", headers=headers, name=STATUS, catch_response=True
        ) as resp:
            self.follow(resp, rejoin_on_401=True)

    def follow(self, resp: ResponseContextManager, *, rejoin_on_401: bool) -> None:
        """Judge a join or status answer and decide the next step and the pause before it."""
        if rejoin_on_401 and resp.status_code == 401:
            resp.success()  # the ticket is no longer valid: the API says to join again
            TALLY.events["rejoins after 401"] += 1
            self.new_visitor(pause=0.0)
            return
        if message := unexpected(resp):
            resp.failure(message)
            self.pause = retry_after(resp, default=1.0, cap=SETTINGS.poll_cap_seconds)
            return
        try:
            body = visit_body(resp)
            position = body["position"]
            if position is not None and self.position is not None and position > self.position:
                raise BadBody(f"position went back from {self.position} to {position}")
        except BadBody as exc:
            resp.failure(f"malformed body: {exc}")
            self.pause = 1.0
            return
        if self.ticket is None:
            self.joined_at = time.monotonic()
            eta = body["eta_seconds"]
            self.promised = (eta["low"], eta["high"]) if eta else None
        self.ticket, self.position = body["ticket"], position
        if body["state"] == "admitted":
            self.admission = body["admission_token"]
            self.to_book = True
            self.pause = random.uniform(SETTINGS.form_min_seconds, SETTINGS.form_max_seconds)
            if self.promised is not None:
                TALLY.waits.append([round(time.monotonic() - self.joined_at, 2), *self.promised])
        else:
            self.pause = self.poll_pause(float(body["poll_after_seconds"]))

    def poll_pause(self, suggested: float) -> float:
        """The server's suggested pause before the next poll, within the cap."""
        TALLY.suggested_poll(suggested, SETTINGS.poll_cap_seconds)
        return min(max(suggested, 0.0), SETTINGS.poll_cap_seconds)

    def open_session(self) -> None:
        """Show the admitted session, as the booking form does when it opens."""
        with self.client.get(
            SESSION, headers=self.bearer(), name=SESSION, catch_response=True
        ) as resp:
            if message := unexpected(resp):
                resp.failure(message)
                return
            try:
                body = json_object(resp)
                if body.get("room") != SETTINGS.room or not isinstance(body.get("expires_at"), str):
                    raise BadBody("not this room's session")
            except BadBody as exc:
                resp.failure(f"malformed body: {exc}")
                return
        TALLY.events["admissions"] += 1

    def release(self) -> None:
        """Leave the booking flow, freeing the place, and come back later as someone new."""
        if self.turn_used:  # the booking ended the turn and freed the place already
            self.new_visitor(pause=random.uniform(0.0, 1.0))
            return
        # A turn that a booking attempt bound to the account is given back with its login.
        login = {"X-Session-Token": self.login_token} if self.login_token else {}
        with self.client.post(
            RELEASE, headers=self.bearer() | login, name=RELEASE, catch_response=True
        ) as resp:
            if message := unexpected(resp):
                resp.failure(message)
            else:
                try:
                    if json_object(resp).get("released") is not True:
                        raise BadBody("released is not true")
                except BadBody as exc:
                    resp.failure(f"malformed body: {exc}")
        self.new_visitor(pause=random.uniform(0.0, 1.0))

    def bearer(self) -> dict[str, str]:
        """The admission token as an Authorization header, with the ticket it was claimed with
        (an admission works only for its holder)."""
        return {"Authorization": f"Bearer {self.admission}", TICKET_HEADER: self.ticket or ""}

    def book(self) -> bool:
        """Send the form: pick a place, log in if not yet, book it, maybe pay. False when there
        is nothing to stay for (nothing left, or the login failed): the applicant leaves."""
        if self.booked >= MAX_PEOPLE:
            TALLY.events["accounts at their limit of people"] += 1
            return False
        for _ in range(BOOKING_TRIES):
            places = self.availability()
            if places is None:
                return False
            if not places:
                TALLY.events["left: the office had nothing left"] += 1
                return False
            # The availability is public; the login (an argon2 check) only once there is a
            # place to book, and once per applicant.
            if self.login_token is None and not self.login():
                return False
            outcome, receipt = self.create_booking(*pick(places))
            if receipt is not None and random.random() < SETTINGS.pay_share:
                self.pay(receipt["id"], receipt["billing_code"])
            if outcome != "slot_full":
                return True
        TALLY.events["gave up after slot_full"] += 1
        return True

    def login(self) -> bool:
        """Log in with the applicant's own account, from its own loopback address (a plain
        connection of its own, reported to Locust like any other request), in its turn."""
        if not LOGINS.wait_turn():
            TALLY.events["left: no login turn before the stop"] += 1
            return False
        target = urlsplit(self.host)
        payload = json.dumps(
            {
                "email": f"{SETTINGS.account_prefix}{self.account}@antri.test",
                "password": SETTINGS.account_password,
            }
        ).encode()
        connection = http.client.HTTPConnection(
            target.hostname or "127.0.0.1",
            target.port or 80,
            timeout=self.network_timeout,
            source_address=(loopback_address(self.account), 0),
        )
        started = time.perf_counter()
        status, content, failure = 0, b"", None
        try:
            connection.request(
                "POST", LOGIN, body=payload, headers={"Content-Type": "application/json"}
            )
            answer = connection.getresponse()
            status, content = answer.status, answer.read()
        except OSError as exc:
            failure = f"no response: {type(exc).__name__}"
        finally:
            connection.close()
        elapsed_ms = (time.perf_counter() - started) * 1000
        token = None
        if failure is None and status != 200:
            failure = f"HTTP {status} {error_code(content)}"
        elif failure is None:
            try:
                token = json.loads(content).get("session_token")
            except (ValueError, AttributeError):
                token = None
            if not isinstance(token, str):
                failure, token = "malformed body: no session_token", None
        self.environment.events.request.fire(
            request_type="POST",
            name=LOGIN,
            response_time=elapsed_ms,
            response_length=len(content),
            response=_Answered(status),
            context={},
            exception=CatchResponseError(failure) if failure else None,
            url=f"{self.host}{LOGIN}",
        )
        self.login_token = token
        return token is not None

    def availability(self) -> list[tuple[str, str]] | None:
        """The office's places left (earliest first), or None when the answer was no good."""
        with self.client.get(
            f"/api/v1/offices/{SETTINGS.office}/availability?days=30",
            name=AVAILABILITY,
            catch_response=True,
        ) as resp:
            if message := unexpected(resp):
                resp.failure(message)
                return None
            try:
                return open_places(json_object(resp))
            except (BadBody, BadAvailability) as exc:
                resp.failure(f"malformed body: {exc}")
                return None

    def create_booking(self, day: str, session_id: str) -> tuple[str, dict[str, Any] | None]:
        """POST the booking; a request without an answer is sent once more with the same
        Idempotency-Key. Returns "created" and the receipt, else the refusal's error code (or
        "failed") and None."""
        body = booking_body(SETTINGS.office, day, session_id)
        headers = self.bearer() | {
            "X-Session-Token": self.login_token or "",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        for attempt in (1, 2):
            with self.client.post(
                BOOKINGS, json=body, headers=headers, name=BOOKINGS, catch_response=True
            ) as resp:
                if resp.status_code == 0 and attempt == 1:
                    resp.failure(unexpected(resp) or "no response")
                    TALLY.events["bookings sent again with the same key"] += 1
                    continue
                return self.judge_booking(resp)
        return "failed", None

    def judge_booking(self, resp: ResponseContextManager) -> tuple[str, dict[str, Any] | None]:
        """Count a booking answer: the outcome, and the receipt of a new booking."""
        if resp.status_code == 409 and (code := error_code(resp.content)) in EXPECTED_REFUSALS:
            resp.success()
            TALLY.booking(f"409 {code}")
            return code, None
        if message := unexpected(resp):
            code = error_code(resp.content) if resp.status_code else ""
            resp.failure(f"{message} {code}".strip())
            TALLY.booking(f"{resp.status_code} {code}".strip())
            return "failed", None
        try:
            receipt = json_object(resp)
            if resp.status_code != 201 or receipt.get("status") != "awaiting_payment":
                raise BadBody(f"{resp.status_code} {receipt.get('status')}, not a new booking")
            if not isinstance(receipt.get("id"), str) or not isinstance(
                receipt.get("billing_code"), str
            ):
                raise BadBody("no id or billing_code")
        except BadBody as exc:
            resp.failure(f"malformed body: {exc}")
            TALLY.booking(f"{resp.status_code} malformed")
            return "failed", None
        TALLY.booking("201")
        TALLY.booked_ids.append(receipt["id"])
        self.booked += 1
        self.turn_used = True
        return "created", receipt

    def pay(self, booking_id: str, billing_code: str) -> None:
        """Pay at the sandbox bank, then read the booking back: it must be confirmed."""
        with self.client.post(
            PAY, json={"billing_code": billing_code}, name=PAY, catch_response=True
        ) as resp:
            if message := unexpected(resp):
                resp.failure(message)
                return
        TALLY.events["bookings paid"] += 1
        with self.client.get(
            f"{BOOKINGS}/{booking_id}",
            headers={"X-Session-Token": self.login_token or ""},
            name=BOOKING,
            catch_response=True,
        ) as resp:
            if message := unexpected(resp):
                resp.failure(message)
                return
            try:
                booking = json_object(resp)
                if booking.get("id") != booking_id or booking.get("status") != "confirmed":
                    raise BadBody(f"{booking.get('status')} after payment, not confirmed")
            except BadBody as exc:
                resp.failure(f"malformed body: {exc}")
                return
        TALLY.events["bookings confirmed when read back"] += 1


class _Answered:
    """What the request event's listeners need of a response made outside Locust's client."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


class Refresher(FastHttpUser):
    """Someone who keeps reloading the room's public counters without joining."""

    weight = 1
    wait_time = between(1.0, 3.0)
    connection_timeout = 5.0
    network_timeout = 10.0

    @task
    def look(self) -> None:
        """Read the room's public state."""
        with self.client.get(ROOM_PATH, name=ROOM, catch_response=True) as resp:
            if message := unexpected(resp):
                resp.failure(message)
                return
            try:
                body = json_object(resp)
                if body.get("room") != SETTINGS.room:
                    raise BadBody("another room")
                for key in ("waiting", "active", "rate_per_minute", "admitted_last_minute"):
                    number(body, key)
            except BadBody as exc:
                resp.failure(f"malformed body: {exc}")


class FlashCrowd(LoadTestShape):
    """All users arrive within the ramp, stay for the hold, and then the test stops itself."""

    def tick(self) -> tuple[int, float] | None:
        """The target user count now, or None when the test is over."""
        if self.get_run_time() >= SETTINGS.duration:
            return None
        return SETTINGS.users, SETTINGS.spawn_rate


@events.test_start.add_listener
def _start_pace(**_: Any) -> None:
    LOGINS.start()


@events.request.add_listener
def _count_status(name: str, response_time: float = 0.0, response: Any = None, **_: Any) -> None:
    """Tally every response by request name and status code, and note when it ended."""
    status = getattr(response, "status_code", 0) if response is not None else 0
    TALLY.response(name, status)
    TALLY.timeline.append((time.time(), name, response_time, status))


@events.quitting.add_listener
def _write_tally(environment: Any, **_: Any) -> None:
    """Leave the tally and the final stats where `loadtests.run` can read them."""
    if path := os.environ.get(TALLY_FILE_ENV):
        write(Path(path), environment.stats)
