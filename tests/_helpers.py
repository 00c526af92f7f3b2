"""Shared helpers for the SSEParser tests: feeding a stream in several
chunkings, comparing outcomes, and an independent reference parser.

Nothing here imports a twin: every function takes the parser module
(``turbosse._parser_c`` or ``turbosse._parser_py``) as an argument.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from turbosse import EventTooLarge

#: (event, data, id, retry): how tests write and compare events.
EventTuple = tuple[str, str, str, "int | None"]

#: retry values are kept exactly; one with more significant digits than this
#: is ignored (documented tolerance, _parser_common.RETRY_MAX_DIGITS).
RETRY_MAX_DIGITS = 4300

BOM = b"\xef\xbb\xbf"


def E(data: str, event: str | None = "message", id: str = "", retry: int | None = None) -> EventTuple:
    """An expected event, written like the ServerSentEvent constructor."""
    return (event, data, id, retry)


def as_tuple(ev: Any) -> EventTuple:
    return (ev.event, ev.data, ev.id, ev.retry)


@dataclass(frozen=True)
class Outcome:
    """Everything observable after feeding a stream and calling close().

    ``events`` holds every event the parser handed out: the lists returned by
    feed() and close() plus, when EventTooLarge was raised, its ``.events``.
    ``error`` is ``(type, message, limit)`` of that EventTooLarge, else None.
    ``batches`` (one tuple per feed()/close() call, excluded from ==) lets
    twins be compared on the *same* chunking, where even the split of events
    between calls must agree. ``unterminated`` is the parser's flag after
    close() (False when close() was not reached).
    """

    events: tuple[EventTuple, ...]
    last_event_id: str
    retry: int | None
    done: bool
    error: tuple[type, str, int] | None
    batches: tuple[tuple[EventTuple, ...], ...] = field(compare=False)
    unterminated: bool = False


def run(mod: ModuleType, chunks: Iterable[Any], **options: Any) -> Outcome:
    """Feed ``chunks`` to a fresh ``mod.SSEParser(**options)``, then close()."""
    parser = mod.SSEParser(**options)
    events: list[EventTuple] = []
    batches: list[tuple[EventTuple, ...]] = []
    error = None

    def take(batch: Any) -> None:
        assert type(batch) is list, f"feed()/close() must return a list, got {type(batch)}"
        for ev in batch:
            assert isinstance(ev, mod.ServerSentEvent), type(ev)
        batches.append(tuple(as_tuple(ev) for ev in batch))
        events.extend(batches[-1])

    try:
        for chunk in chunks:
            take(parser.feed(chunk))
    except EventTooLarge as exc:
        take(exc.events)
        error = (type(exc), str(exc), exc.limit)
    else:
        take(parser.close())
    return Outcome(
        tuple(events), parser.last_event_id, parser.retry, parser.done, error, tuple(batches),
        error is None and parser.unterminated,
    )


def strict(outcome: Outcome) -> tuple[Any, ...]:
    """An outcome as a tuple that includes how events were split over calls."""
    return (outcome.batches, outcome.last_event_id, outcome.retry, outcome.done, outcome.error,
            outcome.unterminated)


def split_at(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """Split ``data`` at the given offsets (repeated offsets give empty chunks)."""
    chunks, start = [], 0
    for cut in sorted(cuts):
        chunks.append(data[start:cut])
        start = cut
    chunks.append(data[start:])
    return chunks


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def random_chunks(data: bytes, rng: random.Random, lo: int = 1, hi: int = 64) -> list[bytes]:
    chunks, i = [], 0
    while i < len(data):
        n = rng.randint(lo, hi)
        chunks.append(data[i : i + n])
        i += n
    return chunks


def chunkings(data: bytes, seed: int = 0, n_random: int = 8) -> Iterator[tuple[str, list[bytes]]]:
    """Whole, byte by byte, every split into two pieces, and random splits."""
    yield "whole", [data]
    yield "bytewise", bytewise(data)
    for i in range(1, len(data)):
        yield f"split@{i}", [data[:i], data[i:]]
    rng = random.Random(seed)
    for k in range(n_random):
        cuts = rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 6))) if len(data) > 1 else []
        yield f"random#{k}{sorted(cuts)}", split_at(data, cuts)


def run_all_ways(mod: ModuleType, data: bytes, *, seed: int = 0, **options: Any) -> Outcome:
    """Run ``data`` fed whole, byte by byte and at many split points; assert
    that every chunking gives the same outcome, and return it."""
    reference = run(mod, [data], **options)
    for label, chunks in chunkings(data, seed):
        outcome = run(mod, chunks, **options)
        assert outcome == reference, f"fed {label} ({chunks!r}) differs from fed whole"
    return reference


# -- an independent reference parser --------------------------------------------
#
# A direct, line-based transcription of WHATWG HTML 9.2.6 "Parsing an event
# stream" (and the event dispatch of 9.2.7) over the *decoded text*, written
# for clarity, not speed, and sharing no code with either twin.

_EOL = re.compile("\r\n|\r|\n")


@dataclass(frozen=True)
class Reference:
    events: tuple[EventTuple, ...]
    last_event_id: str
    retry: int | None
    done: bool
    #: the input ended inside an event: a partial line, or field lines
    #: (data, a non-empty event, an accepted id or retry) with no blank line
    unterminated: bool = False


def _retry_value(value: str) -> int | None:
    digits = value.lstrip("0") or "0"
    return None if len(digits) > RETRY_MAX_DIGITS else int(digits)


def reference_parse(
    stream: bytes, sentinel: str | None = None, default_event: str | None = "message"
) -> Reference:
    """The events a spec-conforming parser dispatches for the whole ``stream``
    (followed by end of input). ``sentinel``: data that ends the stream;
    ``default_event``: the type of an event whose block set none."""
    # "Streams must be decoded using the UTF-8 decode algorithm": U+FFFD for
    # invalid sequences, and one leading BOM is removed.
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    # A line ends at CRLF, LF or CR; the text after the last line end is an
    # unterminated line, discarded at end of file.
    *lines, tail = _EOL.split(text)
    id_pending = False  # an id field in the block being read
    data_buffer = event_type = last_id_buffer = last_event_id = ""
    retry: int | None = None
    block_retry: int | None = None
    events: list[EventTuple] = []
    for line in lines:
        if line == "":
            # dispatch the event
            last_event_id = last_id_buffer
            id_pending = False
            if data_buffer == "":
                data_buffer = event_type = ""
                block_retry = None
                continue
            if data_buffer.endswith("\n"):
                data_buffer = data_buffer[:-1]
            if sentinel is not None and data_buffer == sentinel:
                return Reference(tuple(events), last_event_id, retry, True)
            events.append((event_type or default_event, data_buffer, last_event_id, block_retry))
            data_buffer = event_type = ""
            block_retry = None
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            name, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = line, ""
        if name == "event":
            event_type = value
        elif name == "data":
            data_buffer += value + "\n"
        elif name == "id":
            if "\0" not in value:
                last_id_buffer = value
                id_pending = True
        elif name == "retry":
            if value and all(c in "0123456789" for c in value):
                exact = _retry_value(value)
                if exact is not None:
                    retry = block_retry = exact
    unterminated = bool(tail or data_buffer or event_type or id_pending or block_retry is not None)
    return Reference(tuple(events), last_event_id, retry, False, unterminated)


def assert_matches_reference(outcome: Outcome, ref: Reference, what: str = "") -> None:
    assert outcome.error is None, f"{what}: unexpected {outcome.error}"
    assert outcome.events == ref.events, what
    assert (outcome.last_event_id, outcome.retry, outcome.done) == (
        ref.last_event_id,
        ref.retry,
        ref.done,
    ), what


def first_difference(a: Sequence[Any], b: Sequence[Any]) -> str:
    """A short description of where two event sequences first differ."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"event #{i}: {x!r} != {y!r}"
    return f"lengths differ: {len(a)} != {len(b)}"
