"""A flash crowd at Antri's waiting room.

Applicants join the line, poll their status as the server asks (never waiting longer than
LOAD_POLL_CAP_SECONDS), use the session once admitted, release it and come back as someone new.
A few Refreshers only watch the room's public counters. The FlashCrowd shape brings LOAD_USERS
users within LOAD_RAMP_SECONDS, holds them for LOAD_HOLD_SECONDS and then stops the test.

Run from the repository's root (`loadtests.run` does all of this and checks the results):

    locust -f loadtests/locustfile.py --headless --host http://127.0.0.1:8080

Every response body is checked: a 5xx, a connection error or a malformed body is a failure,
named so that Locust's failure table groups them ("HTTP 503", "malformed body: ...").
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

from locust import FastHttpUser, LoadTestShape, between, events, task
from locust.contrib.fasthttp import ResponseContextManager

from loadtests.checks import BadBody, json_object, number, retry_after, unexpected, visit_body
from loadtests.config import TALLY_FILE_ENV, LoadSettings
from loadtests.tally import TALLY, write

SETTINGS = LoadSettings.from_env()
ROOM_PATH = f"/api/v1/rooms/{SETTINGS.room}"
TICKET_HEADER = "X-Antri-Ticket"
#: the names under which Locust reports each request (one line per endpoint); also the paths
#: of the requests without a room in them
JOIN = "/api/v1/rooms/[room]/join"
STATUS = "/api/v1/rooms/[room]/status"
SESSION = "/api/v1/session"
RELEASE = "/api/v1/session/release"
ROOM = "/api/v1/rooms/[room]"


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

    def on_start(self) -> None:
        """Arrive as a new visitor."""
        self.new_visitor(pause=0.0)

    def wait_time(self) -> float:
        """How long this applicant waits before its next step, as the last answer decided."""
        return self.pause

    def new_visitor(self, pause: float) -> None:
        """Forget everything: no cookies, no ticket, no admission."""
        self.client.cookiejar.clear()
        self.ticket = self.position = self.admission = self.promised = None
        self.pause = pause

    @task
    def step(self) -> None:
        """One step of the visit: join, poll, or finish the form and leave."""
        if self.admission is not None:
            self.release()
            return
        if self.ticket is None:
            self.join()
        else:
            self.poll()
        if self.admission is not None:
            self.open_session()

    def join(self) -> None:
        """Take a place in line."""
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
        with self.client.post(
            RELEASE, headers=self.bearer(), name=RELEASE, catch_response=True
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
        """The admission token as an Authorization header."""
        return {"Authorization": f"Bearer {self.admission}"}


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


@events.request.add_listener
def _count_status(name: str, response: Any = None, **_: Any) -> None:
    """Tally every response by request name and status code."""
    TALLY.response(name, getattr(response, "status_code", 0) if response is not None else 0)


@events.quitting.add_listener
def _write_tally(environment: Any, **_: Any) -> None:
    """Leave the tally and the final stats where `loadtests.run` can read them."""
    if path := os.environ.get(TALLY_FILE_ENV):
        write(Path(path), environment.stats)
