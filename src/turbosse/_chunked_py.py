"""Pure-Python twin of _chunked_c.pyx: undoes ``Transfer-Encoding: chunked``
incrementally (see _chunked_common for the rules both twins share)."""

from __future__ import annotations

from ._chunked_common import MAX_CHUNK_SIZE, MAX_LINE, MAX_TRAILERS, ChunkedError

__all__ = ["Dechunker"]

# States, as in the compiled twin.
_SIZE, _SIZE_MORE, _EXT, _SIZE_LF, _DATA, _DATA_CR, _DATA_LF = range(7)
_TRAILER_START, _TRAILER, _TRAILER_LF, _END_LF, _DONE, _FAILED = range(7, 13)
_HEX = {c: int(chr(c), 16) for c in b"0123456789abcdefABCDEF"}


class Dechunker:
    """Undoes ``Transfer-Encoding: chunked`` as the bytes arrive: :meth:`feed`
    returns the body bytes among those it is given, joined; chunk extensions
    are skipped, trailer lines read and dropped. ``done`` turns true when the
    last chunk and the trailer section have ended; ``extra`` counts the bytes
    fed after that. A framing error, or a chunk-size line or trailer section
    over its limit, raises :class:`ChunkedError` (and again on any later
    call)."""

    __slots__ = ("done", "extra", "_state", "_size", "_line", "_trailers", "_max_line", "_max_trailers", "_failed")

    def __init__(self, max_line: int = MAX_LINE, max_trailers: int = MAX_TRAILERS) -> None:
        self.done = False
        self.extra = 0
        self._state = _SIZE
        self._size = 0  # the chunk size being read, then the bytes of it still to come
        self._line = 0  # bytes of the chunk-size line so far
        self._trailers = 0  # bytes of the trailer section so far
        self._max_line = max_line
        self._max_trailers = max_trailers
        self._failed: tuple[str, int | None] | None = None  # the error's message and limit

    def feed(self, data: bytes) -> bytes:
        """The body bytes in ``data`` (any bytes-like object), joined."""
        if self._failed is not None:
            raise ChunkedError(*self._failed)
        view = memoryview(data).cast("B")
        n = len(view)
        out: list[bytes] = []
        state, size, i = self._state, self._size, 0
        try:
            while i < n:
                if state == _DATA:
                    take = min(size, n - i)
                    out.append(bytes(view[i : i + take]))
                    i += take
                    size -= take
                    if size == 0:
                        state = _DATA_CR
                    continue
                if state == _DONE:
                    self.extra += n - i
                    break
                c = view[i]
                i += 1
                if state == _SIZE or state == _SIZE_MORE:
                    digit = _HEX.get(c)
                    if digit is not None:
                        self._count_line()
                        if size > MAX_CHUNK_SIZE >> 4:
                            raise ChunkedError(f"invalid chunk size: larger than {MAX_CHUNK_SIZE} bytes", MAX_CHUNK_SIZE)
                        size = (size << 4) | digit
                        state = _SIZE_MORE
                    elif state == _SIZE_MORE and c in (0x3B, 0x20, 0x09):  # ';', or whitespace before it
                        self._count_line()
                        state = _EXT
                    elif state == _SIZE_MORE and c == 0x0D:
                        state = _SIZE_LF
                    else:
                        raise ChunkedError(f"invalid chunk size: unexpected byte {bytes([c])!r}")
                elif state == _EXT:
                    if c == 0x0D:
                        state = _SIZE_LF
                    elif (c < 0x20 and c != 0x09) or c == 0x7F:
                        raise ChunkedError(f"invalid byte {bytes([c])!r} in a chunk extension")
                    else:
                        self._count_line()
                elif state == _SIZE_LF:
                    if c != 0x0A:
                        raise ChunkedError("missing LF after a chunk-size line")
                    self._line = 0
                    state = _DATA if size else _TRAILER_START
                elif state == _DATA_CR:
                    if c != 0x0D:
                        raise ChunkedError("missing CRLF after chunk data")
                    state = _DATA_LF
                elif state == _DATA_LF:
                    if c != 0x0A:
                        raise ChunkedError("missing CRLF after chunk data")
                    state = _SIZE
                elif state == _TRAILER_START or state == _TRAILER:
                    self._count_trailer()
                    if c == 0x0D:
                        state = _END_LF if state == _TRAILER_START else _TRAILER_LF
                    elif c == 0x0A:
                        raise ChunkedError("a bare LF in the trailer section")
                    else:
                        state = _TRAILER
                elif state == _TRAILER_LF or state == _END_LF:
                    self._count_trailer()
                    if c != 0x0A:
                        raise ChunkedError("missing LF in the trailer section")
                    if state == _END_LF:
                        state = _DONE
                        self.done = True
                    else:
                        state = _TRAILER_START
        except ChunkedError as exc:
            self._state = _FAILED
            exc.body = b"".join(out)
            self._failed = (str(exc), exc.limit)
            raise
        self._state, self._size = state, size
        return out[0] if len(out) == 1 else b"".join(out)

    def _count_line(self) -> None:
        self._line += 1
        if self._line > self._max_line:
            raise ChunkedError(f"a chunk-size line exceeds {self._max_line} bytes", self._max_line)

    def _count_trailer(self) -> None:
        self._trailers += 1
        if self._trailers > self._max_trailers:
            raise ChunkedError(f"the trailer section exceeds {self._max_trailers} bytes", self._max_trailers)
