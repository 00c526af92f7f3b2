"""What both SSEParser twins share: limits, option checks and field rules.

The compiled twin (``_parser_c.pyx``) and the Python twin (``_parser_py.py``)
each import from here and never from each other, so that either can change
without the other noticing.
"""

from __future__ import annotations

import sys

__all__ = [
    "BUSY_MESSAGE",
    "DEFAULT_MAX_EVENT_BYTES",
    "FAILED_MESSAGE",
    "RETRY_MAX_DIGITS",
    "check_options",
    "event_fields",
    "parse_retry",
]

#: Default cap on one line and on one event's data, in bytes (8 MiB).
DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024

# retry is a reconnection time in milliseconds, kept exactly (the standard
# sets no upper bound). A value with more significant digits than this is
# ignored like an invalid one: converting it would take time quadratic in its
# length (the same bound as CPython's default int_max_str_digits).
RETRY_MAX_DIGITS = 4300

BUSY_MESSAGE = (
    "SSEParser.feed() or close() was entered while another call was running on the same parser "
    "(two threads sharing one parser?); use one parser per stream"
)
FAILED_MESSAGE = "this SSEParser failed earlier and cannot continue; use a new one"


def event_fields(
    event: object, data: object, id: object, retry: object
) -> tuple[str | None, str, str, int | None]:
    """Check and normalise ServerSentEvent's constructor arguments: str fields
    become exact str, an empty event type is ``"message"`` (None stays None,
    see SSEParser's ``default_event``), None data or id is ``""`` (as in
    httpx-sse), retry must be an int or None."""
    if event is not None:
        if not isinstance(event, str):
            raise TypeError(f"ServerSentEvent.event must be a str or None, not {type(event).__name__}")
        event = str.__str__(event) or "message"  # an exact str, even for a subclass
    fields = []
    for name, value in (("data", data), ("id", id)):
        if value is None:  # httpx-sse's default for both
            value = ""
        elif not isinstance(value, str):
            raise TypeError(f"ServerSentEvent.{name} must be a str or None, not {type(value).__name__}")
        fields.append(str.__str__(value))
    if retry is not None and (not isinstance(retry, int) or isinstance(retry, bool)):
        raise TypeError(f"ServerSentEvent.retry must be an int or None, not {type(retry).__name__}")
    return (event, fields[0], fields[1], None if retry is None else int(retry))


def check_options(
    max_event_bytes: object, sentinel: object, default_event: object
) -> tuple[int, bytes | None, str | None]:
    """Validate SSEParser's options; returns the limit (``-1`` for none,
    clamped to ``sys.maxsize``), the sentinel as bytes (or None) and the
    default event type."""
    if default_event is not None:
        if not isinstance(default_event, str):
            raise TypeError(
                f"default_event must be a str or None, not {type(default_event).__name__}"
            )
        if not default_event:
            raise ValueError("default_event must be a non-empty str or None, not ''")
        default_event = str.__str__(default_event)
    if max_event_bytes is None:
        limit = -1
    elif isinstance(max_event_bytes, int) and not isinstance(max_event_bytes, bool):
        if max_event_bytes < 1:
            raise ValueError(f"max_event_bytes must be >= 1 or None, not {max_event_bytes}")
        # A cap beyond what a process could ever buffer never triggers; clamp
        # it so that the compiled twin can hold it in a Py_ssize_t.
        limit = min(max_event_bytes, sys.maxsize)
    else:
        raise TypeError(f"max_event_bytes must be an int or None, not {type(max_event_bytes).__name__}")
    if sentinel is None or type(sentinel) is bytes:
        return limit, sentinel, default_event
    if isinstance(sentinel, str):
        return limit, sentinel.encode("utf-8"), default_event
    if isinstance(sentinel, (bytes, bytearray, memoryview)):  # a subclass too: an exact copy is kept
        return limit, bytes(sentinel), default_event
    raise TypeError(f"sentinel must be bytes, str or None, not {type(sentinel).__name__}")


def parse_retry(value: bytes) -> int | None:
    """The exact value of a ``retry`` field made of ASCII digits, or None (the
    field is ignored) beyond RETRY_MAX_DIGITS significant digits."""
    digits = value.lstrip(b"0")
    if len(digits) > RETRY_MAX_DIGITS:
        return None
    try:
        return int(digits or b"0")
    except ValueError:  # sys.set_int_max_str_digits() set below RETRY_MAX_DIGITS
        return None
