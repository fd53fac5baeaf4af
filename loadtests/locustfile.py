"""Antri's waiting room under a crowd, and the bookings of those it admits: Locust's way.

    locust -f loadtests/locustfile.py --host https://staging.example   # the web UI
    locust -f loadtests/locustfile.py --headless -u 50 -r 10 -t 30s --host http://127.0.0.1:8080

Locust's `-u`, `-r`, `-t` (and the web UI's fields) are honoured; `--shape` picks another
shape (release with a pre-queue and a fair start, steady, soak, step-to-break: see
loadtests/shapes.py). `--processes N` and master/worker runs work: every user has its own
account and every booking its own NIK, across processes and across runs (`--run-id`, random by
default, picks the NIKs' region; see testkit.people).

Applicants join the line, poll their status as the server asks (never waiting longer than
LOAD_POLL_CAP_SECONDS), open the session once admitted, fill the form and book a reguler place
at LOAD_OFFICE: they log in (once, as <LOAD_ACCOUNT_PREFIX><n>@antri.test; against a loopback
host from a loopback address of their own, as the server limits logins per client address),
read the office's availability, book one of the earliest places left for a new person with an
Idempotency-Key, and pay a share LOAD_PAY_SHARE at the sandbox bank. `409 slot_full` is an
expected answer (three tries); with nothing left the applicant releases at once. Without test
accounts on the server (the first login refused as bad credentials, or LOAD_ACCOUNTS=0) the
crowd only joins, polls, claims and releases, and says once how to make accounts. A few
Refreshers only watch the room's public counters.

Every response body is checked: a 5xx, a connection error or a malformed body is a failure,
named so that Locust's failure table groups them ("HTTP 503", "malformed body: ...").
"""

from __future__ import annotations

import http.client
import ipaddress
import itertools
import json
import logging
import os
import random
import ssl
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
from locust import FastHttpUser, LoadTestShape, between, events, task
from locust.contrib.fasthttp import ResponseContextManager
from locust.exception import CatchResponseError
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import calculate_response_time_percentile, diff_response_time_dicts

from loadtests.applicants import BadAvailability, booking_body, error_code, open_places, pick
from loadtests.checks import BadBody, json_object, number, retry_after, unexpected, visit_body
from loadtests.config import TALLY_FILE_ENV, LoadSettings
from loadtests.shapes import SHAPES, Breaking, Plan
from loadtests.tally import TALLY, write
from queue_engine.proof import solution
from testkit.people import REGIONS, Person, crowd_person

log = logging.getLogger("antri.load")

SETTINGS = LoadSettings.from_env()
ROOM_PATH = f"/api/v1/rooms/{SETTINGS.room}"
TICKET_HEADER = "X-Antri-Ticket"
PROOF_HEADER = "X-Antri-Proof"
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
#: the Applicants of this process, in the order they start
_user_numbers = itertools.count()
#: the people this process has booked for
_people = itertools.count()


class Crowd:
    """Who this process is among the run's processes: the run id (the master's, sent to its
    workers with the other custom arguments), this worker's index and how many workers there
    are; and whether the server has test accounts to book with."""

    def __init__(self) -> None:
        self.environment: Any = None
        self.booking = SETTINGS.accounts > 0
        self.said: set[str] = set()
        self.paying = True  #: until the server turns out to have no sandbox bank

    def identity(self) -> tuple[int, int, int]:
        """(run id, worker index, worker count) as known now."""
        runner = self.environment.runner if self.environment else None
        options = self.environment.parsed_options if self.environment else None
        run = int(getattr(options, "run_id", 0) or 0)
        if isinstance(runner, WorkerRunner):
            workers = max(int(getattr(options, "expect_workers", 1) or 1), runner.worker_index + 1)
            return run, max(runner.worker_index, 0), workers
        return run, 0, 1

    def account(self, user: int) -> int:
        """The account number of this process's `user`-th Applicant: interleaved with the other
        workers', so that no two users share one while the accounts last; the run id moves the
        first, so that runs one after another use other accounts where there are enough."""
        run, worker, workers = self.identity()
        return (run + worker + workers * user) % max(SETTINGS.accounts, 1) + 1

    def person(self) -> Person:
        """A person nobody in this run, another worker or an earlier run has booked for."""
        run, worker, _ = self.identity()
        return crowd_person(run, worker, next(_people))

    def say_once(self, topic: str, message: str) -> None:
        """Log `message` once per process, and keep it for the tally."""
        if topic not in self.said:
            self.said.add(topic)
            log.warning(message)
            TALLY.notes.append(message)

    def no_accounts(self, why: str) -> None:
        """Turn booking off for this process, and say so once."""
        self.booking = False
        self.say_once(
            "accounts",
            f"booking skipped: {why}. The crowd only joins, polls, claims and releases. "
            "To book, make test accounts: `antri accounts bulk-create --count N --prefix "
            f"{SETTINGS.account_prefix} --password P` on the server's database, or "
            "`python -m loadtests.accounts create --url URL --count N --password P` against "
            "an instance started with ANTRI_LOAD_TEST_ACCOUNTS=1 (admin token in "
            "ANTRI_ADMIN_TOKEN); then set LOAD_ACCOUNTS=N and LOAD_ACCOUNT_PASSWORD=P here.",
        )


CROWD = Crowd()


class LoginPace:
    """At most LOAD_LOGINS_PER_SECOND logins start each second, in the order asked for; none
    is started that could not end before the crowd stops."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_at = 0.0
        self.ends_at = float("inf")

    def start(self, duration: float | None) -> None:
        """The crowd starts now, for `duration` seconds (None: until stopped)."""
        self.next_at = time.monotonic()
        self.ends_at = self.next_at + duration - 2.0 if duration else float("inf")

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


def is_loopback(host: str) -> bool:
    """Whether the URL's host is this machine (the source-address trick works only there)."""
    name = urlsplit(host).hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback and ":" not in name
    except ValueError:
        return False


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
    account: int = 0  #: the number n of the account <prefix><n>@antri.test
    arrived: float = 0.0  #: when this applicant first came (epoch seconds)
    login_token: str | None = None  #: the login session, once logged in (kept across visits)
    booked: int = 0  #: bookings made with the account
    to_book: bool = False  #: admitted and the form not yet sent
    turn_used: bool = False  #: the turn made its booking, which ended it

    def on_start(self) -> None:
        """Arrive as a new visitor, with an account of one's own."""
        self.account = CROWD.account(next(_user_numbers))
        self.arrived = time.time()
        TALLY.arrivals.append(self.arrived)
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
                if CROWD.booking and self.book():
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
        proof: dict[str, str] | None = None
        for _ in range(2):
            with self.client.post(
                f"{ROOM_PATH}/join", headers=proof, name=JOIN, catch_response=True
            ) as resp:
                code = error_code(resp.content) if resp.status_code in (428, 429) else ""
                if code == "proof_required" and proof is None:
                    resp.success()  # the protocol: solve the challenge given, join again
                    proof = self.solve(resp)
                    if proof is not None:
                        continue
                if code == "too_many_joins":
                    resp.success()  # the room's per-address budget, not the server failing
                    TALLY.events["joins refused: the address's budget"] += 1
                    CROWD.say_once(
                        "joins",
                        "the room limits joins per client address and the crowd comes from "
                        "one: set joins_per_minute_per_client to 0 for the test (PATCH "
                        f"/api/v1/admin/rooms/{SETTINGS.room}); the crowd waits as told",
                    )
                    self.pause = retry_after(resp, default=5.0, cap=60.0)
                    return
                self.follow(resp, rejoin_on_401=False)
                return

    def solve(self, resp: ResponseContextManager) -> dict[str, str] | None:
        """Solve the proof of work a 428 asks for, as the waiting page's Web Worker does (the
        reference solver: about 0.7 s of this process's CPU at difficulty 18)."""
        try:
            body = json_object(resp)
            challenge, difficulty = str(body["challenge"]), int(body["difficulty"])
        except (BadBody, KeyError, TypeError, ValueError):
            resp.failure("malformed body: a 428 without a challenge")
            return None
        CROWD.say_once(
            "proof",
            f"the room asks for a proof of work (difficulty {difficulty}): the crowd solves "
            "each in Python, which slows it; set pow_difficulty to 0 for the test (PATCH "
            f"/api/v1/admin/rooms/{SETTINGS.room}) to measure the server, not the solver",
        )
        TALLY.events["proofs solved"] += 1
        return {PROOF_HEADER: solution(challenge, difficulty)}

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
            if receipt is not None and CROWD.paying and random.random() < SETTINGS.pay_share:
                self.pay(receipt["id"], receipt["billing_code"])
            if outcome != "slot_full":
                return True
        TALLY.events["gave up after slot_full"] += 1
        return True

    def login(self) -> bool:
        """Log in with the applicant's own account, in its turn: against a loopback host from
        a loopback address of its own (a plain connection, reported to Locust like any other
        request), elsewhere through Locust's client. A refusal as bad credentials means the
        server has no such test account: booking is turned off (once), not failed."""
        if not LOGINS.wait_turn():
            TALLY.events["left: no login turn before the stop"] += 1
            return False
        payload = json.dumps(
            {
                "email": f"{SETTINGS.account_prefix}{self.account}@antri.test",
                "password": SETTINGS.account_password,
            }
        ).encode()
        if is_loopback(self.host):
            status, content, failure = self.login_from_own_address(payload)
            token, failure = self.judge_login(status, content, failure)
            self.environment.events.request.fire(
                request_type="POST",
                name=LOGIN,
                response_time=self.login_ms,
                response_length=len(content),
                response=_Answered(status),
                context={},
                exception=CatchResponseError(failure) if failure else None,
                url=f"{self.host}{LOGIN}",
            )
        else:
            headers = {"Content-Type": "application/json"}
            with self.client.post(
                LOGIN, data=payload, headers=headers, name=LOGIN, catch_response=True
            ) as resp:
                failure = unexpected(resp) if resp.status_code in (0, 500, 502, 503) else None
                token, failure = self.judge_login(resp.status_code, resp.content or b"", failure)
                if failure:
                    resp.failure(failure)
                else:
                    resp.success()
        self.login_token = token
        return token is not None

    login_ms: float = 0.0  #: how long the last login from an own address took

    def login_from_own_address(self, payload: bytes) -> tuple[int, bytes, str | None]:
        """POST the login over a connection bound to this account's loopback address."""
        target = urlsplit(self.host)
        source = (loopback_address(self.account), 0)
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            connection = http.client.HTTPSConnection(
                target.hostname or "127.0.0.1",
                target.port or 443,
                timeout=self.network_timeout,
                source_address=source,
                context=ssl._create_unverified_context(),  # a loopback test server's own cert
            )
        else:
            connection = http.client.HTTPConnection(
                target.hostname or "127.0.0.1",
                target.port or 80,
                timeout=self.network_timeout,
                source_address=source,
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
        self.login_ms = (time.perf_counter() - started) * 1000
        return status, content, failure

    def judge_login(
        self, status: int, content: bytes, failure: str | None
    ) -> tuple[str | None, str | None]:
        """The session token of a login answer, or the failure to report (None when the
        answer says only that the server has no test accounts)."""
        if failure is not None:
            return None, failure
        if status == 401 and error_code(content) == "bad_credentials":
            CROWD.no_accounts(
                f"{self.host} refused {SETTINGS.account_prefix}{self.account}@antri.test "
                "(401 bad_credentials: no such test account, or another password)"
            )
            return None, None
        if status != 200:
            return None, f"HTTP {status} {error_code(content)}"
        try:
            token = json.loads(content).get("session_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str):
            return None, "malformed body: no session_token"
        return token, None

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
        body = booking_body(SETTINGS.office, day, session_id, CROWD.person())
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
        TALLY.placed.append(self.arrived)
        self.booked += 1
        self.turn_used = True
        return "created", receipt

    def pay(self, booking_id: str, billing_code: str) -> None:
        """Pay at the sandbox bank, then read the booking back: it must be confirmed."""
        with self.client.post(
            PAY, json={"billing_code": billing_code}, name=PAY, catch_response=True
        ) as resp:
            if resp.status_code == 404 and error_code(resp.content) == "not_found":
                resp.success()  # no sandbox bank on this server (ANTRI_SANDBOX_PAYMENTS off)
                CROWD.paying = False
                CROWD.say_once(
                    "bank",
                    "no sandbox bank on this server (ANTRI_SANDBOX_PAYMENTS is off): bookings "
                    "are left unpaid (they expire, or `loadtests.accounts clean` removes them)",
                )
                return
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


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    """The crowd's own options: shown in the web UI, sent by a master to its workers."""
    group = parser  # (argument groups know nothing of the web UI's options)
    group.add_argument(
        "--shape",
        choices=SHAPES,
        default="none",
        help="none: -u/-r/-t as given; release (pre-queue, fair start), steady, soak, step "
        "(step-to-break): see loadtests/shapes.py",
    )
    group.add_argument(
        "--prequeue",
        type=float,
        default=30.0,
        help="release: seconds of pre-queue before the start",
    )
    group.add_argument("--step-users", type=int, default=10, help="step: users added per step")
    group.add_argument("--step-seconds", type=float, default=30.0, help="step: seconds a step")
    group.add_argument(
        "--error-budget",
        type=float,
        default=1.0,
        help="step: percent of a step's requests that may fail",
    )
    group.add_argument(
        "--p99-budget-ms",
        type=float,
        default=1000.0,
        help="step: the p99 (all requests, last seconds) a step may reach",
    )
    group.add_argument(
        "--admin-token",
        default=os.environ.get("LOAD_ADMIN_TOKEN", ""),
        is_secret=True,
        help="release: the operator's token, to set the room's start after the pre-queue",
    )
    group.add_argument(
        "--prometheus-port",
        type=int,
        default=0,
        include_in_web_ui=False,
        help="serve the run's stats for Prometheus on 127.0.0.1:PORT/metrics (0: off)",
    )
    group.add_argument(
        "--run-id", type=int, default=random.randrange(REGIONS), include_in_web_ui=False,
        help="numbers this run's NIKs (random: repeated runs on one database do not collide)",
    )  # fmt: skip


def plan_of(options: Any) -> Plan:
    """The shape's plan from Locust's options (the web UI writes its fields into them)."""
    return Plan(
        shape=options.shape or "none",
        users=int(options.num_users or 1),
        spawn_rate=float(options.spawn_rate or 1),
        run_time=float(options.run_time) if options.run_time else None,
        prequeue=float(options.prequeue),
        step_users=int(options.step_users),
        step_seconds=float(options.step_seconds),
        error_budget_percent=float(options.error_budget),
        p99_budget_ms=float(options.p99_budget_ms),
    )


class Chosen(LoadTestShape):
    """The shape `--shape` names; with none, Locust's -u/-r/-t exactly (use_common_options)."""

    use_common_options = True
    plan: Plan | None = None
    judge: Breaking | None = None

    def reset_time(self) -> None:
        """A new test starts (headless, or the web UI's start button): read the plan anew."""
        super().reset_time()
        self.plan = self.judge = None
        self.step_times = None

    def tick(self) -> tuple[int, float] | None:
        """The target user count now, or None when the test is over."""
        assert self.runner is not None
        environment = self.runner.environment
        if self.plan is None:
            self.plan = plan_of(environment.parsed_options)
            self.judge = Breaking(self.plan) if self.plan.shape == "step" else None
            if self.plan.shape == "release":
                open_release(environment, self.plan)
        elapsed = self.get_run_time()
        if self.judge is not None and self.judge.due(elapsed):
            total = environment.stats.total
            p99 = self.step_p99(total)
            users = self.get_current_user_count()
            if self.judge.observe(elapsed, users, total.num_requests, total.num_failures, p99):
                return None
        return self.plan.target(elapsed)

    #: all requests' response times (Locust's rounded ms -> count) when the step began
    step_times: dict[int, int] | None = None

    def step_p99(self, total: Any) -> float | None:
        """The p99 of the requests of the step that just ended (all requests' times now less
        those when it began), and the start of the next one."""
        before = self.step_times or {}
        times = dict(total.response_times)
        self.step_times = times
        step = diff_response_time_dicts(times, before)
        count = sum(step.values())
        return float(calculate_response_time_percentile(step, count, 0.99)) if count else None


def open_release(environment: Any, plan: Plan) -> None:
    """Set the room's start to the end of the pre-queue (with the admin token): the room holds
    the crowd in its pre-queue and draws their order fairly at the start."""
    token = environment.parsed_options.admin_token
    if not token:
        note = (
            "release: no --admin-token (LOAD_ADMIN_TOKEN), so the room's start was not set; "
            "the crowd arrives over the pre-queue as a flash crowd (set event_starts_at with "
            "PATCH /api/v1/admin/rooms/{room} for a pre-queue and a fair start)"
        )
        log.warning(note)
        TALLY.notes.append(note)
        return
    starts = datetime.now(UTC) + timedelta(seconds=plan.prequeue)
    url = f"{environment.host}/api/v1/admin/rooms/{SETTINGS.room}"
    request = urllib.request.Request(
        url,
        data=json.dumps({"event_starts_at": starts.isoformat(timespec="seconds")}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="PATCH",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
        note = f"release: the room {SETTINGS.room} starts at {starts:%H:%M:%S} UTC"
    except OSError as exc:
        note = f"release: could not set the room's start ({exc}); a flash crowd instead"
    log.warning(note)
    TALLY.notes.append(note)


@events.init.add_listener
def _export(environment: Any, **_: Any) -> None:
    """Serve the run's stats for Prometheus when asked, from the master (or the only) process."""
    port = getattr(environment.parsed_options, "prometheus_port", 0)
    if port and not isinstance(environment.runner, WorkerRunner):
        from loadtests.prometheus import serve

        serve(environment, port)
        log.warning(f"Locust's stats for Prometheus on http://127.0.0.1:{port}/metrics")


@events.test_start.add_listener
def _start(environment: Any, **_: Any) -> None:
    """Know the environment; on the master (or alone) start the login pace's clock."""
    CROWD.environment = environment
    plan = plan_of(environment.parsed_options) if environment.parsed_options else None
    LOGINS.start(plan.duration if plan else None)
    if SETTINGS.accounts <= 0 and not isinstance(environment.runner, MasterRunner):
        CROWD.no_accounts("LOAD_ACCOUNTS is 0")


@events.test_stop.add_listener
def _say_break_point(environment: Any, **_: Any) -> None:
    """Step-to-break: the point where the run broke (or that it did not), in the log."""
    shape = environment.shape_class
    if isinstance(shape, Chosen) and shape.judge is not None:
        verdict = shape.judge.final()
        log.warning(verdict)
        TALLY.notes.append(verdict)


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
