"""The router's shortcut for the busiest routes finds exactly what aiohttp's own walk finds."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from aiohttp.web_urldispatcher import UrlMappingMatchInfo

from api import fast_routes
from api.appkeys import SETTINGS
from api.routes import BUSIEST

from .conftest import AppFactory

PATHS = [
    "/api/v1/rooms/paspor/status",
    "/api/v1/rooms/kontrol/status",
    "/api/v1/rooms/tidak-ada/status",
    "/api/v1/rooms/paspor/join",
    "/api/v1/rooms/paspor",
    "/api/v1/rooms/paspor/challenge",
    "/api/v1/rooms//status",
    "/api/v1/rooms/status",
    "/api/v1/rooms/a/b/status",
    "/api/v1/rooms/paspor/status/",
    "/api/v1/rooms/paspor/statusx",
    "/api/v1/rooms/pas%2Fpor/status",
    "/api/v1/rooms/pas%25por/status",
    "/api/v1/rooms/pas%20por/status",
    "/api/v1/rooms/%7Bx%7D/status",
    "/api/v1/rooms/ruang%C3%A9/join",
    "/api/v1/rooms/paspor/join?x=1",
    "/api/v1/roomsx/paspor/status",
    "/api/v1/admin/rooms/paspor",
    "/healthz",
    "/",
]


def _outcome(match: UrlMappingMatchInfo) -> tuple[object, ...]:
    error = match.http_exception
    if error is not None:
        return ("error", error.status, sorted(getattr(error, "allowed_methods", ())))
    return ("route", match.route, dict(match))


@pytest.mark.parametrize("method", ["GET", "POST", "HEAD", "PUT"])
async def test_the_shortcut_resolves_as_the_router_does(
    make_client: AppFactory, method: str
) -> None:
    client = await make_client()
    app = client.server.app
    router = app.router
    assert router.resolve is not web.UrlDispatcher.resolve.__get__(router)  # installed
    busiest = 0
    for path in PATHS:
        request = make_mocked_request(method, path, app=app)
        fast = await router.resolve(request)
        walked = await web.UrlDispatcher.resolve(router, request)
        assert _outcome(fast) == _outcome(walked), path
        resource = fast.route.resource
        busiest += resource is not None and (method, resource.canonical) in BUSIEST
    # polls: paspor, kontrol, tidak-ada, "pas por", and (by the walk) pas%2Fpor and pas%25por;
    # joins: paspor twice, "ruangé"
    assert busiest == {"GET": 6, "POST": 3}.get(method, 0)


async def test_a_status_poll_and_a_join_go_through_the_shortcut(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    room = client.server.app[SETTINGS].rooms[0]
    joined = await client.post(f"/api/v1/rooms/{room}/join")
    assert joined.status == 200, await joined.text()
    ticket = (await joined.json())["ticket"]
    polled = await client.get(f"/api/v1/rooms/{room}/status", headers={"X-Antri-Ticket": ticket})
    assert polled.status == 200 and (await polled.json())["ticket"] == ticket
    unknown = await client.get("/api/v1/rooms/tidak-ada/status", headers={"X-Antri-Ticket": ticket})
    assert unknown.status == 404 and (await unknown.json())["error"] == "unknown_room"
    wrong = await client.post(f"/api/v1/rooms/{room}/status")
    assert wrong.status == 405 and wrong.headers["Allow"] == "GET"


async def _ok(request: web.Request) -> web.Response:
    return web.Response()


@pytest.mark.parametrize(
    "other",
    [
        "/api/v1/rooms/khusus/status",  # a plain path for one value, tried first
        "/api/v1/rooms/{name}/{what}",  # an earlier route under the same head
        "/api/v1/rooms/{tail:.*}",  # a variable with its own expression
    ],
)
def test_a_route_the_router_could_prefer_refuses_the_shortcut(other: str) -> None:
    app = web.Application()
    app.router.add_route("GET", other, _ok)
    app.router.add_route("GET", "/api/v1/rooms/{room}/status", _ok)
    with pytest.raises(ValueError, match="may match the same paths first"):
        fast_routes.install(app.router, [("GET", "/api/v1/rooms/{room}/status")])


def test_routes_that_cannot_collide_allow_it() -> None:
    app = web.Application()
    for path in ("/api/v1/rooms/{room}/join", "/api/v1/rooms/{room}", "/api/v1/other/{x}/status"):
        app.router.add_route("GET", path, _ok)
    app.router.add_route("GET", "/api/v1/rooms/{room}/status", _ok)
    app.router.add_route("*", "/{tail:.*}", _ok)
    fast_routes.install(app.router, [("GET", "/api/v1/rooms/{room}/status")])
    with pytest.raises(ValueError, match="no route"):
        fast_routes.install(app.router, [("POST", "/api/v1/rooms/{room}/status")])
