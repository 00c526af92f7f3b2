"""The HTTP framing of a streamed response: Content-Encoding, chunked transfer coding, the head, and merging writes.

Input: timed groups of SSE bytes ``[(due, [event, ...]), ...]``; output: the
response head and the timed byte strings to write.
"""

from __future__ import annotations

import zlib
from typing import Any

from ._http1 import LAST_CHUNK, encode_chunk, status_line

__all__ = ["WRITE_BLOCK", "frame_writes", "response_head"]

#: Writes due at the same moment are merged up to this size (fewer syscalls).
WRITE_BLOCK = 64 * 1024


def response_head(opts: dict[str, Any]) -> bytes:
    """The 200 head of a streamed response."""
    ctype = opts["content_type"] or "text/event-stream; charset=utf-8"
    head = [
        status_line(200),
        f"content-type: {ctype}\r\n".encode(),
        b"cache-control: no-cache\r\n",
        b"transfer-encoding: chunked\r\n",
        b"x-request-id: req_fake\r\n",
    ]
    if opts["gzip"]:
        head.append(b"content-encoding: gzip\r\n")
    return b"".join(head) + b"\r\n"


def frame_writes(opts: dict[str, Any], writes: list[tuple[float, list[bytes]]], *, ttft: float, close: bool) -> list[tuple[float, bytes]]:
    """Encode (gzip, flushed per write, when asked) and chunk each write; end
    the body unless the connection is to be dropped (``close``)."""
    gz = zlib.compressobj(6, zlib.DEFLATED, 31) if opts["gzip"] else None
    framed: list[tuple[float, bytes]] = []
    for t, evs in writes:
        body = b"".join(evs)
        if gz is not None:
            body = gz.compress(body) + gz.flush(zlib.Z_SYNC_FLUSH)
        if body:
            framed.append((t, encode_chunk(body)))
    if not close:
        tail = gz.flush() if gz is not None else b""
        t_end = framed[-1][0] if framed else ttft
        framed.append((t_end, encode_chunk(tail) + LAST_CHUNK))
    return _merge(framed)


def _merge(framed: list[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    """Writes due at the same moment as one block, up to WRITE_BLOCK bytes."""
    merged: list[tuple[float, bytes]] = []
    for t, b in framed:
        if merged and merged[-1][0] == t and len(merged[-1][1]) + len(b) <= WRITE_BLOCK:
            merged[-1] = (t, merged[-1][1] + b)
        else:
            merged.append((t, b))
    return merged
