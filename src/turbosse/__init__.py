"""turbosse: fast, spec-exact Server-Sent Events parsing for LLM streams."""

from __future__ import annotations

from ._errors import APIStatusError, EventTooLarge, IdleTimeout, SSEError
from ._parser import DEFAULT_MAX_EVENT_BYTES, IMPLEMENTATION, ServerSentEvent, SSEParser
from ._version import __version__

__all__ = [
    "APIStatusError",
    "DEFAULT_MAX_EVENT_BYTES",
    "IMPLEMENTATION",
    "EventTooLarge",
    "IdleTimeout",
    "SSEError",
    "SSEParser",
    "ServerSentEvent",
    "__version__",
]
