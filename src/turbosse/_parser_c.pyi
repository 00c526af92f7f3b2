"""Signatures and docs of the compiled parser (_parser_c.pyx).

It has the same public names and signatures as the Python twin, _parser_py.py;
tests/test_stubs.py checks that they stay in step.
"""

from typing import Any, final

DEFAULT_MAX_EVENT_BYTES: int

@final
class ServerSentEvent:
    """One dispatched event: immutable, compared and hashed by value."""

    def __init__(
        self, event: str = "message", data: str = "", id: str = "", retry: int | None = None
    ) -> None: ...
    @property
    def event(self) -> str: ...
    @property
    def data(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def retry(self) -> int | None: ...
    def json(self) -> Any:
        """Decode ``data`` as JSON (with orjson)."""
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class SSEParser:
    """Incremental, sans-IO parser for ``text/event-stream`` bytes.

    ``max_event_bytes`` caps one line and one event's data (default
    DEFAULT_MAX_EVENT_BYTES, 8 MiB; None for no cap); crossing it raises
    EventTooLarge. ``sentinel`` (e.g. b"[DONE]") ends the stream: that event is
    not returned, ``done`` becomes True and later input is ignored.
    """

    def __init__(
        self, *, max_event_bytes: int | None = ..., sentinel: bytes | str | None = None
    ) -> None: ...
    @property
    def last_event_id(self) -> str: ...
    @property
    def retry(self) -> int | None: ...
    @property
    def done(self) -> bool: ...
    @property
    def max_event_bytes(self) -> int | None: ...
    @property
    def sentinel(self) -> bytes | None: ...
    def feed(self, data: bytes | bytearray | memoryview) -> list[ServerSentEvent]:
        """Parse the next chunk; return the events it completed (maybe [])."""
    def close(self) -> list[ServerSentEvent]:
        """End of input: an unterminated event is discarded; returns []."""
    def _feed_raw(self, data: bytes | bytearray | memoryview) -> list[tuple[str, bytes]]:
        """Like feed(), with (event_type, undecoded data bytes) per event."""
