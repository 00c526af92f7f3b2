"""turbosse: fast, spec-exact Server-Sent Events parsing for LLM streams."""

from __future__ import annotations

from ._errors import EventTooLarge, SSEError
from ._parser import DEFAULT_MAX_EVENT_BYTES, IMPLEMENTATION, ServerSentEvent, SSEParser
from ._version import __version__

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "IMPLEMENTATION",
    "EventTooLarge",
    "SSEError",
    "SSEParser",
    "ServerSentEvent",
    "__version__",
]
