"""The SDKs' SSE decoder protocol (``iter_bytes`` / ``aiter_bytes`` yielding
events with ``event``, ``data``, ``id``, ``retry`` and ``json()``) on top of
:class:`turbosse.SSEParser`.

What the SDKs' code depends on is kept: ``event`` is ``None`` when the block
had no ``event:`` field, ``id`` is ``None`` while no ID was set, the sentinel
(``[DONE]``) is passed through for the SDK to see, and ``json()`` returns what
``json.loads`` returns. Where the SDK's own decoder departs from the WHATWG
rules, turbosse's parser keeps the rules (the README lists these): a leading
BOM is skipped, invalid UTF-8 becomes U+FFFD instead of raising, a blank line
after an ``id:`` dispatches nothing when there is no data, and an invalid
``retry`` (``-5``, ``1e3``) is ignored.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from .. import DEFAULT_MAX_EVENT_BYTES, EventTooLarge, SSEParser

__all__ = ["SDKEvent", "SSEDecoder"]


class SDKEvent:
    """One event as the SDKs read it."""

    __slots__ = ("data", "event", "id", "retry")

    def __init__(self, event: str | None, data: str, id: str | None, retry: int | None) -> None:
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry

    @property
    def raw(self) -> list[str]:
        """The anthropic SDK's "original wire lines": always empty, as for its
        events that were constructed rather than decoded (turbosse keeps no
        lines; the SDK's middleware re-serializes from ``event`` and ``data``)."""
        return []

    def json(self) -> Any:
        """``data`` decoded by ``json.loads``, as the SDKs decode it. (orjson
        would differ on integers past 64 bits, which it makes floats, and
        telling such documents apart costs as much as ``json.loads``.)"""
        return json.loads(self.data)

    def __repr__(self) -> str:
        return f"SDKEvent(event={self.event!r}, data={self.data!r}, id={self.id!r}, retry={self.retry!r})"


def _events(parsed: Iterable[Any]) -> Iterator[SDKEvent]:
    for ev in parsed:
        yield SDKEvent(ev.event, ev.data, ev.id or None, ev.retry)


class SSEDecoder:
    """What ``client._make_sse_decoder()`` returns once accelerated; usable
    alone as well.

    :param max_event_bytes: the parser's cap on one line or one event's data
        (default 8 MiB, ``None`` for none); crossing it raises
        :class:`turbosse.EventTooLarge`. The SDKs' own decoder has no cap.
    """

    __slots__ = ("_max_event_bytes",)

    def __init__(self, *, max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._max_event_bytes = max_event_bytes

    def _parser(self) -> SSEParser:
        return SSEParser(max_event_bytes=self._max_event_bytes, default_event=None)

    def iter_bytes(self, iterator: Iterable[bytes]) -> Iterator[SDKEvent]:
        """Yield every event in the byte chunks, as they complete."""
        parser = self._parser()
        feed = parser.feed
        for chunk in iterator:
            try:
                evs = feed(chunk)
            except EventTooLarge as exc:  # the events before it come first, whatever the reads
                yield from _events(exc.events)
                raise
            if evs:
                yield from _events(evs)
        yield from _events(parser.close())

    async def aiter_bytes(self, iterator: AsyncIterator[bytes]) -> AsyncIterator[SDKEvent]:
        """:meth:`iter_bytes` for an async iterator of byte chunks."""
        parser = self._parser()
        feed = parser.feed
        async for chunk in iterator:
            try:
                evs = feed(chunk)
            except EventTooLarge as exc:  # see iter_bytes
                for before in _events(exc.events):
                    yield before
                raise
            for ev in evs:
                yield SDKEvent(ev.event, ev.data, ev.id or None, ev.retry)
        for ev in parser.close():
            yield SDKEvent(ev.event, ev.data, ev.id or None, ev.retry)

