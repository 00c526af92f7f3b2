"""The exceptions turbosse raises; every one derives from SSEError."""

from __future__ import annotations

from typing import Any


class SSEError(Exception):
    """Base class of every error raised by turbosse."""


class EventTooLarge(SSEError):
    """A line or an event's data grew past ``max_event_bytes``.

    ``limit`` is the limit that was hit, ``what`` says whether a single line or an
    event's accumulated data crossed it, and ``events`` holds the events that
    were completed by the same ``feed()`` call before the limit was hit, so
    nothing already parsed is lost.
    """

    def __init__(self, what: str, limit: int, events: list[Any]) -> None:
        super().__init__(
            f"{what} exceeds max_event_bytes={limit}; raise the limit "
            "(or pass max_event_bytes=None) if such events are expected"
        )
        self.what = what
        self.limit = limit
        self.events = events

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.what, self.limit, self.events))
