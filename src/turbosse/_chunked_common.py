"""What both Dechunker twins share: their limits and their error.

A chunked body is ``<hex size>[;extensions]CRLF <size bytes> CRLF ...
0[;extensions]CRLF [trailer lines CRLF] CRLF`` (RFC 9112, section 7.1). The
twins undo it byte for byte alike: the same bytes out, the same error (type,
message, limit) at the same byte, however the input is cut.
"""

from __future__ import annotations

__all__ = ["MAX_CHUNK_SIZE", "MAX_LINE", "MAX_TRAILERS", "ChunkedError"]

#: The longest chunk-size line (hex digits and extensions, without CRLF).
MAX_LINE = 16 * 1024
#: All trailer lines together, CRLFs included.
MAX_TRAILERS = 64 * 1024
#: The largest chunk size accepted (a larger one is an error, never a wrap).
MAX_CHUNK_SIZE = (1 << 62) - 1


class ChunkedError(ValueError):
    """A chunked body that breaks the framing rules or a limit. ``limit`` is
    the limit hit (None for a malformed byte); ``body`` holds the body bytes
    that the failing ``feed`` call found before the error."""

    def __init__(self, message: str, limit: int | None = None, body: bytes = b"") -> None:
        super().__init__(message)
        self.limit = limit
        self.body = body
