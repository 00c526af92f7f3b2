"""Pure-Python SSE parser: the reference twin of ``_parser_c.pyx``.

Implements the WHATWG HTML standard, section 9.2.6 "Parsing an event stream"
and 9.2.7 (the event stream interpretation), on bytes. Working on bytes rather
than on decoded text is exact, not an approximation: every byte the grammar
looks at (CR, LF, ":", " ", NUL, digits) is ASCII, and an ASCII byte is never
part of a multi-byte UTF-8 sequence, so splitting before decoding yields the
same characters, U+FFFD replacements included, as decoding the whole stream
first.

Both twins must behave identically; the test suite runs against both.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, final

from ._errors import EventTooLarge, SSEError
from ._exactjson import loads
from ._parser_common import (
    BUSY_MESSAGE,
    DEFAULT_MAX_EVENT_BYTES,
    FAILED_MESSAGE,
    check_options,
    event_fields,
    parse_retry,
)

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "SSEParser", "ServerSentEvent"]

_BOM = b"\xef\xbb\xbf"
_NO_LIMIT = sys.maxsize  # stands for max_event_bytes=None in comparisons


@final
class ServerSentEvent:
    """One dispatched event: immutable, compared and hashed by value.

    ``event`` is the event type (``"message"`` when the stream gave none, or
    the parser's ``default_event``),
    ``data`` the data lines joined with ``"\\n"``, ``id`` the last event ID in
    effect when the event was dispatched (``""`` if none) and ``retry`` the last
    valid ``retry`` field of this event's own block, else ``None``.
    """

    # One slot holding a 4-tuple: the parser creates an event with one
    # object.__new__ and one slot store, about 3x cheaper than four stores.
    __slots__ = ("_fields",)

    _fields: tuple[str | None, str, str, int | None]

    def __init__(
        self, event: str | None = "message", data: str = "", id: str = "", retry: int | None = None
    ) -> None:
        if _is_set(self):  # __init__ called again on a made event
            raise AttributeError("ServerSentEvent is immutable")
        _set_fields(self, event_fields(event, data, id, retry))

    @property
    def event(self) -> str | None:
        return self._fields[0]

    @property
    def data(self) -> str:
        return self._fields[1]

    @property
    def id(self) -> str:
        return self._fields[2]

    @property
    def retry(self) -> int | None:
        return self._fields[3]

    def json(self) -> Any:
        """Decode ``data`` as JSON (with orjson; an integer beyond 64 bits
        stays exact, see :func:`turbosse._exactjson.loads`)."""
        return loads(self._fields[1])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ServerSentEvent is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ServerSentEvent is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return self._fields == other._fields

    def __hash__(self) -> int:
        return hash(self._fields)

    def __repr__(self) -> str:
        event, data, id, retry = self._fields
        return f"ServerSentEvent(event={event!r}, data={data!r}, id={id!r}, retry={retry!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ServerSentEvent, self._fields)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The compiled twin's class is final; keep the twins interchangeable.
        raise TypeError("ServerSentEvent cannot be subclassed")


_new_event = object.__new__
_set_fields = ServerSentEvent._fields.__set__  # type: ignore[attr-defined,misc]


def _is_set(event: ServerSentEvent) -> bool:
    try:
        event._fields  # noqa: B018
    except AttributeError:
        return False
    return True


class SSEParser:
    """Incremental, sans-IO parser for ``text/event-stream`` bytes.

    Feed it the bytes of a response as they arrive, in chunks of any size and
    split anywhere; it returns the events each chunk completes.

    :param max_event_bytes: cap, in bytes, on a single line and on one event's
        accumulated data (default :data:`DEFAULT_MAX_EVENT_BYTES`, 8 MiB;
        ``None`` for no cap). Crossing it raises :class:`EventTooLarge`, whose
        ``events`` attribute keeps the events completed earlier in that call.
        The parser cannot be used after that error.
    :param sentinel: a payload such as ``b"[DONE]"`` that ends the stream: the
        event carrying exactly that data is not returned, :attr:`done` becomes
        true and every later byte is ignored.
    :param default_event: the event type of a block with no ``event`` field
        (or an empty one): ``"message"`` by default, as the standard says, or
        None, which makes such an event's :attr:`ServerSentEvent.event` None
        (what the openai and anthropic SDKs' decoders report).

    Example::

        >>> parser = SSEParser(sentinel=b"[DONE]")
        >>> parser.feed(b'data: {"x": 1}\\n\\ndata: [DO')
        [ServerSentEvent(event='message', data='{"x": 1}', id='', retry=None)]
        >>> parser.feed(b"NE]\\n\\n"), parser.done
        ([], True)
    """

    __slots__ = (
        "_limit",
        "_max_event_bytes",
        "_sentinel",
        "_default_event",
        "_pending",
        "_skip_lf",
        "_at_start",
        "_data",
        "_data_more",
        "_data_size",
        "_event_type",
        "_id_buffer",
        "_id_dirty",
        "_last_event_id",
        "_retry",
        "_block_retry",
        "_done",
        "_closed",
        "_unterminated",
        "_failed",
        "_busy",
    )

    def __init__(
        self,
        *,
        max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
        sentinel: bytes | str | None = None,
        default_event: str | None = "message",
    ) -> None:
        self._limit, self._sentinel, self._default_event = check_options(
            max_event_bytes, sentinel, default_event
        )
        self._max_event_bytes = max_event_bytes
        self._pending = bytearray()  # an unterminated line carried to the next feed
        self._skip_lf = False  # the last chunk ended in CR: a leading LF belongs to it
        self._at_start = True  # no byte seen yet: a leading BOM is still possible
        # The data buffer: the first data line as it came, then (from the
        # second line on) a bytearray of the lines joined with "\n". A list of
        # lines joined at dispatch would cost ~85 bytes per line (bytes.join
        # takes a buffer view of each item), far beyond max_event_bytes for
        # many short lines; this keeps the memory within the cap.
        self._data: bytes | None = None  # None: no data field in this block
        self._data_more: bytearray | None = None
        self._data_size = 0  # bytes of the joined data buffer
        self._event_type = b""
        self._id_buffer = b""
        self._id_dirty = False  # id buffer changed since last_event_id was set
        self._last_event_id = ""
        self._retry: int | None = None
        self._block_retry: int | None = None
        self._done = False
        self._closed = False
        self._unterminated = False
        self._failed = False
        self._busy = threading.Lock()  # held while a feed() runs

    @property
    def last_event_id(self) -> str:
        """The last event ID string, updated when a blank line ends a block."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time (ms) from the latest valid ``retry`` field,
        exact at any size (a value of more than 4300 digits is ignored)."""
        return self._retry

    @property
    def done(self) -> bool:
        """True once the sentinel payload has been seen."""
        return self._done

    @property
    def unterminated(self) -> bool:
        """After :meth:`close`: the input ended inside an event (a line with no
        line end, or field lines with no blank line after them), whose bytes
        were discarded. False before close() and once :attr:`done`."""
        return self._unterminated

    @property
    def max_event_bytes(self) -> int | None:
        """The cap given to the constructor (None for no cap)."""
        return self._max_event_bytes

    @property
    def sentinel(self) -> bytes | None:
        """The end-of-stream payload as bytes, or None."""
        return self._sentinel

    @property
    def default_event(self) -> str | None:
        """The event type reported for a block without one."""
        return self._default_event

    def feed(self, data: bytes | bytearray | memoryview) -> list[ServerSentEvent]:
        """Parse the next chunk; return the events it completed (maybe [])."""
        return self._feed(data, False)

    def _feed_raw(self, data: bytes | bytearray | memoryview) -> list[tuple[str | None, bytes]]:
        """Like feed(), but each dispatched event is ``(event_type, data_bytes)``:
        the data stays undecoded bytes for orjson. Used by the decoder layer."""
        return self._feed(data, True)

    def _feed(self, data: bytes | bytearray | memoryview, raw: bool) -> list[Any]:
        if not self._busy.acquire(blocking=False):
            raise SSEError(BUSY_MESSAGE)
        try:
            return self._feed_locked(data, raw)
        finally:
            self._busy.release()

    def _feed_locked(self, data: bytes | bytearray | memoryview, raw: bool) -> list[Any]:
        if self._failed:
            raise SSEError(FAILED_MESSAGE)
        if self._closed:
            raise SSEError("feed() called after close()")
        if type(data) is not bytes:
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(
                    f"feed() takes bytes, bytearray or memoryview, not {type(data).__name__}"
                )
            data = bytes(data)
        if self._done or not data:
            return []
        if self._at_start:
            # Decoding strips one UTF-8 BOM at the very start of the stream
            # (WHATWG 9.2.6, via "UTF-8 decode"); it may arrive split.
            data = bytes(self._pending) + data
            self._pending.clear()
            if len(data) < 3 and _BOM.startswith(data):
                self._pending += data
                return []
            if data.startswith(_BOM):
                data = data[3:]
            self._at_start = False
        if self._skip_lf:
            # A CR ended the previous chunk's last line; an LF right after it
            # belongs to the same CRLF line ending.
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        if b"\r" in data:
            # Lines end at CRLF, LF or CR (9.2.6 "end-of-line").
            self._skip_lf = data.endswith(b"\r")
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = data.split(b"\n")
        tail = lines.pop()
        events: list[Any] = []
        if lines:
            if self._pending:
                lines[0] = bytes(self._pending) + lines[0]
                self._pending.clear()
            self._process(lines, events, raw)
            if self._done:
                self._pending.clear()
                return events
        if tail:
            self._pending += tail
            if 0 <= self._limit < len(self._pending):
                self._fail("a line", events)
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of input. An unterminated line or an event without its closing
        blank line is discarded (WHATWG 9.2.6: "If the file ends in the middle
        of an event, before the final empty line, the incomplete event is not
        dispatched"); :attr:`unterminated` then tells that it happened.
        Returns the events completed by ending the input, which is always []
        because every line end is acted on as soon as it arrives.
        """
        if self._failed:
            raise SSEError(FAILED_MESSAGE)
        if not self._busy.acquire(blocking=False):
            raise SSEError(BUSY_MESSAGE)
        try:
            self._closed = True
            self._unterminated = not self._done and bool(
                self._pending  # a partial line (or a partial BOM at the start)
                or self._data is not None
                or self._event_type
                or self._id_dirty
                or self._block_retry is not None
            )
            self._pending.clear()
            self._reset_block()
        finally:
            self._busy.release()
        return []

    # -- internals ---------------------------------------------------------

    def _process(self, lines: list[bytes], events: list[Any], raw: bool) -> None:
        # The hot loop of the Python twin: attribute reads are hoisted into
        # locals and "data: " lines take a short path (measured).
        limit = self._limit if self._limit >= 0 else _NO_LIMIT
        for line in lines:
            if not line:
                # A blank line dispatches the event (9.2.6 "dispatch the event").
                if self._id_dirty:
                    self._last_event_id = self._id_buffer.decode("utf-8", "replace")
                    self._id_dirty = False
                payload = self._data
                if payload is not None:
                    if self._data_more is not None:
                        payload = bytes(self._data_more)
                    if payload == self._sentinel:
                        self._done = True
                        self._reset_block()
                        return
                    event_type = self._event_type
                    type_str = event_type.decode("utf-8", "replace") if event_type else self._default_event
                    if raw:
                        events.append((type_str, payload))
                    else:
                        event = _new_event(ServerSentEvent)
                        _set_fields(
                            event,
                            (
                                type_str,
                                payload.decode("utf-8", "replace"),
                                self._last_event_id,
                                self._block_retry,
                            ),
                        )
                        events.append(event)
                    self._reset_block()
                else:  # nothing to dispatch; the type and retry still reset
                    self._event_type = b""
                    self._block_retry = None
                continue
            if len(line) > limit:
                self._fail("a line", events)
            if line[:6] == b"data: ":
                value = line[6:]
            elif line[0] == 0x3A:  # ":" starts a comment
                continue
            else:
                name, _, value = line.partition(b":")
                if value[:1] == b" ":  # exactly one leading space is removed
                    value = value[1:]
                if name != b"data":
                    if name == b"event":
                        self._event_type = value
                    elif name == b"id":
                        if b"\0" not in value:  # an id containing NULL is ignored
                            self._id_buffer = value
                            self._id_dirty = True
                    elif name == b"retry":
                        if value.isdigit():  # ASCII digits only, at least one
                            retry = parse_retry(value)
                            if retry is not None:
                                self._retry = self._block_retry = retry
                    continue  # any other field is ignored
            # a data field: append to the data buffer ("\n" joins lines)
            first = self._data
            if first is None:
                self._data = value
                self._data_size = len(value)
            else:
                self._data_size += 1 + len(value)
                if self._data_size > limit:
                    self._fail("an event's data", events)
                more = self._data_more
                if more is None:
                    more = self._data_more = bytearray(first)
                more += b"\n"
                more += value
            # (a first data line cannot exceed the limit: its line did not)

    def _reset_block(self) -> None:
        self._data = None
        self._data_more = None
        self._data_size = 0
        self._event_type = b""
        self._block_retry = None

    def _fail(self, what: str, events: list[Any]) -> None:
        self._failed = True
        self._pending.clear()
        self._reset_block()
        raise EventTooLarge(what, self._limit, events)
