"""The HTTP framing of a streamed response: the head, Content-Encoding, trickling, and chunked, Content-Length or close-delimited bodies.

Input: timed groups of SSE bytes ``[(due, [event, ...]), ...]`` and how the
stream ends; output: a :class:`Plan` (the head, timed writes, and what
happens after them).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from ._http1 import LAST_CHUNK, encode_chunk, status_line
from ._options import OptionError

__all__ = ["WRITE_BLOCK", "Plan", "endless_headers", "frame"]

#: Writes due at the same moment are merged up to this size (fewer syscalls).
WRITE_BLOCK = 64 * 1024
_MIB = 1024 * 1024
#: What "forever" trickles once the stream's own bytes are out: blank lines
#: (no event is dispatched for an empty block).
_FOREVER_BYTE = b"\n"


@dataclass
class Plan:
    """A pre-rendered response: ``head`` goes out at once, each of ``writes``
    at ``start + offset``; then the connection is kept (``close=False``) or
    closed (``close=True``), or left open with nothing more sent (``hang``),
    or ``repeat = (interval, data)`` is sent every interval forever."""

    head: bytes
    writes: list[tuple[float, bytes]]
    close: bool = False
    hang: bool = False
    repeat: tuple[float, bytes] | None = None


def _head(opts: dict[str, Any], framing: str, length: int | None) -> bytes:
    ctype = opts["content_type"] or "text/event-stream; charset=utf-8"
    head = [status_line(200), f"content-type: {ctype}\r\n".encode(), b"cache-control: no-cache\r\n"]
    if framing == "chunked":
        head.append(b"transfer-encoding: chunked\r\n")
    elif framing == "content-length":
        head.append(b"content-length: %d\r\n" % (length or 0))
    else:
        head.append(b"connection: close\r\n")
    head.append(b"x-request-id: req_fake\r\n")
    if opts["gzip"] or opts["gzip_bomb"]:
        head.append(b"content-encoding: gzip\r\n")
    if opts["header_line_bytes"]:
        name = b"x-long-header: "
        head.append(name + b"a" * max(0, int(opts["header_line_bytes"]) - len(name) - 2) + b"\r\n")
    return b"".join(head) + b"\r\n"


def endless_headers() -> Plan:
    """A status line, then header lines forever: the head never ends."""
    lines = b"".join(b"x-filler-%02d: %s\r\n" % (i, b"f" * 48) for i in range(16))
    return Plan(status_line(200) + b"content-type: text/event-stream\r\n", [], False, False, (0.001, lines))


def _encode(opts: dict[str, Any], writes: list[tuple[float, list[bytes]]]) -> tuple[list[tuple[float, bytes]], bytes]:
    """Each write's body bytes after Content-Encoding (gzip flushed per
    write, a bomb before the first), and the encoder's final bytes."""
    bomb = opts["gzip_bomb"]
    if not (opts["gzip"] or bomb):
        return [(t, b"".join(evs)) for t, evs in writes], b""
    gz = zlib.compressobj(6, zlib.DEFLATED, 31)
    out: list[tuple[float, bytes]] = []
    if bomb:
        fill = str(opts["gzip_bomb_fill"]).encode()
        if not fill:
            raise OptionError("gzip_bomb_fill must not be empty")
        block = fill * max(1, _MIB // len(fill))
        parts = [gz.compress(block) for _ in range(max(1, round(float(bomb) * _MIB / len(block))))]
        parts.append(gz.flush(zlib.Z_SYNC_FLUSH))
        out.append((writes[0][0] if writes else float(opts["ttft"] or 0), b"".join(parts)))
    for t, evs in writes:
        out.append((t, gz.compress(b"".join(evs)) + gz.flush(zlib.Z_SYNC_FLUSH)))
    return out, gz.flush()


def _trickle(opts: dict[str, Any], body: list[tuple[float, bytes]], start: float) -> tuple[list[tuple[float, bytes]], bool]:
    """The body one byte a write, every ``trickle_ms``; also whether it goes on forever."""
    interval = float(opts["trickle_ms"]) / 1000.0
    data = b"".join(b for _, b in body)
    limit = opts["trickle_bytes"]
    count = len(data) if limit is None else min(int(limit), len(data))
    out = [(start + i * interval, data[i : i + 1]) for i in range(count)]
    if count < len(data):
        out.append((start + count * interval, data[count:]))
    return out, limit is None


def frame(opts: dict[str, Any], writes: list[tuple[float, list[bytes]]], *, ending: str, complete: bool) -> Plan:
    """Frame the grouped writes. ``ending`` is how the stream stopped:
    ``"cut"`` (drop the connection), ``"bad_chunk"`` (an invalid chunk size,
    then drop it), or ``"end"`` (the body ends normally); ``complete``: the
    stream's end marker was sent (``hang_after_done`` applies)."""
    framing = opts["framing"]
    ttft = float(opts["ttft"] or 0)
    if ending == "bad_chunk" and framing != "chunked":
        raise OptionError("invalid_chunk_after needs framing 'chunked'")
    body, tail = _encode(opts, writes)
    forever = False
    if opts["trickle_ms"] is not None:
        if opts["trickle_bytes"] is None and (opts["gzip"] or opts["gzip_bomb"]):
            raise OptionError("trickle_ms forever cannot be gzip-encoded; set trickle_bytes")
        body, forever = _trickle(opts, body + [(0.0, tail)], body[0][0] if body else ttft)
        tail = b""
    body = [(t, b) for t, b in body if b]
    t_end = body[-1][0] if body else ttft
    hang = False
    hold = opts["hang_after_done"] if complete and ending == "end" else None
    if hold is not None and hold is not False:
        if hold is True:
            hang = True
        else:
            t_end += float(hold)
    chunked = framing == "chunked"
    out = [(t, encode_chunk(b) if chunked else b) for t, b in body]
    close = ending in ("cut", "bad_chunk")
    repeat = None
    if forever:
        repeat = (float(opts["trickle_ms"]) / 1000.0, encode_chunk(_FOREVER_BYTE) if chunked else _FOREVER_BYTE)
        close = False
    elif ending == "bad_chunk":
        out.append((t_end, b"zz\r\n" + b"not a chunk\r\n"))
    elif not close and not hang and chunked:
        out.append((t_end, encode_chunk(tail) + LAST_CHUNK))
    elif not close and not hang and tail:
        out.append((t_end, tail))
    length = None
    if framing == "content-length":
        length = sum(len(b) for _, b in out)
        if close or hang or forever:
            length += 1  # one byte more than is sent: the body never completes
    elif framing == "close" and not (hang or forever):
        close = True
    return Plan(_head(opts, framing, length), _merge(out), close, hang, repeat)


def _merge(framed: list[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    """Writes due at the same moment as one block, up to WRITE_BLOCK bytes."""
    merged: list[tuple[float, bytes]] = []
    for t, b in framed:
        if merged and merged[-1][0] == t and len(merged[-1][1]) + len(b) <= WRITE_BLOCK:
            merged[-1] = (t, merged[-1][1] + b)
        else:
            merged.append((t, b))
    return merged
