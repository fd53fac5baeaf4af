"""A response whose head is mostly written once, for the answers the app gives most often.

aiohttp's `Response` builds a case-insensitive header dict per answer, fills in Content-Length,
Date, Server and Connection when it is prepared, runs the app's prepare signal, and serializes
the lot: for a status poll about a fifth of the request's CPU (BENCHMARKS.md, "Issue 14's
status and join ratios"). A `PreparedResponse` holds its body and its fixed header lines as
bytes and writes what aiohttp would have written, byte for byte, with the same per-request
parts (status line of the request's HTTP version, Content-Length, Date, Server, Connection).

Anything out of the usual takes aiohttp's own path, with the headers as a real dict: a HEAD
request or a status without a body, an app with `on_response_prepare` receivers (HSTS behind
TLS), headers read or changed after the response was made, cookies, compression, chunking.
`tests/test_prepared.py` holds both paths to aiohttp's bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.compression_utils import MAX_SYNC_CHUNK_SIZE
from aiohttp.helpers import must_be_empty_body, rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE, HttpVersion, HttpVersion10, HttpVersion11
from multidict import CIMultiDict

_SERVER = f"\r\nServer: {SERVER_SOFTWARE}".encode()
_KEEP_ALIVE = b"\r\nConnection: keep-alive"
_CLOSE = b"\r\nConnection: close"


class HeaderLines:
    """Fixed headers, kept both as pairs and as their serialized lines."""

    __slots__ = ("lines", "pairs")

    def __init__(self, *pairs: tuple[str, str]) -> None:
        for name, value in pairs:
            if any(c in name + value for c in "\r\n\0") or ":" in name:
                raise ValueError(f"not a header line: {name}: {value}")
        self.pairs = pairs
        self.lines = "".join(f"{name}: {value}\r\n" for name, value in pairs).encode()


#: the JSON API's usual head: JSON, never cached, never sniffed (api/observed.py says why)
API_JSON = HeaderLines(
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
)


def has_api_head(response: web.StreamResponse) -> bool:
    """Whether `response` is a PreparedResponse with the API's head already in its lines."""
    return type(response) is PreparedResponse and response.lines is API_JSON


class PreparedResponse(web.Response):
    """A response of fixed `lines` and `body`; see the module docstring."""

    def __init__(
        self,
        body: bytes,
        lines: HeaderLines,
        status: int = 200,
        extra: Sequence[tuple[str, str]] = (),
    ) -> None:
        """`extra`: this answer's own headers (its cookies), written after `lines`."""
        # Not Response.__init__: its header dict is what this class saves. The attributes set
        # here are the instance attributes StreamResponse and Response set; the rest are class
        # defaults of theirs.
        self._state: dict[Any, Any] = {}
        self._set_status(status, None)
        self._body = body
        self._zlib_executor_size = MAX_SYNC_CHUNK_SIZE
        self._zlib_executor = None
        self.lines = lines
        self.extra = HeaderLines(*extra) if extra else None
        self._materialized: CIMultiDict[str] | None = None
        self._wire: bytes | None = None

    # StreamResponse and Response reach their headers through `_headers`: here they are made
    # on first use, and from then on this response goes aiohttp's own way.
    @property  # type: ignore[override]
    def _headers(self) -> CIMultiDict[str]:
        headers = self._materialized
        if headers is None:
            headers = self._materialized = CIMultiDict(self.lines.pairs)
            if self.extra is not None:
                headers.extend(self.extra.pairs)
        return headers

    @_headers.setter
    def _headers(self, value: CIMultiDict[str]) -> None:
        self._materialized = value

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        if (
            self._materialized is not None
            or self._payload_writer is not None
            or self._eof_sent
            or self._cookies
            or self._chunked
            or self._compression
            or must_be_empty_body(request.method, self._status)
            or _prepare_receivers(request)
        ):
            return await super().prepare(request)
        keep_alive = self._keep_alive
        if keep_alive is None:
            keep_alive = self._keep_alive = request.keep_alive
        version = request.version
        if version == HttpVersion11:
            connection = b"" if keep_alive else _CLOSE
        elif version == HttpVersion10:
            connection = _KEEP_ALIVE if keep_alive else b""
        else:
            return await super().prepare(request)
        body = self._body
        assert isinstance(body, bytes)
        head = _status_lines.get((version, self._status, self._reason, self.lines))
        if head is None:
            head = _status_line(version, self._status, self._reason, self.lines)
        if self.extra is not None:
            head += self.extra.lines
        self._wire = b"".join(
            (
                head,
                f"Content-Length: {len(body)}\r\nDate: {rfc822_formatted_time()}".encode(),
                _SERVER,
                connection,
                b"\r\n\r\n",
                body,
            )
        )
        self._req = request
        writer = self._payload_writer = request.writer
        return writer

    async def write_eof(self, data: bytes = b"") -> None:
        wire = self._wire
        if wire is None or self._eof_sent:
            await super().write_eof(data)
            return
        assert not data, f"data arg is not supported, got {data!r}"
        writer = self._payload_writer
        assert writer is not None
        # The head and the body in one write, as aiohttp's writer coalesces them.
        await writer.write_eof(wire)
        self._eof_sent = True
        self._req = None
        self._body_length = writer.output_size
        self._payload_writer = None


def _prepare_receivers(request: web.BaseRequest) -> bool:
    """Whether any app of the request's route listens to `on_response_prepare`."""
    if not isinstance(request, web.Request):
        return False
    for app in request.match_info.apps:  # noqa: SIM110 (a loop: any() and its generator cost more)
        if app.on_response_prepare:
            return True
    return False


Head = tuple[HttpVersion, int, str, HeaderLines]
#: status lines followed by the fixed headers, as met (a handful: one per kind of answer)
_status_lines: dict[Head, bytes] = {}


def _status_line(version: HttpVersion, status: int, reason: str, lines: HeaderLines) -> bytes:
    head = f"HTTP/{version[0]}.{version[1]} {status} {reason}\r\n".encode() + lines.lines
    if len(_status_lines) < 64:
        _status_lines[(version, status, reason, lines)] = head
    return head
