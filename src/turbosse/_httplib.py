"""httpx and httpx2 side by side: which of the two libraries a client or a
response belongs to, and the error for a response that is not an event
stream in that library's terms.

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

__all__ = ["NotEventStream", "library", "not_event_stream"]


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
