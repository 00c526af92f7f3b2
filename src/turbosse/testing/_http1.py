"""The HTTP/1.1 wire codec of the fake server: a request reader, chunked framing and response heads.

It has no I/O and no dependency beyond the standard library, so a benchmark's
own loopback server can use it alone::

    from turbosse.testing._http1 import RequestReader, decode_chunked, encode_chunk

- ``RequestReader(max_head=65536, max_body=8 MiB)``: ``feed(data) -> list[Request]``
  returns every request completed by ``data`` (keep-alive and pipelining: the
  rest is kept for the next call). A request body is read by ``Content-Length``
  or ``Transfer-Encoding: chunked``. On a malformed or oversized request it
  stops reading and sets ``error`` to a :class:`RequestError` (``status``
  400, 413 or 431, and a message); requests completed before it are still
  returned. ``buffered`` is the number of bytes held for the next request;
  ``waiting`` is the head (a Request with an empty body) of a request whose
  body has not all arrived, the moment to answer ``Expect: 100-continue``.
- :class:`Request`: ``method``, ``target``, ``version``, ``headers`` (a dict,
  lower-case names; the last of repeated headers wins), ``body`` (bytes, the
  chunked framing removed), ``keep_alive`` (False when the client sent
  ``Connection: close``).
- ``encode_chunk(payload) -> bytes``: one chunk of chunked framing;
  ``LAST_CHUNK`` ends a chunked body.
- ``decode_chunked(data) -> bytes``: the payload of the complete chunks in
  ``data`` (up to the last chunk, if present); ``ValueError`` on a bad chunk
  size or a chunk cut short.
- ``status_line(status) -> bytes`` and ``json_response(status, body, headers)``:
  a complete ``application/json`` response with ``Content-Length``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "LAST_CHUNK",
    "Request",
    "RequestError",
    "RequestReader",
    "decode_chunked",
    "encode_chunk",
    "json_response",
    "status_line",
]

LAST_CHUNK = b"0\r\n\r\n"

_REASONS = {
    100: "Continue", 200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 413: "Payload Too Large",
    422: "Unprocessable Entity", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout", 529: "Overloaded",
}  # fmt: skip


@dataclass(frozen=True)
class Request:
    """One HTTP/1.1 request, its body complete."""

    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


class RequestError(ValueError):
    """A request the reader refuses: ``status`` is the response to send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def encode_chunk(payload: bytes) -> bytes:
    """``payload`` as one chunk of chunked transfer coding (empty: nothing)."""
    return b"%x\r\n%s\r\n" % (len(payload), payload) if payload else b""


def _read_chunks(buf: bytes | bytearray, pos: int) -> tuple[list[bytes], int, bool]:
    """The complete chunks from ``pos``: (payloads, position after them, last chunk seen).

    Trailer fields after the last chunk are not supported (none of our peers
    send them): the last chunk must be ``0\\r\\n\\r\\n``."""
    parts: list[bytes] = []
    n = len(buf)
    while pos < n:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            break
        size_field = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            raise ValueError(f"bad chunk size {size_field[:40]!r}") from None
        if size < 0:
            raise ValueError(f"bad chunk size {size_field[:40]!r}")
        end = eol + 2 + size
        if end + 2 > n:
            break
        if buf[end : end + 2] != b"\r\n":
            raise ValueError("chunk not followed by CRLF")
        if size == 0:
            return parts, end + 2, True
        parts.append(bytes(buf[eol + 2 : end]))
        pos = end + 2
    return parts, pos, False


def decode_chunked(data: bytes | bytearray) -> bytes:
    """The payload of the chunks in ``data``: whole chunks, up to the last chunk if present."""
    parts, pos, last = _read_chunks(data, 0)
    if not last and pos != len(data):
        raise ValueError(f"chunk cut short at byte {pos} of {len(data)}")
    return b"".join(parts)


def status_line(status: int) -> bytes:
    return f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n".encode()


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> bytes:
    """A complete JSON response (``body`` is bytes, or anything orjson serialises)."""
    payload = body if isinstance(body, bytes) else orjson.dumps(body)
    hdrs = {"content-type": "application/json", "content-length": str(len(payload))}
    hdrs.update(headers or {})
    lines = [status_line(status)] + [f"{k}: {v}\r\n".encode() for k, v in hdrs.items()]
    return b"".join(lines) + b"\r\n" + payload


class RequestReader:
    """Incremental HTTP/1.1 request parser; see the module docstring."""

    def __init__(self, *, max_head: int = 65536, max_body: int = 8 * 1024 * 1024) -> None:
        self.max_head = max_head
        self.max_body = max_body
        self.error: RequestError | None = None
        self._buf = bytearray()
        self._head: tuple[Request, int] | None = None  # parsed head (empty body), body start

    @property
    def waiting(self) -> Request | None:
        """The request (body empty) whose head is read and body is not complete
        yet: the moment to send ``100 Continue``; the same object until then."""
        return self._head[0] if self._head is not None else None

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Request]:
        if self.error is not None:
            return []
        self._buf += data
        out: list[Request] = []
        try:
            while True:
                req = self._next()
                if req is None:
                    break
                out.append(req)
        except RequestError as exc:
            self.error = exc
            self._buf.clear()
            self._head = None
        return out

    def _parse_head(self) -> tuple[Request, int] | None:
        buf = self._buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > self.max_head:
                raise RequestError(431, f"request head over {self.max_head} bytes")
            return None
        if end > self.max_head:
            raise RequestError(431, f"request head over {self.max_head} bytes")
        head = bytes(buf[:end]).decode("latin-1").split("\r\n")
        try:
            method, target, version = head[0].split(" ", 2)
        except ValueError:
            raise RequestError(400, "bad request line") from None
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return Request(method, target, version, headers, b""), end + 4

    def _next(self) -> Request | None:
        if self._head is None:
            self._head = self._parse_head()
            if self._head is None:
                return None
        head, pos = self._head
        buf, headers = self._buf, head.headers
        if headers.get("transfer-encoding", "").lower() == "chunked":
            try:
                parts, after, last = _read_chunks(buf, pos)
            except ValueError as exc:
                raise RequestError(400, f"bad chunked request body: {exc}") from None
            if sum(map(len, parts)) > self.max_body:
                raise RequestError(413, f"request body over {self.max_body} bytes")
            if not last:
                return None
            body = b"".join(parts)
            pos = after
        else:
            try:
                length = int(headers.get("content-length", "0") or 0)
            except ValueError:
                raise RequestError(400, "bad Content-Length") from None
            if length < 0:
                raise RequestError(400, "bad Content-Length")
            if length > self.max_body:
                raise RequestError(413, f"request body over {self.max_body} bytes")
            if len(buf) < pos + length:
                return None
            body = bytes(buf[pos : pos + length])
            pos += length
        del buf[:pos]
        self._head = None
        return Request(head.method, head.target, head.version, headers, body)
