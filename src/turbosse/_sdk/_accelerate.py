"""``accelerate(client)``: an SDK client whose streaming calls read the bytes
with turbosse and build the SDK's own objects with :class:`ModelBuilder`.

Two attributes are set on the client *instance*, both methods the SDK's
``Stream``/``AsyncStream`` already call through the client:

- ``_make_sse_decoder`` returns turbosse's :class:`SSEDecoder`;
- ``_process_response_data`` builds the stream's event types (the ``cast_to``
  of a ``Stream[T]``) with the builder, and hands everything else (non-stream
  responses, strict validation, ``None``, other types) to the SDK's method.

The SDK's own stream loop stays in charge: the ``[DONE]`` check, its error
events and exception types, closing the response. Removing the two
attributes restores the client. A copy of the client (``with_options``,
``copy``) starts out stock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from ._build import ModelBuilder
from ._decoder import SSEDecoder

__all__ = ["Acceleration", "accelerate", "is_accelerated"]

_MARK = "_turbosse_accelerated"
_ATTRS = ("_make_sse_decoder", "_process_response_data")


def is_accelerated(client: Any) -> bool:
    """Whether ``accelerate(client)`` is in effect on this client."""
    return getattr(vars(client).get("_process_response_data"), _MARK, False) is True


def _install(client: Any, builder: ModelBuilder, event_types: Iterable[Any]) -> None:
    original = type(client)._process_response_data.__get__(client)
    converters: dict[Any, Callable[[Any], Any]] = {t: builder.converter(t) for t in event_types}

    def process_response_data(*, data: object, cast_to: Any, response: Any) -> Any:
        conv = converters.get(cast_to)
        if conv is None or data is None or client._strict_response_validation:
            return original(data=data, cast_to=cast_to, response=response)
        return conv(data)

    def make_sse_decoder(*options: Any, **named: Any) -> SSEDecoder:
        # anthropic 2.16 passes the request options (its own default ignores them)
        return SSEDecoder()

    setattr(process_response_data, _MARK, True)
    client._make_sse_decoder = make_sse_decoder
    client._process_response_data = process_response_data


def _remove(client: Any) -> None:
    if is_accelerated(client):
        for name in _ATTRS:
            vars(client).pop(name, None)


class Acceleration:
    """What :func:`accelerate` returns: the change is made already; as a
    context manager it puts the client back as it was on exit."""

    def __init__(self, client: Any, was: bool, install: Callable[[], None]) -> None:
        self.client = client
        self._was = was  # accelerated before the call
        self._install = install

    def __enter__(self) -> Any:
        return self.client

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        now = is_accelerated(self.client)
        if self._was and not now:  # accelerate(client, False) on an accelerated client
            self._install()
        elif now and not self._was:
            _remove(self.client)

    def __repr__(self) -> str:
        return f"<Acceleration of {type(self.client).__name__} active={is_accelerated(self.client)}>"


def accelerate(
    client: Any, enable: bool, *, builder: ModelBuilder, event_types: Iterable[Any], client_types: tuple[type, ...]
) -> Acceleration:
    """Accelerate (``enable``) or restore ``client``; shared by both SDKs'
    public ``accelerate``."""
    if not isinstance(client, client_types):
        names = " or ".join(t.__name__ for t in client_types)
        raise TypeError(f"accelerate() takes a {names} client, not {type(client).__name__}")
    was = is_accelerated(client)
    if enable and not was:
        _install(client, builder, event_types)
    elif not enable:
        _remove(client)
    return Acceleration(client, was, lambda: _install(client, builder, event_types))
