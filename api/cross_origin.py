"""Cross-site request forgery on the JSON API: browsers send cookies with requests that other
sites make, so a change authenticated by a cookie must prove it came from Antri's own pages.

A caller that sends its token in a header (X-Session-Token, Authorization, X-Antri-Ticket) is
not checked: a page of another site cannot set such headers without a CORS preflight, which
Antri never grants. A cookie-authenticated change is refused when the browser says it came from
elsewhere (the pages' own Origin / Sec-Fetch-Site check), and its body must be JSON (or, for
uploads, multipart): the content types a plain HTML form or a "simple" cross-site fetch can
send, which need no preflight, are refused, so old browsers that send no Origin are covered too.
"""

from __future__ import annotations

from aiohttp import web

from .errors import ApiError
from .gate import ADMISSION_COOKIE, TICKET_COOKIE, TICKET_HEADER
from .login import SESSION_COOKIE, SESSION_HEADER
from .pages.csrf import foreign_origin
from .web import Handler

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: the cookies that authenticate a caller of the API
AUTH_COOKIES = (SESSION_COOKIE, ADMISSION_COOKIE, TICKET_COOKIE)
#: headers only the caller's own code can set (a foreign page cannot without a preflight)
TOKEN_HEADERS = ("Authorization", SESSION_HEADER, TICKET_HEADER)
#: routes whose body is not JSON, and the content type they take instead
BODY_TYPES = {"/api/v1/bookings/{id}/documents": "multipart/form-data"}
#: routes that no cookie authenticates (the bank signs its callbacks): nothing to forge
SIGNED_ROUTES = frozenset({"/api/v1/payments/callback"})


def cross_origin_checked(route: str, method: str, handler: Handler) -> Handler:
    """`handler`, refusing cookie-authenticated calls from other sites (403) or without a JSON
    body type (415) if it changes something through the JSON API (other handlers are returned
    as they are). Cheap on the hot path: a caller without cookies costs one header lookup."""
    if not route.startswith("/api/") or method in SAFE_METHODS or method == "*":
        return handler
    if route in SIGNED_ROUTES:
        return handler
    body_type = BODY_TYPES.get(route, "application/json")

    async def checked(request: web.Request) -> web.StreamResponse:
        headers = request.headers
        if "Cookie" in headers and not any(name in headers for name in TOKEN_HEADERS):
            cookies = request.cookies
            if any(name in cookies for name in AUTH_COOKIES):
                _check(request, body_type)
        return await handler(request)

    return checked


def _check(request: web.Request, body_type: str) -> None:
    if foreign_origin(request):
        raise ApiError(
            403, "cross_origin", "This change must come from Antri's own pages (or send a token)."
        )
    if not request.body_exists:
        return  # no body: nothing in it for a form to forge
    kind = request.content_type
    if kind != body_type and not (body_type == "application/json" and kind.endswith("+json")):
        raise ApiError(
            415,
            "json_required",
            f"Send the body as {body_type} (Content-Type: {body_type}).",
        )
