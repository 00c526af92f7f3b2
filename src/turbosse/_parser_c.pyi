"""Signatures and docs of the compiled parser (_parser_c.pyx).

It has the same public names, signatures and docstrings as the Python twin,
_parser_py.py, whose docstrings are the source; tests/test_stubs.py checks
that this stub and the compiled module's help() stay in step with it.
"""

from typing import Any, final

DEFAULT_MAX_EVENT_BYTES: int

@final
class ServerSentEvent:
    """One dispatched event: immutable, compared and hashed by value.

    ``event`` is the event type (``"message"`` when the stream gave none, or
    the parser's ``default_event``),
    ``data`` the data lines joined with ``"\\n"``, ``id`` the last event ID in
    effect when the event was dispatched (``""`` if none) and ``retry`` the last
    valid ``retry`` field of this event's own block, else ``None``.
    """

    def __init__(
        self, event: str | None = "message", data: str = "", id: str = "", retry: int | None = None
    ) -> None: ...
    @property
    def event(self) -> str | None: ...
    @property
    def data(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def retry(self) -> int | None: ...
    def json(self) -> Any:
        """Decode ``data`` as JSON (with orjson; an integer beyond 64 bits
        stays exact, see :func:`turbosse._exactjson.loads`)."""
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

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

    def __init__(
        self,
        *,
        max_event_bytes: int | None = ...,
        sentinel: bytes | str | None = None,
        default_event: str | None = "message",
    ) -> None: ...
    @property
    def last_event_id(self) -> str:
        """The last event ID string, updated when a blank line ends a block."""
    @property
    def retry(self) -> int | None:
        """The reconnection time (ms) from the latest valid ``retry`` field,
        exact at any size (a value of more than 4300 digits is ignored)."""
    @property
    def done(self) -> bool:
        """True once the sentinel payload has been seen."""
    @property
    def unterminated(self) -> bool:
        """After :meth:`close`: the input ended inside an event (a line with no
        line end, or field lines with no blank line after them), whose bytes
        were discarded. False before close() and once :attr:`done`."""
    @property
    def max_event_bytes(self) -> int | None:
        """The cap given to the constructor (None for no cap)."""
    @property
    def sentinel(self) -> bytes | None:
        """The end-of-stream payload as bytes, or None."""
    @property
    def default_event(self) -> str | None:
        """The event type reported for a block without one."""
    def feed(self, data: bytes | bytearray | memoryview) -> list[ServerSentEvent]:
        """Parse the next chunk; return the events it completed (maybe [])."""
    def close(self) -> list[ServerSentEvent]:
        """End of input. An unterminated line or an event without its closing
        blank line is discarded (WHATWG 9.2.6: "If the file ends in the middle
        of an event, before the final empty line, the incomplete event is not
        dispatched"); :attr:`unterminated` then tells that it happened.
        Returns the events completed by ending the input, which is always []
        because every line end is acted on as soon as it arrives.
        """
    def _feed_raw(self, data: bytes | bytearray | memoryview) -> list[tuple[str | None, bytes]]:
        """Like feed(), but each dispatched event is ``(event_type, data_bytes)``:
        the data stays undecoded bytes for orjson. Used by the decoder layer."""
