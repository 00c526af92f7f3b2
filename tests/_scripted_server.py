"""Small real servers on 127.0.0.1 for the turbosse transport tests: an HTTP
server whose answers a test scripts byte by byte (hostile framings included),
optionally over TLS, and a CONNECT / absolute-form HTTP proxy."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[["Exchange"], Awaitable[None]]


class Exchange:
    """One accepted connection: read requests, write scripted bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: ScriptedServer) -> None:
        self.reader, self.writer, self.server = reader, writer, server

    async def request(self) -> tuple[bytes, dict[str, str], bytes] | None:
        """(request line, headers, body) of the next request; None at EOF."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        lines = head[:-4].split(b"\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        self.server.requests.append((lines[0], headers, body))
        return lines[0], headers, body

    async def send(self, *parts: bytes, pause: float = 0.0) -> None:
        for part in parts:
            self.writer.write(part)
            await self.writer.drain()
            if pause:
                await asyncio.sleep(pause)

    def close(self) -> None:
        self.writer.close()


class ScriptedServer:
    """``async with ScriptedServer(handler) as srv``: ``srv.url``; every
    connection runs ``handler(exchange)``; ``connections`` counts accepts."""

    def __init__(self, handler: Handler, ssl_context: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.ssl = ssl_context
        self.connections = 0
        self.requests: list[tuple[bytes, dict[str, str], bytes]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            await self.handler(Exchange(reader, writer, self))
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, RuntimeError):  # the client hung up
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        scheme = "https" if self.ssl else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._server.close()
        await asyncio.wait_for(self._server.wait_closed(), 5)


def sse_response(body: bytes, *, framing: str = "chunked", extra: bytes = b"") -> list[bytes]:
    """A 200 text/event-stream response as a list of writes (one per event)."""
    events = [e + b"\n\n" for e in body.split(b"\n\n") if e]
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n" + extra
    if framing == "chunked":
        return [head + b"transfer-encoding: chunked\r\n\r\n"] + [b"%x\r\n%s\r\n" % (len(e), e) for e in events] + [b"0\r\n\r\n"]
    if framing == "length":
        return [head + b"content-length: %d\r\n\r\n" % sum(map(len, events))] + events
    return [head + b"connection: close\r\n\r\n"] + events


class Proxy:
    """An HTTP proxy on 127.0.0.1: CONNECT tunnels and absolute-form requests,
    every upstream mapped to ``upstream`` (host, port) so nothing leaves the
    machine. ``auth`` ("user:pass") makes it demand basic Proxy-Authorization;
    ``ssl_context`` makes it an https:// proxy (TLS to the proxy itself)."""

    def __init__(self, upstream: tuple[str, int], auth: str | None = None, ssl_context: ssl.SSLContext | None = None) -> None:
        self.upstream = upstream
        self.auth = auth
        self.ssl = ssl_context
        self.seen: list[bytes] = []  # request lines it received

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            writer.close()
            return
        line = head.split(b"\r\n", 1)[0]
        self.seen.append(line)
        if self.auth is not None:
            want = b"proxy-authorization: basic " + base64.b64encode(self.auth.encode()).lower()
            if want not in head.lower():
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n")
                writer.close()
                return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        if line.startswith(b"CONNECT "):
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            up_writer.write(head)  # absolute-form request: forwarded as it came
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def __aenter__(self) -> Proxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl)
        scheme = "https" if self.ssl else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
