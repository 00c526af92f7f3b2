"""turbosse: fast, spec-exact Server-Sent Events parsing for LLM streams."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._accumulator import ChatAccumulator, ChatResult, ChoiceResult, ToolCall
from ._buffer import DeltaBuffer
from ._delta import Delta, ToolCallDelta, Usage
from ._errors import (
    APIStatusError,
    DeadlineExceeded,
    EventTooLarge,
    IdleTimeout,
    JSONStreamError,
    MalformedChunk,
    SSEError,
    StreamError,
    StreamInterrupted,
    TooManyBytesWithoutEvent,
)
from ._handler import StreamHandler, aaccumulate, accumulate
from ._impl import IMPLEMENTATION, ChatDecoder, JSONStream, ServerSentEvent, SSEParser
from ._jsonstream_common import JSONEvent
from ._parser_common import DEFAULT_MAX_EVENT_BYTES
from ._version import __version__

if TYPE_CHECKING:
    from ._client import AsyncChatClient, ChatClient

__all__ = [
    "APIStatusError",
    "AsyncChatClient",
    "ChatAccumulator",
    "ChatClient",
    "ChatDecoder",
    "ChatResult",
    "ChoiceResult",
    "DEFAULT_MAX_EVENT_BYTES",
    "DeadlineExceeded",
    "Delta",
    "DeltaBuffer",
    "IMPLEMENTATION",
    "EventTooLarge",
    "IdleTimeout",
    "JSONEvent",
    "JSONStream",
    "JSONStreamError",
    "MalformedChunk",
    "SSEError",
    "SSEParser",
    "ServerSentEvent",
    "StreamError",
    "StreamHandler",
    "StreamInterrupted",
    "TooManyBytesWithoutEvent",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "__version__",
    "aaccumulate",
    "accumulate",
]

# The chat clients import httpx (about 0.1 s): loaded on first use, so that
# `import turbosse` for the parser alone stays cheap.
_LAZY = {"ChatClient": "._client", "AsyncChatClient": "._client"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'turbosse' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
