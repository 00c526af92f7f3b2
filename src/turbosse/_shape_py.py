"""Pure-Python twin of _shape_c.pyx: one decoder's learned chunk shape,
matched against later payloads without parsing them as JSON (see
_shape_common, which learns the shape and says why a match decodes exactly
as the full path would)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from orjson import JSONDecodeError, loads

from ._shape_common import backoff, confirm, learn, text_field

__all__ = ["Shapes"]

# A string's bytes up to its closing quote: no quote, backslash or control
# character (JSON forbids raw control characters in strings) ...
_PLAIN = re.compile(rb'[^"\\\x00-\x1f]*')
# ... or with escapes, which orjson then checks
_ESCAPED = re.compile(rb'(?:[^"\\\x00-\x1f]|\\[\x00-\xff])*')
# the ignored string: printable ASCII without escapes, else the full path
_ASCII = re.compile(rb"[\x20\x21\x23-\x5b\x5d-\x7e]*")


class Shapes:
    """The chunk shape one decoder learned (see _shape_common.learn):
    ``head`` + a JSON string + ``mid`` (+ an ignored string + ``tail``).
    ``base`` is the learned delta and ``field`` the one of its fields the
    string fills; ``hits`` counts the payloads matched."""

    __slots__ = ("event_type", "base", "field", "hits", "_head", "_mid", "_tail", "_fixed", "_wait", "_fails", "_learned_at",
                 "_source", "_probe")

    def __init__(self) -> None:
        self.event_type: str | None = None
        self.base: Any = None
        self.field = 0
        self.hits = 0
        self._head = self._mid = b""
        self._tail: bytes | None = None
        self._fixed = 0
        self._wait = 0  # events to let pass before the next attempt to learn
        self._fails = 0  # attempts in a row that learned nothing useful
        self._learned_at = -1  # hits when the shape was learned (-1: none yet)
        # the payload the shape was learned from, and the probe, until a
        # payload matches it and confirm() has checked it (None: confirmed)
        self._source: bytes | None = None
        self._probe: Callable[[str, bytes], Any] | None = None

    def match(self, event_type: str, payload: bytes) -> str | None:
        """The text in the shape's slot of ``payload``, or None when the
        payload is not of this shape (or the match is unsure: the full path
        decides then)."""
        if event_type != self.event_type or len(payload) < self._fixed or not payload.startswith(self._head):
            return None
        start = len(self._head)
        end = _PLAIN.match(payload, start).end()  # type: ignore[union-attr]
        escaped = end < len(payload) and payload[end] == 0x5C
        if escaped:
            end = _ESCAPED.match(payload, start).end()  # type: ignore[union-attr]
        if end == start or end >= len(payload) or not payload.startswith(self._mid, end):
            return None
        tail = self._tail
        if tail is None:
            if len(payload) - end != len(self._mid):
                return None
        else:
            close = _ASCII.match(payload, end + len(self._mid)).end()  # type: ignore[union-attr]
            if len(payload) - close != len(tail) or not payload.startswith(tail, close):
                return None
        try:
            text: str = loads(payload[start - 1 : end + 1]) if escaped else payload[start:end].decode()
        except (JSONDecodeError, UnicodeDecodeError):
            return None
        if self._source is not None:  # the first match: the probes decide first
            confirmed = self._confirm()
            if confirmed != 1:  # rejected; or another split of the same payload holds
                return self.match(event_type, payload) if confirmed == 2 else None
        self.hits += 1
        return text

    def _confirm(self) -> int:
        """The first match of an unconfirmed shape: 1 if confirm() keeps it;
        2 if it found another split of the payload learned from, which is the
        shape now; 0 if none holds (no shape until one is learned again)."""
        assert self._source is not None and self._probe is not None
        learned = (self.event_type, self._head, self._mid, self._tail, self.field, self.base)
        confirmed = confirm(learned, self._source, self._probe)  # type: ignore[arg-type]
        self._source = self._probe = None
        if confirmed is None:
            self.event_type = None  # nothing matches until a shape is learned again
            self._fails, self._wait = backoff(self._fails, False)
            return 0
        if confirmed != learned:
            self._take(confirmed)
            return 2
        return 1

    def _take(self, learned: Any) -> None:
        self.event_type, self._head, self._mid, self._tail, self.field, self.base = learned
        self._fixed = len(self._head) + len(self._mid) + (len(self._tail) if self._tail is not None else 0)

    def observe(self, event_type: str, payload: bytes, delta: Any, probe: Callable[[str, bytes], Any]) -> None:
        """The full path decoded ``payload`` to exactly ``delta``: learn its
        shape, unless attempts keep failing (then the wait between attempts
        doubles, up to LEARN_BACKOFF_MAX events)."""
        if self._wait:
            self._wait -= 1
            return
        if not text_field(delta):
            return
        learned = learn(event_type, payload, delta)
        # useless too: a shape learned while the last one never matched
        self._fails, self._wait = backoff(self._fails, learned is not None and self._learned_at != self.hits)
        if learned is not None:
            self._take(learned)
            self._learned_at = self.hits
            self._source, self._probe = payload, probe
