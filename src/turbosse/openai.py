"""turbosse inside the openai SDK (imported on first use; not a dependency).

- :class:`SSEDecoder`: the SDK's decoder protocol on turbosse's parser.
- :func:`accelerate`: after ``accelerate(client)`` the client's streaming
  calls (``chat.completions.create(stream=True)`` and ``.stream()``,
  ``responses.create(stream=True)`` and ``.stream()``, legacy
  ``completions.create(stream=True)``; sync and async) yield the SDK's own
  objects, equal to the stock SDK's, several times faster.
- :func:`stream` / :func:`astream`: the SDK makes the request, turbosse reads
  the bytes and yields :class:`turbosse.Delta` tuples.

Example::

    client = openai.OpenAI()
    turbosse.openai.accelerate(client)
    for chunk in client.chat.completions.create(model=..., messages=..., stream=True):
        ...  # openai.types.chat.ChatCompletionChunk, as before

    for text in turbosse.openai.stream(client, model=..., messages=...).text_stream:
        print(text, end="")
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ._handler import Callbacks
from ._sdk._accelerate import Acceleration, is_accelerated
from ._sdk._accelerate import accelerate as _accelerate
from ._sdk._decoder import SSEDecoder
from ._sdk._direct import AsyncDirectStream, DirectStream, streaming

__all__ = ["AsyncDirectStream", "DirectStream", "SSEDecoder", "accelerate", "astream", "is_accelerated", "stream"]

# route -> (resource path on the client, turbosse ChatDecoder format)
_ROUTES = {
    "chat": (("chat", "completions"), "openai-chat"),
    "responses": (("responses",), "openai-responses"),
    "completions": (("completions",), "openai-chat"),
}


@cache
def _sdk() -> tuple[Any, tuple[Any, ...], tuple[type, ...]]:
    import openai
    from openai import _models
    from openai.types import Completion
    from openai.types.chat import ChatCompletionChunk
    from openai.types.responses import ResponseStreamEvent

    from ._sdk._build import ModelBuilder

    return ModelBuilder(_models), (ChatCompletionChunk, ResponseStreamEvent, Completion), (
        openai.OpenAI, openai.AsyncOpenAI)


def accelerate(client: Any, enable: bool = True) -> Acceleration:
    """Make ``client`` (an ``openai.OpenAI`` or ``AsyncOpenAI``, Azure's
    included) stream through turbosse; ``accelerate(client, False)`` undoes
    it. As a context manager the client is restored on exit::

        with turbosse.openai.accelerate(client):
            ...

    Chunks and events are the SDK's own classes, equal to the stock SDK's
    (fields, extra fields, ``model_fields_set``), so the SDK's helpers
    (``get_final_completion()``, ``ResponseStream``) work unchanged, and
    in-stream errors raise the SDK's exceptions. Only the SSE decoding
    differs, where the SDK's decoder breaks the SSE rules (see the README).
    Copies of the client (``with_options``) start out stock.
    """
    builder, event_types, client_types = _sdk()
    return _accelerate(client, enable, builder=builder, event_types=event_types, client_types=client_types)


def _resource(client: Any, route: str) -> tuple[Any, str]:
    try:
        path, format = _ROUTES[route]
    except KeyError:
        raise ValueError(f"route must be one of {', '.join(_ROUTES)}, not {route!r}") from None
    resource = client
    for name in path:
        resource = getattr(resource, name)
    return resource.with_streaming_response, format


def _route(params: dict[str, Any]) -> str:
    if "input" in params:
        return "responses"
    if "prompt" in params:
        return "completions"
    return "chat"


def stream(client: Any, *, route: str | None = None, handler: Callbacks | None = None, **params: Any) -> DirectStream:
    """Stream a call made by the SDK's ``client`` (``openai.OpenAI``), read by
    turbosse: ``params`` are the ``create()`` arguments (``stream=True`` is
    added; ``handler``: :class:`turbosse.StreamHandler` callbacks, as for
    ``turbosse.accumulate``). ``route`` is ``"chat"`` (``chat.completions``), ``"responses"`` or
    ``"completions"``; by default ``"responses"`` when ``input`` is given,
    ``"completions"`` for ``prompt``, else ``"chat"``. Returns a
    :class:`DirectStream`; the request is made when it is first read."""
    resource, format = _resource(client, route or _route(params))
    return DirectStream(streaming(resource.create, params), format, handler)


def astream(
    client: Any, *, route: str | None = None, handler: Callbacks | None = None, **params: Any
) -> AsyncDirectStream:
    """:func:`stream` for an ``openai.AsyncOpenAI`` client; returns an
    :class:`AsyncDirectStream` (``async for``, ``await .result()``)."""
    resource, format = _resource(client, route or _route(params))
    return AsyncDirectStream(streaming(resource.create, params), format, handler)
