"""The one module that knows the parser has two implementations.

Everything else imports SSEParser and ServerSentEvent from here. The compiled
twin is used unless TURBOSSE_NO_EXTENSIONS is set to a non-empty value or the
extension cannot be imported.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

NO_EXTENSIONS = bool(os.environ.get("TURBOSSE_NO_EXTENSIONS"))

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._parser_py import DEFAULT_MAX_EVENT_BYTES, ServerSentEvent, SSEParser

    IMPLEMENTATION = "python"
else:
    try:
        from ._parser_c import DEFAULT_MAX_EVENT_BYTES, ServerSentEvent, SSEParser

        IMPLEMENTATION = "cython"
    except ImportError:  # pragma: no cover - only without a built extension
        from ._parser_py import DEFAULT_MAX_EVENT_BYTES, ServerSentEvent, SSEParser

        IMPLEMENTATION = "python"

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "IMPLEMENTATION", "SSEParser", "ServerSentEvent"]
