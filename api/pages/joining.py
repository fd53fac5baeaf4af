"""The waiting room before a place is taken: a page that joins from the browser, and its form.

A plain GET of /antre/{room} used to take a place, so every crawler and link preview stood in
line. Now the page's script asks for the place (solving the room's proof of work first), and a
browser without JavaScript gets a button, or, when the room asks for a proof, word that the page
needs JavaScript.
"""

from __future__ import annotations

from aiohttp import web

from queue_engine.room import Room

from ..joining import JoinChecks
from .csrf import checked_form
from .render import page


def joining_page(
    request: web.Request, room: Room, checks: JoinChecks, status: int = 200
) -> web.Response:
    """The page that takes the place (a challenge to solve is in it: no extra round trip)."""
    context = {"room": room.name, "challenge": checks.challenge(room)}
    response = page(request, "antre-gabung.html", context, status)
    # The challenge in it is single-use: a cached copy would be refused.
    response.headers["Cache-Control"] = "no-store"
    return response


async def join_form(request: web.Request) -> None:
    """Check the form's CSRF token (a place is taken only from Antri's own page)."""
    await checked_form(request)
