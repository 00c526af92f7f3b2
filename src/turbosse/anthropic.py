"""turbosse inside the anthropic SDK (imported on first use; not a dependency).

- :class:`SSEDecoder`: the SDK's decoder protocol on turbosse's parser.
- :func:`accelerate`: after ``accelerate(client)`` the client's
  ``messages.create(stream=True)`` and ``messages.stream()`` (and the beta
  ones; sync and async) yield the SDK's own events, equal to the stock SDK's,
  faster.
- :func:`stream` / :func:`astream`: the SDK makes the request, turbosse reads
  the bytes and yields :class:`turbosse.Delta` tuples.

Example::

    client = anthropic.Anthropic()
    turbosse.anthropic.accelerate(client)
    with client.messages.stream(model=..., max_tokens=..., messages=...) as s:
        message = s.get_final_message()  # anthropic.types.Message, as before
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


@cache
def _sdk() -> tuple[Any, tuple[Any, ...], tuple[type, ...]]:
    import anthropic
    from anthropic import _models
    from anthropic.types import RawMessageStreamEvent
    from anthropic.types.beta import BetaRawMessageStreamEvent

    from ._sdk._build import ModelBuilder

    return ModelBuilder(_models), (RawMessageStreamEvent, BetaRawMessageStreamEvent), (
        anthropic.Anthropic, anthropic.AsyncAnthropic)


def accelerate(client: Any, enable: bool = True) -> Acceleration:
    """Make ``client`` (an ``anthropic.Anthropic`` or ``AsyncAnthropic``)
    stream through turbosse; ``accelerate(client, False)`` undoes it. As a
    context manager the client is restored on exit.

    Events are the SDK's own classes, equal to the stock SDK's, so
    ``MessageStream`` and ``get_final_message()`` work unchanged, and an
    ``event: error`` raises the SDK's exception. Only the SSE decoding
    differs, where the SDK's decoder breaks the SSE rules (see the README).
    Copies of the client (``with_options``) start out stock.
    """
    builder, event_types, client_types = _sdk()
    return _accelerate(client, enable, builder=builder, event_types=event_types, client_types=client_types)


def stream(client: Any, *, handler: Callbacks | None = None, **params: Any) -> DirectStream:
    """Stream ``client.messages.create(**params)`` (``stream=True`` added;
    ``handler``: :class:`turbosse.StreamHandler` callbacks), the request made by the SDK, the bytes read by turbosse. Returns a
    :class:`DirectStream`; the request is made when it is first read."""
    create = client.messages.with_streaming_response.create
    return DirectStream(streaming(create, params), "anthropic", handler)


def astream(client: Any, *, handler: Callbacks | None = None, **params: Any) -> AsyncDirectStream:
    """:func:`stream` for an ``anthropic.AsyncAnthropic`` client."""
    create = client.messages.with_streaming_response.create
    return AsyncDirectStream(streaming(create, params), "anthropic", handler)
