"""The one module that knows the decoder has two implementations.

Same rule as ``_parser.py``: the compiled twin unless TURBOSSE_NO_EXTENSIONS
is set to a non-empty value or the extension cannot be imported.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

NO_EXTENSIONS = bool(os.environ.get("TURBOSSE_NO_EXTENSIONS"))

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._decoder_py import ChatDecoder
else:
    try:
        from ._decoder_c import ChatDecoder
    except ImportError:  # pragma: no cover - only without a built extension
        from ._decoder_py import ChatDecoder

__all__ = ["ChatDecoder"]
