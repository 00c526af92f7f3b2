"""DeltaBuffer: coalesce token text for a slow consumer.

A UI repainting on every token, a message bus charging per message, a
database row updated per fragment: all want a few larger pieces rather than
hundreds of two-character ones. DeltaBuffer collects text and lets it out
when the oldest pending character has waited ``interval_ms`` or when
``min_chars`` characters are pending, whichever comes first; ``flush()`` lets
out the rest at the end. It is sans-IO: time is only looked at when text is
added or :meth:`poll` is called (call it from your own timer to flush a
stream that has gone quiet).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ._accumulator import ChatResult
from ._handler import StreamHandler

__all__ = ["DeltaBuffer"]


class DeltaBuffer(StreamHandler):
    """Coalesces text; flushes by time or by size, and a final flush.

    :param interval_ms: the longest a character waits before it is let out
        (default 50 ms; 0 lets every fragment out at once).
    :param min_chars: let the text out as soon as this many characters are
        pending (default 256; None: by time only).
    :param on_flush: called with each flushed piece; whether or not it is
        given, :meth:`add`, :meth:`poll` and :meth:`flush` return the piece
        they let out (None if none).
    :param clock: seconds as a float (default ``time.monotonic``).

    It is also a :class:`StreamHandler`: pass it to :func:`turbosse.accumulate`
    and it buffers choice 0's tokens and flushes at the end or on error.

    >>> t = [0.0]
    >>> buf = DeltaBuffer(interval_ms=100, min_chars=10, clock=lambda: t[0])
    >>> buf.add("Hel"), buf.add("lo")
    (None, None)
    >>> t[0] = 0.2
    >>> buf.add(",")
    'Hello,'
    >>> buf.add(" world, again"), buf.add("!"), buf.flush()
    (' world, again', None, '!')
    """

    def __init__(
        self,
        interval_ms: float = 50,
        min_chars: int | None = 256,
        *,
        on_flush: Callable[[str], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval_ms < 0:
            raise ValueError(f"interval_ms must be >= 0, not {interval_ms}")
        if min_chars is not None and min_chars < 1:
            raise ValueError(f"min_chars must be >= 1 or None, not {min_chars}")
        self.interval = interval_ms / 1000.0
        self.min_chars = min_chars
        self.on_flush = on_flush
        self.clock = clock
        self._parts: list[str] = []
        self._size = 0
        self._since = 0.0  # when the oldest pending text arrived

    @property
    def pending(self) -> int:
        """Characters waiting to be let out."""
        return self._size

    def add(self, text: str) -> str | None:
        """Add a fragment; return the piece let out now, if any."""
        if not text:
            return None
        if not self._parts:
            self._since = self.clock()
        self._parts.append(text)
        self._size += len(text)
        if (self.min_chars is not None and self._size >= self.min_chars) or self.due():
            return self.flush()
        return None

    def due(self) -> bool:
        """The oldest pending text has waited ``interval_ms`` or longer."""
        return bool(self._parts) and self.clock() - self._since >= self.interval

    def poll(self) -> str | None:
        """Let the text out if it is due (for a timer); else None."""
        return self.flush() if self.due() else None

    def flush(self) -> str | None:
        """Let out everything pending (the final flush); None if nothing."""
        if not self._parts:
            return None
        text = "".join(self._parts)
        self._parts.clear()
        self._size = 0
        if self.on_flush is not None:
            self.on_flush(text)
        return text

    # StreamHandler: buffer choice 0's answer text
    def on_token(self, text: str) -> None:
        self.add(text)

    def on_complete(self, result: ChatResult) -> None:
        self.flush()

    def on_error(self, exc: BaseException) -> None:
        self.flush()
