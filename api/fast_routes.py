"""A shortcut through the router for the busiest routes (the status poll, the join).

aiohttp's router finds a dynamic route by walking the path's prefixes through its index and
matching each candidate's regular expression; for a status poll that is three dictionary lookups,
a regex and a dict comprehension, about a tenth of the whole request's Python time once
everything else is lean. A route here of the form `/head/{name}/tail` is recognised by two string
comparisons instead, and anything else (another method, an escaped or empty segment) goes the
router's usual way: the same match, only found sooner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from aiohttp.web_urldispatcher import DynamicResource, ResourceRoute, UrlMappingMatchInfo

Resolve = Callable[[web.Request], Awaitable[UrlMappingMatchInfo]]


class _Shortcut:
    """One route `head{name}tail` and its method."""

    __slots__ = ("head", "name", "route", "tail", "tail_length")

    def __init__(self, head: str, name: str, tail: str, route: ResourceRoute) -> None:
        self.head, self.name, self.tail, self.route = head, name, tail, route
        self.tail_length = len(tail)


def install(router: web.UrlDispatcher, routes: Iterable[tuple[str, str]]) -> None:
    """Resolve `routes` ((method, path pattern) pairs, each with one `{name}` segment) before
    the router's walk. Call once every route is added."""
    shortcuts: dict[str, list[_Shortcut]] = {}
    for method, pattern in routes:
        shortcut = _shortcut(router, method, pattern)
        shortcuts.setdefault(method, []).append(shortcut)
    walk: Resolve = router.resolve

    async def resolve(request: web.Request) -> UrlMappingMatchInfo:
        candidates = shortcuts.get(request.method)
        if candidates is not None:
            path = request.rel_url.path_safe
            for shortcut in candidates:
                if path.startswith(shortcut.head) and path.endswith(shortcut.tail):
                    value = path[len(shortcut.head) : len(path) - shortcut.tail_length]
                    # What the route's own pattern ([^{}/]+) takes, and nothing the router
                    # would decode (%2F and %25 stay escaped in path_safe).
                    if value and not ("/" in value or "%" in value or "{" in value or "}" in value):
                        return UrlMappingMatchInfo({shortcut.name: value}, shortcut.route)
        return await walk(request)

    router.resolve = resolve  # type: ignore[method-assign]


def _shortcut(router: web.UrlDispatcher, method: str, pattern: str) -> _Shortcut:
    """The shortcut to `method pattern`, checked to find what the router itself would: no
    route the router tries before it (an earlier one in its index entry, or one in a longer
    entry) may match any of its paths."""
    head, _, rest = pattern.partition("{")
    name, _, tail = rest.partition("}")
    if not name or "{" in tail or not head.endswith("/") or (tail and not tail.startswith("/")):
        raise ValueError(f"{pattern}: one {{name}} segment is all a shortcut handles")
    key = _index_key(pattern)
    target: ResourceRoute | None = None
    for resource in router.resources():
        if resource.canonical == pattern and isinstance(resource, DynamicResource):
            target = next((r for r in resource if r.method == method), None)
            continue
        other = _index_key(resource.canonical)
        tried_first = other.startswith(head) or (other == key and target is None)
        if tried_first and _may_overlap(resource, pattern):
            raise ValueError(f"{pattern}: {resource.canonical} may match the same paths first")
    if target is None:
        raise ValueError(f"no route {method} {pattern} to shortcut")
    return _Shortcut(head, name, tail, target)


def _index_key(canonical: str) -> str:
    """The router's index entry for a route (as aiohttp's UrlDispatcher computes it)."""
    if "{" in canonical:
        canonical = canonical.partition("{")[0].rpartition("/")[0]
    return canonical.rstrip("/") or "/"


def _may_overlap(resource: web.AbstractResource, pattern: str) -> bool:
    """Whether `resource` might match a path of `pattern` (whose {name} takes one segment)."""
    if isinstance(resource, DynamicResource):
        expression = resource.get_info()["pattern"].pattern
        variables = resource.canonical.count("{")
        if not expression.count("(?P<") == expression.count("[^{}/]+)") == variables:
            return True  # a variable with its own expression: could be anything
    elif not isinstance(resource, web.PlainResource):
        return True  # static files, sub-apps: not worth proving
    ours, theirs = pattern.split("/"), resource.canonical.split("/")
    if len(ours) != len(theirs):
        return False
    return all(
        a == b or a.startswith("{") or b.startswith("{") for a, b in zip(ours, theirs, strict=True)
    )
