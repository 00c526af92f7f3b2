"""The turbosse transport over TLS (a loopback server with a certificate from a
test CA made at test time by trustme) and through HTTP proxies (a loopback
CONNECT / absolute-form proxy that maps every upstream to the test server)."""

from __future__ import annotations

import pathlib
import ssl

import httpx
import pytest
import trustme
from _scripted_server import Exchange, Proxy, ScriptedServer, sse_response

from turbosse._transport import ConnectFailed, HTTPProtocolError, ProxyFailed, UnsupportedRequest
from turbosse._transport.connect import Origin, proxy_for, ssl_context
from turbosse._transport.pool import StreamTransport, Timeouts

pytestmark = pytest.mark.anyio

T = Timeouts(connect=5, read=5, pool=5)
BODY = b"".join(b'data: {"n": %d}\n\n' % i for i in range(10))
NAME = "api.example.test"  # only ever reached through the proxy, which maps it to 127.0.0.1


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def server_context(ca: trustme.CA, seen_names: list[str | None]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", NAME).configure_cert(ctx)
    ctx.sni_callback = lambda sock, name, _ctx: seen_names.append(name)  # type: ignore[assignment,misc,return-value]
    return ctx


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


async def serve_sse(ex: Exchange) -> None:
    while await ex.request() is not None:
        await ex.send(*sse_response(BODY))


async def read_all(t: StreamTransport, url: str) -> bytes:
    response = await t.request("POST", url, {}, b"{}", T)
    try:
        return b"".join([c async for c in response.aiter_bytes()])
    finally:
        response.close()


async def test_tls_with_verification(ca):
    names: list[str | None] = []
    async with ScriptedServer(serve_sse, server_context(ca, names)) as srv:
        t = StreamTransport(verify=client_context(ca))
        assert await read_all(t, srv.url + "/v1") == BODY
        assert await read_all(t, srv.url + "/v1") == BODY  # over the kept-alive TLS connection
        assert srv.connections == 1
        await t.aclose()


async def test_tls_with_a_ca_bundle_path(ca, tmp_path):
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    async with ScriptedServer(serve_sse, server_context(ca, [])) as srv:
        t = StreamTransport(verify=str(bundle))
        assert await read_all(t, srv.url) == BODY
        await t.aclose()


@pytest.mark.parametrize("kind", [str, pathlib.Path])
def test_a_ca_path_that_names_nothing_is_an_error(ca, tmp_path, kind):
    # not the default store in its place: that would trust every public CA
    # where one private CA was meant
    missing = kind(tmp_path / "no" / "ca.pem")
    with pytest.raises(FileNotFoundError, match=r"verify= names no CA bundle file or directory: .*no/ca\.pem"):
        ssl_context(missing)
    with pytest.raises(FileNotFoundError):
        StreamTransport(verify=str(missing)).ssl_context()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    assert ssl_context(kind(bundle)).cert_store_stats()["x509_ca"] == 1  # that CA alone


async def test_tls_untrusted_certificate_is_refused_unless_verification_is_off(ca):
    async with ScriptedServer(serve_sse, server_context(ca, [])) as srv:
        t = StreamTransport()  # certifi's roots do not include the test CA
        with pytest.raises(ConnectFailed, match=r"TLS handshake with 127\.0\.0\.1:.* failed: .*CERTIFICATE_VERIFY_FAILED"):
            await read_all(t, srv.url)
        await t.aclose()
        t = StreamTransport(verify=False)
        assert await read_all(t, srv.url) == BODY
        await t.aclose()


async def test_https_through_a_connect_proxy_with_sni_and_basic_auth(ca):
    names: list[str | None] = []
    async with ScriptedServer(serve_sse, server_context(ca, names)) as srv:
        async with Proxy(("127.0.0.1", srv.port), auth="user:p@ss") as proxy:
            url = proxy.url.replace("http://", "http://user:p%40ss@")
            t = StreamTransport(verify=client_context(ca), proxy=url)
            assert await read_all(t, f"https://{NAME}:443/v1/chat") == BODY
            assert proxy.seen == [f"CONNECT {NAME}:443 HTTP/1.1".encode()]
            assert names == [NAME]  # SNI carried the origin's name, not the proxy's
            assert srv.requests[0][1]["host"] == NAME
            await t.aclose()


async def test_proxy_refusing_the_tunnel(ca):
    async with ScriptedServer(serve_sse, server_context(ca, [])) as srv:
        async with Proxy(("127.0.0.1", srv.port), auth="user:secret") as proxy:
            t = StreamTransport(verify=client_context(ca), proxy=proxy.url)  # no credentials
            with pytest.raises(ProxyFailed, match=r"407.*only basic proxy authentication"):
                await read_all(t, f"https://{NAME}/v1")
            await t.aclose()


@pytest.mark.parametrize("status", [b"407 Proxy Authentication Required", b"502 Bad Gateway"])
async def test_proxy_refusing_the_tunnel_with_a_page(status):
    # squid and most proxies send a page with a refusal: the status is the
    # answer (ProxyFailed, not retried), not the bytes after the head
    page = b"<html><body>refused</body></html>"

    async def refuse(ex: Exchange) -> None:
        await ex.request()
        await ex.send(b"HTTP/1.1 %s\r\ncontent-type: text/html\r\ncontent-length: %d\r\n\r\n%s" % (status, len(page), page))
        await ex.reader.read()

    async with ScriptedServer(refuse) as proxy:
        t = StreamTransport(proxy=proxy.url)
        with pytest.raises(ProxyFailed, match=f"the proxy refused CONNECT {NAME}:443: HTTP/1.1 {status.decode()}") as info:
            await read_all(t, f"https://{NAME}/v1")
        assert not isinstance(info.value, httpx.RemoteProtocolError)
        assert proxy.connections == 1
        await t.aclose()


async def test_bytes_after_a_granted_tunnel_are_a_protocol_error():
    # before the ClientHello is sent the origin has nothing to say: such
    # bytes are no TLS from it
    async def grant_and_talk(ex: Exchange) -> None:
        await ex.request()
        await ex.send(b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 400 Bad Request\r\n\r\n")
        await ex.reader.read()

    async with ScriptedServer(grant_and_talk) as proxy:
        t = StreamTransport(proxy=proxy.url)
        with pytest.raises(HTTPProtocolError, match="the proxy sent bytes after its CONNECT answer"):
            await read_all(t, f"https://{NAME}/v1")
        await t.aclose()


@pytest.mark.parametrize("how", ["reset", "close"])
async def test_a_tunnel_closed_during_the_tls_handshake(how):
    # the tunnel was granted, so it is the origin's connection that failed
    # (ConnectFailed, as httpx's ConnectError), not a bare ConnectionResetError
    async def grant_then_drop(ex: Exchange) -> None:
        await ex.request()
        await ex.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await ex.reader.read(10)  # the ClientHello arrives...
        if how == "reset":  # ...and the tunnel goes away
            ex.writer.transport.abort()
        else:
            ex.writer.close()

    async with ScriptedServer(grant_then_drop) as proxy:
        t = StreamTransport(proxy=proxy.url)
        failed = rf"TLS handshake with {NAME}:443 through the proxy 127\.0\.0\.1:{proxy.port} failed: the tunnel closed"
        with pytest.raises(ConnectFailed, match=failed):
            await read_all(t, f"https://{NAME}/v1")
        await t.aclose()


async def test_connect_to_an_ipv6_literal_is_bracketed():
    # RFC 3986 authority form: without brackets a proxy cannot tell the
    # address from the port
    async def refuse(ex: Exchange) -> None:
        await ex.request()
        await ex.send(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")

    async with ScriptedServer(refuse) as proxy:
        t = StreamTransport(proxy=proxy.url)
        with pytest.raises(ProxyFailed, match=r"the proxy refused CONNECT \[::1\]:8443: HTTP/1.1 502"):
            await read_all(t, "https://[::1]:8443/v1")
        line, headers, _ = proxy.requests[0]
        assert (line, headers["host"]) == (b"CONNECT [::1]:8443 HTTP/1.1", "[::1]:8443")
        await t.aclose()
    assert Origin("https", "::1", 443).address == "[::1]:443"
    assert (Origin("https", "::1", 443).authority, Origin("http", "::1", 8080).authority) == ("[::1]", "[::1]:8080")
    assert Origin("https", NAME, 443).address == f"{NAME}:443"


async def test_plain_http_through_a_proxy_from_the_environment(monkeypatch):
    async with ScriptedServer(serve_sse) as srv:
        async with Proxy(("127.0.0.1", srv.port)) as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            monkeypatch.setenv("NO_PROXY", "")
            t = StreamTransport()
            assert await read_all(t, f"http://{NAME}/v1/chat?x=1") == BODY
            assert proxy.seen == [f"POST http://{NAME}/v1/chat?x=1 HTTP/1.1".encode()]
            await t.aclose()
            t = StreamTransport(trust_env=False)
            assert await read_all(t, srv.url) == BODY
            assert len(proxy.seen) == 1  # trust_env=False: straight to the server
            await t.aclose()


def test_proxy_selection_from_the_environment(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://u:p@proxy.test:3128")
    monkeypatch.setenv("HTTP_PROXY", "proxy.test:8080")
    monkeypatch.setenv("NO_PROXY", "internal.test,.corp.test")
    https = proxy_for(Origin("https", "api.openai.com", 443), None, True)
    assert https is not None and (https.host, https.port) == ("proxy.test", 3128)
    assert https.authorization == "Basic dTpw"
    http = proxy_for(Origin("http", "api.openai.com", 80), None, True)
    assert http is not None and (http.host, http.port, http.authorization) == ("proxy.test", 8080, None)
    assert proxy_for(Origin("https", "internal.test", 443), None, True) is None
    assert proxy_for(Origin("https", "a.corp.test", 443), None, True) is None
    assert proxy_for(Origin("https", "api.openai.com", 443), None, False) is None
    with pytest.raises(UnsupportedRequest, match="only http:// proxies"):
        proxy_for(Origin("https", "api.openai.com", 443), "https://proxy.test", True)


@pytest.mark.parametrize("target", ["http", "https"])
async def test_an_https_proxy_goes_through_httpx(ca, monkeypatch, tmp_path, target):
    # TLS to the proxy itself is httpx's to speak: the chat client on the
    # turbosse transport sends such a request through httpx instead (nothing
    # was sent before the proxy was read), and the stream is the same
    from turbosse import AsyncChatClient

    async def serve_chat(ex: Exchange) -> None:
        if await ex.request() is None:
            return
        body = b'data: {"choices":[{"index":0,"delta":{"content":"via"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
        ex.writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        await ex.writer.drain()

    upstream = server_context(ca, []) if target == "https" else None
    async with ScriptedServer(serve_chat, upstream) as srv:
        async with Proxy(("127.0.0.1", srv.port), ssl_context=server_context(ca, [])) as proxy:
            bundle = tmp_path / "ca.pem"
            ca.cert_pem.write_to_path(str(bundle))
            monkeypatch.setenv("HTTPS_PROXY" if target == "https" else "HTTP_PROXY", proxy.url)
            monkeypatch.setenv("NO_PROXY", "")
            monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
            async with AsyncChatClient(base_url=f"{target}://{NAME}:{srv.port}/v1", model="m", transport="turbosse") as chat:
                assert (await chat.complete([])).content == "via"
            assert proxy.seen and proxy.seen[0].startswith(b"CONNECT " if target == "https" else b"POST http://")
