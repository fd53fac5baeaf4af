"""Baseline A: the cheapest aiohttp handler there is, a fixed hello-world response.

Run as `python -m bench.hello --port N`; the status endpoint is compared against it (GET), and
the booking endpoint against a POST of a booking-sized body, read whole and answered the same.
"""

from __future__ import annotations

from aiohttp import web

from .serving import port_argument, serve

BODY = b"Hello, world"


async def hello(request: web.Request) -> web.Response:
    """GET /: a fixed body, no work at all."""
    return web.Response(body=BODY, content_type="text/plain")


async def hello_post(request: web.Request) -> web.Response:
    """POST /: the body read and dropped, then the same fixed body."""
    await request.read()
    return web.Response(body=BODY, content_type="text/plain")


def create_app() -> web.Application:
    """The hello-world app."""
    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_post("/", hello_post)
    return app


def main() -> None:
    """Serve the hello-world app on loopback."""
    args = port_argument(__doc__).parse_args()
    serve(create_app(), args.port)


if __name__ == "__main__":
    main()
