"""`antri rooms …` and `antri events …`: the console's room and release controls for scripts,
against any Antri over its JSON API, with an operator's API token (`antri operators token`).

The token comes from ANTRI_API_TOKEN (never an argument: it would show in `ps`), the address
from --url or ANTRI_URL. Plain standard library HTTP: no event loop, no extra dependency.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

TOKEN_VARIABLE = "ANTRI_API_TOKEN"
URL_VARIABLE = "ANTRI_URL"
DEFAULT_URL = "http://127.0.0.1:8080"
#: `antri rooms set` names → the API's fields
SETTABLE = {
    "rate": "rate_per_minute",
    "burst": "burst",
    "cap": "max_active",
    "session-minutes": "session_minutes",
    "pow": "pow_difficulty",
}


class CliError(Exception):
    """A failure to report on one line."""


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `rooms` and `events` commands."""

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--url", help=f"Antri's address ({URL_VARIABLE}, default {DEFAULT_URL})"
        )
        parser.add_argument("--json", action="store_true", help="print the API's JSON")

    rooms = sub.add_parser("rooms", help="list and steer waiting rooms (ANTRI_API_TOKEN)")
    room_actions = rooms.add_subparsers(dest="action", required=True)
    common(room_actions.add_parser("list", help="every room, one line each"))
    show = room_actions.add_parser("show", help="one room's settings and counters")
    show.add_argument("room")
    common(show)
    setter = room_actions.add_parser("set", help="change limits: rate=120 cap=300 …")
    setter.add_argument("room")
    setter.add_argument("changes", nargs="+", metavar="NAME=VALUE",
                        help="names: " + ", ".join(SETTABLE))  # fmt: skip
    setter.add_argument("--reason", required=True)
    common(setter)
    for name, help_text in (
        ("pause", "nobody let in; visitors told the line is paused"),
        ("resume", "open the room again"),
        ("close", "no joins, nobody let in"),
        ("queue-all", "joins continue, nobody let in until resumed"),
    ):
        action = room_actions.add_parser(name, help=help_text)
        action.add_argument("room")
        action.add_argument("--reason", required=True)
        common(action)

    events = sub.add_parser("events", help="release events (ANTRI_API_TOKEN)")
    event_actions = events.add_subparsers(dest="action", required=True)
    common(event_actions.add_parser("list", help="the releases of the next two weeks"))
    add = event_actions.add_parser("add", help="a one-off release")
    add.add_argument("--room", required=True)
    add.add_argument("--label", required=True)
    add.add_argument("--starts-at", required=True, help="ISO 8601 with a zone")
    add.add_argument("--rate", type=int, required=True, help="admissions per minute")
    add.add_argument("--cap", type=int, required=True, help="active sessions at most")
    add.add_argument("--prequeue-minutes", type=int, default=30)
    add.add_argument("--closes-at", help="ISO 8601 with a zone (optional)")
    add.add_argument("--reason", required=True)
    common(add)
    hold = event_actions.add_parser("hold", help="hold a release (or --release it)")
    hold.add_argument("id", type=int)
    hold.add_argument("--release", action="store_true", help="let a held release go")
    hold.add_argument("--reason", required=True)
    common(hold)


def _call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    token = os.environ.get(TOKEN_VARIABLE, "")
    if not token:
        raise CliError(f"set {TOKEN_VARIABLE} to an operator's API token (antri operators token)")
    base = (args.url or os.environ.get(URL_VARIABLE) or DEFAULT_URL).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise CliError(f"--url: {base!r} is not an http(s) address")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read())
            message = detail.get("message", "")
            fields = detail.get("fields")
            if fields:
                message += " " + "; ".join(f"{k}: {v}" for k, v in fields.items())
        except (ValueError, AttributeError):
            message = exc.reason
        raise CliError(f"{exc.code}: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise CliError(f"cannot reach {base}: {getattr(exc, 'reason', exc)}") from None


def _room_line(room: dict[str, Any]) -> str:
    return (
        f"{room['room']:<12} {room['state']:<9} waiting {room['waiting']:>6}  active"
        f" {room['active']}/{room['max_active']}  rate {room['rate_per_minute']}/min"
        f"  release {room['event_starts_at'] or '-'}"
    )


def _event_line(event: dict[str, Any]) -> str:
    step = ("held" if event["held"] else "closed" if event["closed_at"] else "started"
            if event["started_at"] else "armed" if event["armed_at"] else "scheduled")  # fmt: skip
    return (
        f"{event['id']:>5}  {event['starts_at']}  {event['room']:<10} {step:<9}"
        f" rate {event['rate_per_minute']} cap {event['max_active']}  {event['label']}"
    )


def _changes(pairs: list[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in SETTABLE or not value:
            raise CliError(f"{pair!r}: use NAME=VALUE with NAME one of {', '.join(SETTABLE)}")
        try:
            number: Any = float(value) if name == "session-minutes" else int(value)
        except ValueError:
            raise CliError(f"{pair!r}: {value!r} is not a number") from None
        changes[SETTABLE[name]] = number
    return changes


def _rooms(args: argparse.Namespace) -> Any:
    if args.action == "list":
        rooms = _call(args, "GET", "/api/v1/admin/rooms")
        return rooms, "\n".join(_room_line(r) for r in rooms)
    path = f"/api/v1/admin/rooms/{urllib.parse.quote(args.room, safe='')}"
    if args.action == "show":
        room = _call(args, "GET", path)
        return room, "\n".join(f"{k}: {json.dumps(v)}" for k, v in room.items())
    if args.action == "set":
        body = _changes(args.changes)
    else:
        states = {"pause": "paused", "resume": "open", "close": "closed", "queue-all": "queue_all"}
        body = {"state": states[args.action]}
    room = _call(args, "PATCH", path, body | {"reason": args.reason})
    return room, _room_line(room)


def _events(args: argparse.Namespace) -> Any:
    if args.action == "list":
        events = _call(args, "GET", "/api/v1/admin/events")
        return events, "\n".join(_event_line(e) for e in events) or "no releases ahead"
    if args.action == "add":
        body = {
            "room": args.room,
            "label": args.label,
            "starts_at": args.starts_at,
            "rate_per_minute": args.rate,
            "max_active": args.cap,
            "prequeue_minutes": args.prequeue_minutes,
            "reason": args.reason,
        }
        if args.closes_at:
            body["closes_at"] = args.closes_at
        event = _call(args, "POST", "/api/v1/admin/events", body)
        return event, _event_line(event)
    body = {"held": not args.release, "reason": args.reason}
    event = _call(args, "POST", f"/api/v1/admin/events/{args.id}/hold", body)
    return event, _event_line(event)


def run(args: argparse.Namespace) -> int:
    """Carry out `antri rooms …` or `antri events …`; 1 with a one-line error on failure."""
    try:
        data, text = _rooms(args) if args.command == "rooms" else _events(args)
    except CliError as exc:
        print(f"antri {args.command} {args.action}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2) if args.json else text)
    return 0
