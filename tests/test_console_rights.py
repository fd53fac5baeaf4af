"""Every console page checks its visitor's rights, whatever area it belongs to: taken from the
router (so a page added later is checked too), each answers the anonymous with the login form, a
role without the right with its refusal page (403), never with an error page or a 500."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from api.appkeys import SETTINGS
from api.pages import console_rooms
from api.pages.console import guarded

from .conftest import AppFactory
from .operator_support import console_login, new_operator
from .page_support import csrf_of, post_form

#: the console's own doors, open to anyone (the login form, logging in and out)
OPEN = {"/konsol", "/konsol/masuk", "/konsol/keluar"}


def console_routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every guarded console page, placeholders filled."""
    values = {"room": client.server.app[SETTINGS].guard_room, "id": "1"}
    routes = {
        (route.method, route.resource.canonical.format_map(values))
        for route in client.server.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/konsol")
        and route.resource.canonical not in OPEN
        and route.method in ("GET", "POST")
    }
    return sorted(routes)


async def as_role(make_client: AppFactory, role: str) -> TestClient:
    client = await make_client()
    assert (await console_login(client, await new_operator(client, role))).status == 303
    return client


async def test_every_console_page_refuses_what_the_role_may_not(make_client: AppFactory) -> None:
    viewer, officer = await as_role(make_client, "viewer"), await as_role(make_client, "officer")
    anonymous = await make_client()
    routes = console_routes(viewer)
    assert {path for _, path in routes} >= {"/konsol/audit", "/konsol/kuota", "/konsol/rilis"}
    assert sum(method == "POST" for method, _ in routes) >= 6
    for method, path in routes:
        if method == "GET":
            assert (await viewer.get(path)).status == 200, path
            refused = await officer.get(path, allow_redirects=False)
            assert refused.status == 403 and "tidak membuka" in await refused.text(), path
            out = await anonymous.get(path, allow_redirects=False)
        else:
            refused = await post_form(viewer, path, {"alasan": "x"})
            assert refused.status == 403 and "hanya boleh melihat" in await refused.text(), path
            refused = await post_form(officer, path, {"alasan": "x"})
            assert refused.status == 403 and "konsol" in await refused.text(), path
            token = await csrf_of(anonymous, "/konsol")
            out = await anonymous.post(path, data={"csrf": token}, allow_redirects=False)
        assert out.status == 303 and out.headers["Location"] == "/konsol", path


async def test_a_guard_put_around_a_method_in_a_route_row_stops_the_start(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Route rows name views methods and the app binds its instance's method of that name, so a
    # wrapper in the row itself would be skipped: the app refuses to start rather than serve the
    # page unguarded.
    method, path, handler = console_rooms.ROUTES[0]
    monkeypatch.setattr(console_rooms, "ROUTES", [(method, path, guarded(handler))])
    with pytest.raises(TypeError, match="decorate the method"):
        await make_client()
