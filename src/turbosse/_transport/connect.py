"""Opening a connection to an origin: TCP, TLS, and HTTP proxies.

TLS is asyncio's ``ssl`` with SNI and certificate verification. The trust
store is chosen as httpx chooses it: ``verify=True`` uses ``SSL_CERT_FILE`` /
``SSL_CERT_DIR`` when set, else certifi's bundle (the system's when certifi is
missing); ``verify`` may also be a CA bundle file or directory (one that
does not exist is a FileNotFoundError, never the default store), an
``ssl.SSLContext`` (for example ``truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)``
for the operating system's store) or ``False``. ALPN offers ``http/1.1`` only.

Proxies come from ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` and
``NO_PROXY`` (the standard library's reading of them) unless a proxy is given
or ``trust_env`` is off. A plain-http origin is requested through the proxy in
absolute form; an https origin through a ``CONNECT`` tunnel, with TLS to the
origin inside it. Proxy credentials in the URL (``http://user:pass@host:port``)
are sent as basic ``Proxy-Authorization``; other schemes are not supported, nor
is TLS to the proxy itself (an ``https://`` proxy URL).
"""

from __future__ import annotations

import asyncio
import base64
import errno
import os
import ssl
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, NamedTuple

from .errors import (
    ConnectFailed,
    ConnectTimedOut,
    HTTPProtocolError,
    ProxyFailed,
    UnsupportedProxy,
    UnsupportedRequest,
)
from .protocol import MAX_HEADER_BYTES, Connection

__all__ = ["Origin", "Proxy", "open_connection", "proxy_for", "ssl_context"]


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: urllib.parse.SplitResult) -> Origin:
        scheme = url.scheme.lower()
        if scheme not in ("http", "https"):
            raise UnsupportedRequest(f"the turbosse transport speaks http and https, not {scheme!r}")
        if not url.hostname:
            raise UnsupportedRequest(f"no host in the URL {url.geturl()!r}")
        return cls(scheme, url.hostname, url.port or (443 if scheme == "https" else 80))

    @property
    def address(self) -> str:
        """``host:port`` in authority form (what CONNECT names), an IPv6
        literal in brackets: RFC 3986 IP-literal, else the port is ambiguous."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def authority(self) -> str:
        """The Host header: ``address`` without the scheme's default port."""
        default = 443 if self.scheme == "https" else 80
        return self.address.removesuffix(f":{default}") if self.port == default else self.address


class Proxy(NamedTuple):
    host: str
    port: int
    authorization: str | None  # the Proxy-Authorization header value

    @classmethod
    def parse(cls, url: str) -> Proxy:
        if "://" not in url:
            url = "http://" + url
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() != "http":
            raise UnsupportedProxy(
                f"proxy {url!r}: only http:// proxies are supported by the turbosse transport (use transport='httpx')",
                url,
            )
        if not parts.hostname:
            raise UnsupportedRequest(f"no host in the proxy URL {url!r}")
        auth = None
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return cls(parts.hostname, parts.port or 80, auth)


def proxy_for(origin: Origin, proxy: str | None, trust_env: bool) -> Proxy | None:
    """The proxy to use for ``origin``: the one given, else the environment's."""
    if proxy is not None:
        return Proxy.parse(proxy)
    if not trust_env:
        return None
    env = urllib.request.getproxies_environment()
    url = env.get(origin.scheme) or env.get("all")
    if not url:
        return None
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # public, not in typeshed
    if bypass(origin.host, env) or bypass(f"{origin.host}:{origin.port}", env):
        return None
    return Proxy.parse(url)


def ssl_context(verify: bool | str | os.PathLike[str] | ssl.SSLContext, trust_env: bool = True) -> ssl.SSLContext:
    """The SSLContext for ``verify`` (see the module docstring); a CA path
    that names no file or directory is a FileNotFoundError."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, (str, os.PathLike)):
        if os.path.isdir(verify):
            ctx = ssl.create_default_context(capath=verify)
        elif os.path.isfile(verify):
            ctx = ssl.create_default_context(cafile=verify)
        else:  # a typo or an unmounted file must not fall back to trusting every public CA
            raise FileNotFoundError(errno.ENOENT, "verify= names no CA bundle file or directory", os.fspath(verify))
    else:
        cafile = os.environ.get("SSL_CERT_FILE") if trust_env else None
        capath = os.environ.get("SSL_CERT_DIR") if trust_env else None
        if not cafile and not capath:
            try:
                import certifi

                cafile = certifi.where()
            except ImportError:  # pragma: no cover - certifi comes with httpx
                pass
        ctx = ssl.create_default_context(cafile=cafile or None, capath=capath or None)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _status(head: bytes) -> tuple[str, int]:
    """The status line and code of a proxy's answer head."""
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HTTPProtocolError(f"invalid answer from the proxy: {status_line[:100]!r}")
    return status_line, int(parts[1])


class _Tunnel(asyncio.Protocol):
    """Reads a proxy's answer to CONNECT: a status line and headers, nothing
    more; ``done`` gets its status line and code."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.buffer = bytearray()
        self.done: asyncio.Future[tuple[str, int]] = loop.create_future()

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            return
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end >= 0:
            try:
                status_line, status = _status(bytes(self.buffer[:end]))
            except HTTPProtocolError as exc:
                self.done.set_exception(exc)
                return
            # a refusal may carry a page (squid's 407 does) and its status is
            # the answer; bytes after a granted tunnel's answer are no HTTP
            if 200 <= status < 300 and len(self.buffer) > end + 4:
                self.done.set_exception(HTTPProtocolError("the proxy sent bytes after its CONNECT answer"))
            else:
                self.done.set_result((status_line, status))
        elif len(self.buffer) > MAX_HEADER_BYTES:
            self.done.set_exception(HTTPProtocolError(f"the proxy's answer exceeds {MAX_HEADER_BYTES} bytes", MAX_HEADER_BYTES))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ProxyFailed(f"the proxy closed the connection during CONNECT: {exc or 'EOF'}"))


async def _connect(
    loop: asyncio.AbstractEventLoop,
    origin: Origin,
    proxy: Proxy | None,
    ctx: ssl.SSLContext | None,
    factory: Callable[[], Connection],
) -> Connection:
    host, port = (proxy.host, proxy.port) if proxy is not None else (origin.host, origin.port)
    try:
        if proxy is None or origin.scheme == "http":
            tls: dict[str, Any] = {"ssl": ctx, "server_hostname": origin.host} if origin.scheme == "https" else {}
            _, conn = await loop.create_connection(factory, host, port, **tls)
            return conn
        transport, tunnel = await loop.create_connection(lambda: _Tunnel(loop), host, port)
    except ssl.SSLError as exc:
        raise ConnectFailed(f"TLS handshake with {origin.host}:{origin.port} failed: {exc}") from exc
    except OSError as exc:
        raise ConnectFailed(f"cannot connect to {host}:{port}: {exc}") from exc
    try:
        lines = [f"CONNECT {origin.address} HTTP/1.1", f"Host: {origin.address}"]
        if proxy.authorization:
            lines.append(f"Proxy-Authorization: {proxy.authorization}")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        status_line, status = await tunnel.done
        if not 200 <= status < 300:
            hint = " (only basic proxy authentication is supported)" if status == 407 else ""
            raise ProxyFailed(f"the proxy refused CONNECT {origin.address}: {status_line[:100]}{hint}")
        failed = f"TLS handshake with {origin.address} through the proxy {proxy.host}:{proxy.port} failed"
        try:
            tls_transport = await loop.start_tls(transport, tunnel, ctx, server_hostname=origin.host)  # type: ignore[arg-type]
        except ssl.SSLError as exc:
            raise ConnectFailed(f"{failed}: {exc}") from exc
        except OSError as exc:  # the proxy or the origin closed the tunnel (asyncio: ConnectionResetError)
            raise ConnectFailed(f"{failed}: the tunnel closed: {str(exc) or type(exc).__name__}") from exc
        assert tls_transport is not None
        conn = factory()
        tls_transport.set_protocol(conn)
        conn.connection_made(tls_transport)
        return conn
    except BaseException:
        transport.abort()
        raise


async def open_connection(
    loop: asyncio.AbstractEventLoop,
    origin: Origin,
    proxy: Proxy | None,
    ctx: ssl.SSLContext | None,
    factory: Callable[[], Connection],
    timeout: float | None,
) -> Connection:
    """A connected :class:`Connection` to ``origin`` (through ``proxy``), with
    TLS for https; ConnectFailed / ConnectTimedOut / ProxyFailed otherwise."""
    try:
        return await asyncio.wait_for(_connect(loop, origin, proxy, ctx, factory), timeout)
    except (asyncio.TimeoutError, TimeoutError) as exc:
        raise ConnectTimedOut(f"connecting to {origin.host}:{origin.port} took longer than {timeout:g} s") from exc
