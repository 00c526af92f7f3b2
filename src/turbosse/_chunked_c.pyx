# Compiled twin of _chunked_py.py: undoes the chunked transfer coding
# incrementally, in one pass over each read, copying the body bytes once
# (see _chunked_common for the rules both twins share).
# cython: boundscheck=False, wraparound=False, cdivision=True

cimport cython

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy

from turbosse._chunked_common import MAX_CHUNK_SIZE, MAX_LINE, MAX_TRAILERS, ChunkedError

__all__ = ["Dechunker"]

cdef enum:
    S_SIZE, S_SIZE_MORE, S_EXT, S_SIZE_LF, S_DATA, S_DATA_CR, S_DATA_LF
    S_TRAILER_START, S_TRAILER, S_TRAILER_LF, S_END_LF, S_DONE, S_FAILED

cdef unsigned long long _MAX_SIZE = MAX_CHUNK_SIZE
cdef signed char _HEX[256]
cdef int _i
for _i in range(256):
    _HEX[_i] = -1
for _i in range(10):
    _HEX[0x30 + _i] = _i
for _i in range(6):
    _HEX[0x61 + _i] = 10 + _i
    _HEX[0x41 + _i] = 10 + _i

cdef bytes _EMPTY = b""


@cython.no_gc  # ints and str fields only: no reference cycle possible
cdef class Dechunker:
    """Undoes ``Transfer-Encoding: chunked`` as the bytes arrive: :meth:`feed`
    returns the body bytes among those it is given, joined; chunk extensions
    are skipped, trailer lines read and dropped. ``done`` turns true when the
    last chunk and the trailer section have ended; ``extra`` counts the bytes
    fed after that. A framing error, or a chunk-size line or trailer section
    over its limit, raises :class:`ChunkedError` (and again on any later
    call)."""

    cdef readonly bint done
    cdef readonly Py_ssize_t extra
    cdef int _state
    cdef unsigned long long _size
    cdef Py_ssize_t _line, _trailers, _max_line, _max_trailers
    cdef str _message  # the error that ended the body (it is raised again), else None
    cdef object _limit
    # the body spans of one feed: (offset, length) pairs, reused across calls
    cdef Py_ssize_t *_spans
    cdef Py_ssize_t _cap

    def __cinit__(self):
        self._spans = NULL
        self._cap = 0

    def __init__(self, max_line: int = MAX_LINE, max_trailers: int = MAX_TRAILERS) -> None:
        self.done = False
        self.extra = 0
        self._state = S_SIZE
        self._size = 0
        self._line = 0
        self._trailers = 0
        self._max_line = max_line
        self._max_trailers = max_trailers
        self._message = None
        self._limit = None

    def __dealloc__(self):
        free(self._spans)

    cdef int _grow(self) except -1:
        cdef Py_ssize_t cap = self._cap * 2 if self._cap else 32
        cdef Py_ssize_t *spans = <Py_ssize_t *> realloc(self._spans, cap * 2 * sizeof(Py_ssize_t))
        if spans == NULL:
            raise MemoryError()
        self._spans, self._cap = spans, cap
        return 0

    def feed(self, data) -> bytes:
        """The body bytes in ``data`` (any bytes-like object), joined."""
        if self._message is not None:
            raise ChunkedError(self._message, self._limit)
        cdef Py_buffer buf
        PyObject_GetBuffer(data, &buf, PyBUF_SIMPLE)
        cdef const unsigned char *p = <const unsigned char *> buf.buf
        cdef Py_ssize_t n = buf.len, i = 0, k = 0, take, total = 0
        cdef int state = self._state
        cdef unsigned long long size = self._size
        cdef unsigned char c
        cdef signed char digit
        cdef object message = None
        cdef object limit = None
        try:
            while i < n:
                if state == S_DATA:
                    take = n - i
                    if <unsigned long long> take > size:
                        take = <Py_ssize_t> size
                    if k == self._cap:
                        self._grow()
                    self._spans[2 * k] = i
                    self._spans[2 * k + 1] = take
                    k += 1
                    total += take
                    i += take
                    size -= take
                    if size == 0:
                        state = S_DATA_CR
                    continue
                if state == S_DONE:
                    self.extra += n - i
                    break
                c = p[i]
                i += 1
                if state == S_SIZE or state == S_SIZE_MORE:
                    digit = _HEX[c]
                    if digit >= 0:
                        self._line += 1
                        if self._line > self._max_line:
                            message, limit = f"a chunk-size line exceeds {self._max_line} bytes", self._max_line
                            break
                        if size > (_MAX_SIZE >> 4):
                            message, limit = f"invalid chunk size: larger than {MAX_CHUNK_SIZE} bytes", MAX_CHUNK_SIZE
                            break
                        size = (size << 4) | <unsigned long long> digit
                        state = S_SIZE_MORE
                    elif state == S_SIZE_MORE and (c == 0x3B or c == 0x20 or c == 0x09):
                        self._line += 1
                        if self._line > self._max_line:
                            message, limit = f"a chunk-size line exceeds {self._max_line} bytes", self._max_line
                            break
                        state = S_EXT
                    elif state == S_SIZE_MORE and c == 0x0D:
                        state = S_SIZE_LF
                    else:
                        message = f"invalid chunk size: unexpected byte {bytes([c])!r}"
                        break
                elif state == S_EXT:
                    if c == 0x0D:
                        state = S_SIZE_LF
                    elif (c < 0x20 and c != 0x09) or c == 0x7F:
                        message = f"invalid byte {bytes([c])!r} in a chunk extension"
                        break
                    else:
                        self._line += 1
                        if self._line > self._max_line:
                            message, limit = f"a chunk-size line exceeds {self._max_line} bytes", self._max_line
                            break
                elif state == S_SIZE_LF:
                    if c != 0x0A:
                        message = "missing LF after a chunk-size line"
                        break
                    self._line = 0
                    state = S_DATA if size else S_TRAILER_START
                elif state == S_DATA_CR:
                    if c != 0x0D:
                        message = "missing CRLF after chunk data"
                        break
                    state = S_DATA_LF
                elif state == S_DATA_LF:
                    if c != 0x0A:
                        message = "missing CRLF after chunk data"
                        break
                    state = S_SIZE
                elif state == S_TRAILER_START or state == S_TRAILER:
                    self._trailers += 1
                    if self._trailers > self._max_trailers:
                        message, limit = f"the trailer section exceeds {self._max_trailers} bytes", self._max_trailers
                        break
                    if c == 0x0D:
                        state = S_END_LF if state == S_TRAILER_START else S_TRAILER_LF
                    elif c == 0x0A:
                        message = "a bare LF in the trailer section"
                        break
                    else:
                        state = S_TRAILER
                else:  # S_TRAILER_LF, S_END_LF
                    self._trailers += 1
                    if self._trailers > self._max_trailers:
                        message, limit = f"the trailer section exceeds {self._max_trailers} bytes", self._max_trailers
                        break
                    if c != 0x0A:
                        message = "missing LF in the trailer section"
                        break
                    if state == S_END_LF:
                        state = S_DONE
                        self.done = True
                    else:
                        state = S_TRAILER_START
            body = self._join(p, k, total, data, n)
        finally:
            PyBuffer_Release(&buf)
        if message is not None:
            self._state = S_FAILED
            self._message, self._limit = message, limit
            raise ChunkedError(message, limit, body)
        self._state, self._size = state, size
        return body

    cdef bytes _join(self, const unsigned char *p, Py_ssize_t k, Py_ssize_t total, object data, Py_ssize_t n):
        if k == 0:
            return _EMPTY
        if k == 1 and total == n and type(data) is bytes:
            return <bytes> data
        cdef bytes out = PyBytes_FromStringAndSize(NULL, total)
        cdef char *q = PyBytes_AS_STRING(out)
        cdef Py_ssize_t j
        for j in range(k):
            memcpy(q, p + self._spans[2 * j], self._spans[2 * j + 1])
            q += self._spans[2 * j + 1]
        return out
