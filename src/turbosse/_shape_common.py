"""Learning a chunk shape: what both Shapes twins share (the matching is theirs).

Servers stream a chat completion as chunks that differ only in one string:
``{"id":"x","object":"chat.completion.chunk",...,"delta":{"content":"TOKEN"},
...}``. When a chunk decoded on the full path (orjson, then the mapping)
yields exactly one delta whose only varying field is ``content`` (or the
reasoning text), :func:`learn` finds that string's bytes in the payload and
splits the payload around it: ``head`` (up to and including its opening
quote) and ``mid`` (from its closing quote on). A later payload that starts
with ``head``, holds one JSON string, and ends with ``mid`` is the same chunk
with another text, so its delta is the learned one with that text (the
twins' ``Shapes.match``): no JSON document is parsed.

One more string may vary: OpenAI's ``"obfuscation"`` padding, whose value
the decoder ignores; then ``mid`` ends with that string's opening quote and
``tail`` starts with its closing quote.

Nothing is taken on trust. A split is used only once two probe payloads
(the learned bytes with other strings in the slots, escapes and a non-ASCII
character among them) decode, on the full path, to the learned delta with
the probe's text and nothing else (checked when a payload first matches
the split, before its text is used, so a stream that never repeats its
shape never pays for the probes): the slot then is that field, whatever the
JSON around it (duplicate keys, a nested "content", odd whitespace), because
JSON's grammar maps one string token to one value. A payload the match is
unsure of (an invalid escape, invalid UTF-8, a control character, an empty
text, any other byte changed) goes the full path, which decides as it always
did; so the deltas, and every error, are the full path's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

from orjson import JSONDecodeError, loads

__all__ = ["LEARN_BACKOFF_MAX", "MAX_SPLITS_TRIED", "Learned", "backoff", "confirm", "learn", "text_field"]

#: The longest wait, in events, between two attempts to learn a shape on a
#: stream where they keep failing (the wait doubles after each failure).
LEARN_BACKOFF_MAX = 1024
#: Other splits of a payload :func:`confirm` tries when the learned one fails.
MAX_SPLITS_TRIED = 8

#: (event_type, head, mid, tail or None, field, the learned delta)
Learned = tuple[str, bytes, bytes, "bytes | None", int, Any]

# The keys whose string value can be a delta's text, by the Delta field it
# fills (2: content, 3: reasoning); see openai_chunk in the decoder twins.
_KEYS = {2: (b'"content"', b'"text"'), 3: (b'"reasoning_content"', b'"reasoning"')}
_IGNORED_KEY = b'"obfuscation"'
# Probe strings (the bytes between the quotes) and the text each decodes to.
_PROBES = ((b"\\u2603 \\\"probe\\\\\\n", '\u2603 "probe\\\n'), (b"\xc3\xa9t\xc3\xa9 2", "\u00e9t\u00e9 2"))
_IGNORED_PROBES = (b"TurboSSE", b"")
_WS = b" \t\r\n"


def text_field(delta: Any) -> int:
    """The Delta field (2 content, 3 reasoning) that is ``delta``'s only
    text, when it carries nothing else but an index and a role; else 0."""
    _index, _role, content, reasoning, refusal, tool_calls, finish, usage = delta
    if refusal is not None or tool_calls is not None or finish is not None or usage is not None:
        return 0
    if content is not None and reasoning is None:
        return 2
    if reasoning is not None and content is None:
        return 3
    return 0


def backoff(fails: int, useful: bool) -> tuple[int, int]:
    """``(fails, wait)`` after an attempt to learn a shape: both 0 when it
    was ``useful`` (a shape learned, and the one before it had matched), else
    one more failure and a wait that doubles with each, in events, up to
    LEARN_BACKOFF_MAX: a stream whose chunks never share a shape costs a few
    attempts, not one per chunk."""
    if useful:
        return 0, 0
    fails += 1
    return fails, min(1 << min(fails, 62), LEARN_BACKOFF_MAX)


def _value_quote(payload: bytes, pos: int) -> int:
    """The position of the opening quote of the string value after a key
    ending at ``pos`` (``: "``, whitespace allowed), else -1."""
    n = len(payload)
    while pos < n and payload[pos] in _WS:
        pos += 1
    if pos >= n or payload[pos] != 0x3A:  # ':'
        return -1
    pos += 1
    while pos < n and payload[pos] in _WS:
        pos += 1
    return pos if pos < n and payload[pos] == 0x22 else -1


def _closing_quote(payload: bytes, open_: int) -> int:
    """The position of the quote that closes the string opened at ``open_``, else -1."""
    i, n = open_ + 1, len(payload)
    while i < n:
        c = payload[i]
        if c == 0x22:
            return i
        i += 2 if c == 0x5C else 1
    return -1


def _string(token: bytes) -> Any:
    try:
        return loads(token)
    except JSONDecodeError:
        return None


def _ignored_slot(payload: bytes, start: int) -> tuple[int, int] | None:
    """The (opening, closing) quotes of the one ignored string after ``start``."""
    pos = payload.find(_IGNORED_KEY, start)
    if pos == -1 or payload.find(_IGNORED_KEY, pos + 1) != -1:
        return None
    open_ = _value_quote(payload, pos + len(_IGNORED_KEY))
    if open_ == -1:
        return None
    close = _closing_quote(payload, open_)
    return (open_, close) if close != -1 else None


def _verified(learned: Learned, probe: Callable[[str, bytes], Any]) -> bool:
    """The full path agrees: each probe payload decodes to the learned
    delta with the probe's text, and only that."""
    event_type, head, mid, tail, field, delta = learned
    for (body, text), ignored in zip(_PROBES, _IGNORED_PROBES):
        payload = head + body + mid if tail is None else head + body + mid + ignored + tail
        expected = list(delta)
        expected[field] = text
        got = probe(event_type, payload)
        if type(got) is not list or len(got) != 1 or tuple(got[0]) != tuple(expected):
            return False
    return True


def _splits(event_type: str, payload: bytes, delta: Any) -> Iterator[Learned]:
    """Every split of ``payload`` (decoded on the full path to exactly
    ``delta``) whose slot holds the delta's text, in order."""
    field = text_field(delta)
    if not field:
        return
    text = delta[field]
    for key in _KEYS[field]:
        pos = payload.find(key)
        while pos != -1:
            open_ = _value_quote(payload, pos + len(key))
            close = _closing_quote(payload, open_) if open_ != -1 else -1
            if close != -1 and _string(payload[open_ : close + 1]) == text:
                slot = _ignored_slot(payload, close + 1)
                if slot is None:
                    yield (event_type, payload[: open_ + 1], payload[close:], None, field, delta)
                else:
                    o_open, o_close = slot
                    yield (event_type, payload[: open_ + 1], payload[close : o_open + 1], payload[o_close:], field, delta)
            pos = payload.find(key, pos + 1)


def learn(event_type: str, payload: bytes, delta: Any) -> Learned | None:
    """A shape of ``payload``, which the full path decoded to exactly
    ``delta``: its first split whose slot holds the text; None if it has
    none. Not yet trusted: :func:`confirm` checks it when a later payload
    first matches it (so a stream that never repeats its shape, a short one
    say, never pays for the probes)."""
    return next(_splits(event_type, payload, delta), None)


def confirm(learned: Learned, payload: bytes, probe: Callable[[str, bytes], Any]) -> Learned | None:
    """``learned`` (from ``payload``) if :func:`_verified` confirms it, else
    the first other split of ``payload`` that it confirms, else None.
    ``probe(event_type, payload)`` decodes a payload on the full path,
    without side effects, to its list of deltas (None for an error or an
    invalid chunk)."""
    if _verified(learned, probe):
        return learned
    # each split costs a pass over the payload and two probe decodes: a
    # payload with the text in thousands of places (hostile, or junk) would
    # make one event quadratic, so only the first few are tried; a stream
    # whose own slot lies beyond them stays on the full path
    for other in islice(_splits(learned[0], payload, learned[5]), MAX_SPLITS_TRIED):
        if other != learned and _verified(other, probe):
            return other
    return None
