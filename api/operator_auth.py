"""Who is calling the operator's JSON API: the admin token (bootstrap) or an operator's API
token, each with its role checked against what the route needs."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar, cast

from aiohttp import web

from .appkeys import OPERATORS, SETTINGS
from .errors import ApiError
from .operators import ADMIN_TOKEN_ACTOR, Actor
from .web import bearer_token

H = TypeVar("H", bound=Callable[..., Awaitable[web.StreamResponse]])

#: where a checked request keeps its actor
ACTOR = web.RequestKey("actor", Actor)


async def bearer_actor(request: web.Request) -> Actor | None:
    """The actor of `Authorization: Bearer …`: the admin token (compared in constant time) or
    an operator's API token; None for anything else."""
    given = bearer_token(request) or ""
    if not given:
        return None
    expected = request.config_dict[SETTINGS].admin_token
    if hmac.compare_digest(given.encode(), expected.encode()):
        return ADMIN_TOKEN_ACTOR
    return await request.config_dict[OPERATORS].by_token(given)


def requires(permission: frozenset[str]) -> Callable[[H], H]:
    """Refuse a caller without a token (401) or whose role lacks `permission` (403); for a
    handler function or method whose last argument is the request."""

    def decorate(handler: H) -> H:
        @wraps(handler)
        async def guarded(*args: Any) -> web.StreamResponse:
            request: web.Request = args[-1]
            actor = await bearer_actor(request)
            if actor is None:
                raise ApiError(401, "unauthorized", "A valid admin or operator token is required.")
            if not actor.may(permission):
                raise ApiError(403, "forbidden", f"The role {actor.role} may not do this.")
            request[ACTOR] = actor
            return await handler(*args)

        return cast(H, guarded)

    return decorate


def actor_of(request: web.Request) -> Actor:
    """The actor `requires` let through."""
    return request[ACTOR]
