"""A PreparedResponse writes the bytes aiohttp's own Response writes for the same answer, on
its fast path and on every path it leaves to aiohttp (HEAD, HTTP/1.0, Connection: close, a
prepare signal, headers changed after it was made)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web

from api.prepared import API_JSON, HeaderLines, PreparedResponse, has_api_head

BODY = b'{"state":"waiting","position":3}'


def _reference() -> web.Response:
    """The answer as aiohttp builds it (and api/observed.py adds the API's headers)."""
    response = web.Response(body=BODY, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


async def _raw(port: int, request: bytes) -> bytes:
    """The raw answer to one request on a fresh connection (read until the server closes or
    the whole answer is in)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"Content-Length: (\d+)", head)
        body = b""
        if length and not request.startswith(b"HEAD"):
            body = await reader.readexactly(int(length.group(1)))
        return head + body
    finally:
        writer.close()


def _same_second(raw: bytes) -> bytes:
    return re.sub(rb"Date: [^\r]*", b"Date: -", raw)


Prepare = Callable[[web.Request, web.StreamResponse], object]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., object]]:
    runners: list[web.AppRunner] = []

    async def start(touch: bool = False, signal: Prepare | None = None) -> int:
        async def prepared(request: web.Request) -> web.StreamResponse:
            response = PreparedResponse(BODY, API_JSON)
            if touch:
                response.headers["X-Extra"] = "1"
            return response

        async def reference(request: web.Request) -> web.StreamResponse:
            response = _reference()
            if touch:
                response.headers["X-Extra"] = "1"
            return response

        app = web.Application()
        app.router.add_get("/prepared", prepared)
        app.router.add_get("/reference", reference)
        if signal is not None:
            app.on_response_prepare.append(signal)  # type: ignore[arg-type]
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        server = site._server
        assert server is not None
        port: int = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return port

    yield start
    for runner in runners:
        await runner.cleanup()


REQUESTS = {
    "keep-alive": b"GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
    "close": b"GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "http/1.0": b"GET /{} HTTP/1.0\r\nHost: x\r\n\r\n",
    "http/1.0 keep-alive": b"GET /{} HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
    "head": b"HEAD /{} HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("kind", list(REQUESTS))
async def test_the_same_bytes_as_aiohttps_response(serve: Callable[..., object], kind: str) -> None:
    port = await serve()  # type: ignore[misc]
    request = REQUESTS[kind]
    prepared = await _raw(port, request.replace(b"{}", b"prepared"))
    reference = await _raw(port, request.replace(b"{}", b"reference"))
    assert _same_second(prepared) == _same_second(reference)
    assert b"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n" in prepared
    assert prepared.endswith(b"\r\n\r\n" if kind == "head" else BODY)
    if kind == "close":
        assert b"\r\nConnection: close\r\n" in prepared
    if kind == "http/1.0 keep-alive":
        assert b"\r\nConnection: keep-alive\r\n" in prepared


async def test_headers_changed_after_it_was_made_are_written(
    serve: Callable[..., object],
) -> None:
    port = await serve(touch=True)  # type: ignore[misc]
    request = REQUESTS["keep-alive"]
    prepared = await _raw(port, request.replace(b"{}", b"prepared"))
    assert b"\r\nX-Extra: 1\r\n" in prepared
    reference = await _raw(port, request.replace(b"{}", b"reference"))
    assert _same_second(prepared) == _same_second(reference)


async def test_a_prepare_signal_still_runs_and_its_headers_are_written(
    serve: Callable[..., object],
) -> None:
    async def strict_transport(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.setdefault("Strict-Transport-Security", "max-age=1")

    port = await serve(signal=strict_transport)  # type: ignore[misc]
    request = REQUESTS["keep-alive"]
    prepared = await _raw(port, request.replace(b"{}", b"prepared"))
    assert b"\r\nStrict-Transport-Security: max-age=1\r\n" in prepared
    reference = await _raw(port, request.replace(b"{}", b"reference"))
    assert _same_second(prepared) == _same_second(reference)


async def test_many_answers_on_one_kept_alive_connection(serve: Callable[..., object]) -> None:
    """Pipelined: 50 requests written at once, 50 whole answers in order, the connection kept."""
    port = await serve()  # type: ignore[misc]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(REQUESTS["keep-alive"].replace(b"{}", b"prepared") * 50)
        for _ in range(50):
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection" not in head
            assert await reader.readexactly(len(BODY)) == BODY
    finally:
        writer.close()


def test_the_headers_read_back_as_a_dict() -> None:
    response = PreparedResponse(BODY, API_JSON)
    assert has_api_head(response)
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.status == 200 and response.body == BODY
    assert not has_api_head(PreparedResponse(BODY, HeaderLines(("Content-Type", "text/plain"))))


def test_a_header_line_cannot_be_split() -> None:
    with pytest.raises(ValueError, match="not a header line"):
        HeaderLines(("X-Bad", "a\r\nSet-Cookie: x=1"))


async def test_its_own_headers_after_the_fixed_ones(serve: Callable[..., object]) -> None:
    """Cookies (a join's ticket) are written after the fixed lines, as aiohttp writes them when
    added in that order, several of one name kept apart."""
    cookies = [("Set-Cookie", "a=1; Path=/; HttpOnly"), ("Set-Cookie", "b=2; Path=/")]

    async def prepared(request: web.Request) -> web.StreamResponse:
        return PreparedResponse(BODY, API_JSON, extra=cookies)

    async def reference(request: web.Request) -> web.StreamResponse:
        response = _reference()
        for name, value in cookies:
            response.headers.add(name, value)
        return response

    app = web.Application()
    app.router.add_get("/prepared", prepared)
    app.router.add_get("/reference", reference)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        assert site._server is not None
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        request = REQUESTS["keep-alive"]
        answer = await _raw(port, request.replace(b"{}", b"prepared"))
        assert b"\r\nSet-Cookie: a=1; Path=/; HttpOnly\r\nSet-Cookie: b=2; Path=/\r\n" in answer
        reference_answer = await _raw(port, request.replace(b"{}", b"reference"))
        assert _same_second(answer) == _same_second(reference_answer)
    finally:
        await runner.cleanup()
    assert PreparedResponse(BODY, API_JSON, extra=cookies).headers.getall("Set-Cookie") == [
        "a=1; Path=/; HttpOnly",
        "b=2; Path=/",
    ]
    with pytest.raises(ValueError, match="not a header line"):
        PreparedResponse(BODY, API_JSON, extra=[("Set-Cookie", "a=1\r\nX-Evil: 1")])
