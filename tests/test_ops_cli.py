"""`antri rooms …` and `antri events …` against a running app, with an operator's API token."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient

from api.appkeys import ENGINE, SETTINGS

from .conftest import AppFactory
from .operator_support import token_for
from .test_audit import audit_rows
from .test_operators import ANTRI


async def cli(client: TestClient, token: str, *args: str) -> tuple[int, str, str]:
    """Run the real `antri` against the test app: (status, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTRI_")}
    env |= {"ANTRI_API_TOKEN": token, "ANTRI_URL": str(client.make_url("/"))}
    process = await asyncio.create_subprocess_exec(
        ANTRI, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_rooms_from_the_command_line(make_client: AppFactory) -> None:
    client = await make_client()
    room = client.server.app[SETTINGS].guard_room
    token = await token_for(client, "operator")
    status, out, err = await cli(client, token, "rooms", "list")
    assert status == 0 and room in out and "open" in out, err
    status, out, _ = await cli(client, token, "rooms", "show", room, "--json")
    assert status == 0 and json.loads(out)["room"] == room
    status, out, err = await cli(client, token, "rooms", "set", room, "rate=150", "cap=40",
                                 "--reason", "Rilis Senin")  # fmt: skip
    assert status == 0, err
    view = client.server.app[ENGINE].room(room).view()
    assert (view.rate_per_minute, view.max_active) == (150, 40)
    for action, state in (("pause", "paused"), ("queue-all", "queue_all"), ("close", "closed"),
                          ("resume", "open")):  # fmt: skip
        status, out, err = await cli(client, token, "rooms", action, room, "--reason", action)
        assert status == 0 and state in out, (action, err)
    reasons = [r["reason"] for r in await audit_rows(client) if r["target"] == f"room:{room}"]
    assert reasons == ["Rilis Senin", "pause", "queue-all", "close", "resume"]
    # Clear one-line errors: bad values, unknown room, no token, a viewer's token, no server.
    for args, words in (
        (["rooms", "set", room, "rate=0", "--reason", "x"], "422"),
        (["rooms", "set", room, "speed=3", "--reason", "x"], "NAME=VALUE"),
        (["rooms", "show", "nope"], "404"),
    ):
        status, out, err = await cli(client, token, *args)
        assert status == 1 and words in err and "Traceback" not in err, (args, err)
    status, _, err = await cli(client, "", "rooms", "list")
    assert status == 1 and "ANTRI_API_TOKEN" in err
    viewer = await token_for(client, "viewer")
    status, _, err = await cli(client, viewer, "rooms", "pause", room, "--reason", "x")
    assert status == 1 and "403" in err
    status, _, err = await cli(client, token, "rooms", "list", "--url", "http://127.0.0.1:1")
    assert status == 1 and "cannot reach" in err


async def test_events_from_the_command_line(make_client: AppFactory) -> None:
    client = await make_client()
    room = client.server.app[SETTINGS].guard_room
    token = await token_for(client, "operator")
    status, out, _ = await cli(client, token, "events", "list")
    assert status == 0 and "no releases ahead" in out
    starts = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    status, out, err = await cli(
        client, token, "events", "add", "--room", room, "--label", "Tambahan", "--starts-at",
        starts, "--rate", "200", "--cap", "60", "--reason", "Kuota tambahan",
    )  # fmt: skip
    assert status == 0 and "Tambahan" in out and "scheduled" in out, err
    event_id = out.split()[0]
    status, out, err = await cli(client, token, "events", "hold", event_id, "--reason", "Tunda")
    assert status == 0 and "held" in out, err
    status, out, _ = await cli(client, token, "events", "list", "--json")
    assert json.loads(out)[0]["held"] is True
    status, out, err = await cli(client, token, "events", "hold", event_id, "--release",
                                 "--reason", "Lanjut")  # fmt: skip
    assert status == 0 and "scheduled" in out, err
    for args, words in (
        (["events", "add", "--room", room, "--label", "x", "--starts-at", "besok", "--rate",
          "1", "--cap", "1", "--reason", "x"], "starts_at"),
        (["events", "add", "--room", room, "--label", "x", "--starts-at", "2001-01-01T00:00Z",
          "--rate", "1", "--cap", "1", "--reason", "x"], "future"),
        (["events", "hold", "999999", "--reason", "x"], "404"),
    ):  # fmt: skip
        status, _, err = await cli(client, token, *args)
        assert status == 1 and words in err and "Traceback" not in err, (args, err)
    actions = [r["action"] for r in await audit_rows(client)]
    assert actions == ["release.add", "release.hold", "release.unhold"]
