"""httpx and httpx2 side by side: which of the two libraries a client or a
response belongs to, the error for a response that is not an event stream in
that library's terms, and httpx transports that send through an httpx2
client (so that code written for httpx takes an httpx2 client too).

httpx2 is pydantic's fork of httpx (the openai and anthropic SDKs are built
on it): the same API under another name, with exception classes of its own.
turbosse's httpx integration takes either; httpx2 is imported only when an
httpx2 object is seen.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import httpx

from ._errors import APIStatusError

__all__ = ["AsyncHttpx2Transport", "Httpx2Transport", "NotEventStream", "httpx_client_for", "library", "not_event_stream"]


def library(obj: Any) -> ModuleType:
    """``httpx`` or ``httpx2``: the library ``obj`` (a client, request or
    response) comes from; httpx for anything else."""
    if type(obj).__module__.partition(".")[0] == "httpx2":
        return sys.modules["httpx2"]
    return httpx


class NotEventStream(APIStatusError, httpx.TransportError):
    """An :class:`turbosse.APIStatusError` that is also an
    ``httpx.TransportError``, as httpx-sse's ``SSEError`` is: code written
    for httpx-sse that catches the transport error still catches it."""

    def __init__(self, status_code: int, body: str, **kwargs: Any) -> None:
        super().__init__(status_code, body, **kwargs)
        self._request = None


_HTTPX2: dict[str, type[APIStatusError]] = {}


def _httpx2_class() -> type[APIStatusError]:
    cls = _HTTPX2.get("cls")
    if cls is None:
        import httpx2

        def __init__(self: Any, status_code: int, body: str, **kwargs: Any) -> None:
            APIStatusError.__init__(self, status_code, body, **kwargs)
            self._request = None

        cls = type("NotEventStream", (APIStatusError, httpx2.TransportError), {
            "__init__": __init__, "__module__": __name__, "__qualname__": "NotEventStream2",
            "__doc__": "NotEventStream for httpx2: also an ``httpx2.TransportError``.",
        })
        _HTTPX2["cls"] = cls
    return cls


def __getattr__(name: str) -> Any:
    if name == "NotEventStream2":  # unpickling one
        return _httpx2_class()
    raise AttributeError(name)


def not_event_stream(response: Any, error: APIStatusError) -> APIStatusError:
    """``error`` (from ``_http.status_error``) as the :class:`NotEventStream`
    of ``response``'s library, with the response's request attached."""
    cls = NotEventStream if library(response) is httpx else _httpx2_class()
    _, (_, args, kwargs) = error.__reduce__()
    out = cls(*args, **kwargs)
    try:
        out._request = response.request  # type: ignore[attr-defined]
    except RuntimeError:  # a response built without a request
        pass
    return out


# -- an httpx2 client under an httpx one -----------------------------------------
#
# The chat clients speak httpx (one set of retry, timeout and error rules); an
# httpx2 client given to them is driven through these transports: the request
# is rebuilt by the httpx2 client (its headers, cookies and auth apply), the
# body is read raw, and httpx2's exceptions become httpx's of the same name,
# so they map to the same turbosse errors.


def _httpx_error(exc: Exception, request: httpx.Request) -> Exception:
    """httpx's exception of the same name as httpx2's ``exc``."""
    for cls in type(exc).__mro__:
        ours = getattr(httpx, cls.__name__, None)
        if isinstance(ours, type) and issubclass(ours, httpx.RequestError):
            return ours(str(exc) or cls.__name__, request=request)
    return httpx.TransportError(str(exc) or type(exc).__name__, request=request)


def _request2(client: Any, request: httpx.Request) -> Any:
    return client.build_request(
        request.method, str(request.url), headers=request.headers.raw, content=request.content,
        extensions={k: v for k, v in request.extensions.items() if k == "timeout"},
    )


def _response(response2: Any, stream: Any, request: httpx.Request) -> httpx.Response:
    return httpx.Response(response2.status_code, headers=response2.headers.raw, stream=stream,
                          extensions=dict(response2.extensions), request=request)


class _Body(httpx.SyncByteStream):
    def __init__(self, response2: Any, request: httpx.Request, errors: type[Exception]) -> None:
        self._response2, self._request, self._errors = response2, request, errors

    def __iter__(self) -> Any:
        try:
            yield from self._response2.iter_raw()
        except self._errors as exc:
            raise _httpx_error(exc, self._request) from exc

    def close(self) -> None:
        self._response2.close()


class _AsyncBody(httpx.AsyncByteStream):
    def __init__(self, response2: Any, request: httpx.Request, errors: type[Exception]) -> None:
        self._response2, self._request, self._errors = response2, request, errors

    async def __aiter__(self) -> Any:
        try:
            async for chunk in self._response2.aiter_raw():
                yield chunk
        except self._errors as exc:
            raise _httpx_error(exc, self._request) from exc

    async def aclose(self) -> None:
        await self._response2.aclose()


class Httpx2Transport(httpx.BaseTransport):
    """An httpx transport sending through an ``httpx2.Client`` (the caller's:
    not closed here)."""

    def __init__(self, client: Any) -> None:
        import httpx2

        self.client = client
        self._errors = httpx2.HTTPError

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response2 = self.client.send(_request2(self.client, request), stream=True)
        except self._errors as exc:
            raise _httpx_error(exc, request) from exc
        return _response(response2, _Body(response2, request, self._errors), request)


class AsyncHttpx2Transport(httpx.AsyncBaseTransport):
    """:class:`Httpx2Transport` for an ``httpx2.AsyncClient``."""

    def __init__(self, client: Any) -> None:
        import httpx2

        self.client = client
        self._errors = httpx2.HTTPError

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response2 = await self.client.send(_request2(self.client, request), stream=True)
        except self._errors as exc:
            raise _httpx_error(exc, request) from exc
        return _response(response2, _AsyncBody(response2, request, self._errors), request)


def httpx_client_for(client2: Any, kind: type[Any], timeout: httpx.Timeout) -> Any:
    """An ``httpx.Client``/``httpx.AsyncClient`` (``kind``) sending through
    the httpx2 client ``client2``, or None if ``client2`` is not one of the
    matching kind."""
    import httpx2

    if kind is httpx.Client and isinstance(client2, httpx2.Client):
        return httpx.Client(transport=Httpx2Transport(client2), timeout=timeout)
    if kind is httpx.AsyncClient and isinstance(client2, httpx2.AsyncClient):
        return httpx.AsyncClient(transport=AsyncHttpx2Transport(client2), timeout=timeout)
    return None
