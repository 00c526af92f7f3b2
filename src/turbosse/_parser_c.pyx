# Compiled twin of _parser_py.py: the WHATWG HTML "Parsing an event stream"
# (9.2.6) and "Interpreting an event stream" rules, scanned in C.
#
# Bytes are scanned with memchr; a line is never turned into a Python object.
# Python objects are created only for what is returned: one str for the data,
# one for the event type (cached), and the event itself. Splitting the byte
# stream before UTF-8 decoding is exact because every byte the grammar looks at
# is ASCII, and ASCII bytes never occur inside a multi-byte UTF-8 sequence.
#
# Behaviour must match the Python twin exactly; the same tests run on both.

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_FromUnsignedLongLong
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport uint64_t
from libc.string cimport memchr, memcmp, memcpy


cdef extern from "Python.h":
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    void* PyUnicode_DATA(object unicode)


from turbosse._errors import EventTooLarge, SSEError
from turbosse._exactjson import loads
from turbosse._parser_common import (
    BUSY_MESSAGE,
    DEFAULT_MAX_EVENT_BYTES,
    FAILED_MESSAGE,
    check_options,
    event_fields,
    parse_retry,
)

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "SSEParser", "ServerSentEvent"]

cdef str MESSAGE = "message"
cdef str EMPTY = ""
# retry values of up to 19 digits are converted here (they fit in 64 bits
# unsigned); longer ones go to the shared parse_retry, as Python ints.
cdef Py_ssize_t RETRY_C_DIGITS = 19
cdef const unsigned char* BOM = b"\xef\xbb\xbf"
# Buffers that grew past this are freed after use, so that one huge event
# does not pin its memory for the rest of a long-lived stream.
cdef Py_ssize_t KEEP_CAPACITY = 64 * 1024


# -- growable byte buffers ---------------------------------------------------

cdef int buf_reserve(ByteBuf* b, Py_ssize_t extra) except -1:
    cdef Py_ssize_t need = b.len + extra
    cdef Py_ssize_t cap
    cdef char* ptr
    if need <= b.cap:
        return 0
    cap = b.cap * 2 if b.cap else 256
    if cap < need:
        cap = need
    ptr = <char*>PyMem_Realloc(b.ptr, cap)
    if ptr is NULL:
        raise MemoryError()
    b.ptr = ptr
    b.cap = cap
    return 0


cdef inline int buf_append(ByteBuf* b, const char* src, Py_ssize_t n) except -1:
    if n <= 0:
        return 0
    if b.len + n > b.cap:
        buf_reserve(b, n)
    memcpy(b.ptr + b.len, src, n)
    b.len += n
    return 0


cdef inline void buf_clear(ByteBuf* b) noexcept:
    b.len = 0
    if b.cap > KEEP_CAPACITY:
        PyMem_Free(b.ptr)
        b.ptr = NULL
        b.cap = 0


cdef inline void buf_free(ByteBuf* b) noexcept:
    PyMem_Free(b.ptr)
    b.ptr = NULL
    b.len = b.cap = 0


# -- decoding -------------------------------------------------------------------

cdef inline bint is_ascii(const char* s, Py_ssize_t n) noexcept:
    # OR of all bytes, 32 at a time; any byte >= 0x80 leaves a high bit set.
    cdef uint64_t acc = 0
    cdef uint64_t w0, w1, w2, w3
    cdef Py_ssize_t i = 0
    while i + 32 <= n:
        memcpy(&w0, s + i, 8)
        memcpy(&w1, s + i + 8, 8)
        memcpy(&w2, s + i + 16, 8)
        memcpy(&w3, s + i + 24, 8)
        acc |= w0 | w1 | w2 | w3
        i += 32
    while i + 8 <= n:
        memcpy(&w0, s + i, 8)
        acc |= w0
        i += 8
    while i < n:
        acc |= <unsigned char>s[i]
        i += 1
    return (acc & 0x8080808080808080ULL) == 0


cdef str decode_utf8(const char* s, Py_ssize_t n):
    """bytes.decode("utf-8", "replace") without the intermediate bytes.

    Payloads are nearly always ASCII (JSON escapes non-ASCII by default in many
    servers); for those a vectorized check plus memcpy is about twice as fast
    as CPython's generic decoder (measured with callgrind).
    """
    cdef object text
    if is_ascii(s, n):
        text = PyUnicode_New(n, 127)
        memcpy(PyUnicode_DATA(text), s, n)
        return <str>text
    return PyUnicode_DecodeUTF8(s, n, "replace")


# -- the event ----------------------------------------------------------------

@cython.final
@cython.freelist(32)
@cython.no_gc  # fields are str, int or None only: no reference cycles possible
cdef class ServerSentEvent:
    """One dispatched event: immutable, compared and hashed by value.

    ``event`` is the event type (``"message"`` when the stream gave none, or
    the parser's ``default_event``),
    ``data`` the data lines joined with ``"\\n"``, ``id`` the last event ID in
    effect when the event was dispatched (``""`` if none) and ``retry`` the last
    valid ``retry`` field of this event's own block, else ``None``.
    """

    cdef readonly object event  # str, or None (SSEParser's default_event)
    cdef readonly str data
    cdef readonly str id
    cdef readonly object retry

    def __init__(self, event="message", data="", id="", retry=None):
        if self.data is not None:  # __init__ called again on a made event
            raise AttributeError("ServerSentEvent is immutable")
        self.event, self.data, self.id, self.retry = event_fields(event, data, id, retry)

    def json(self):
        """Decode ``data`` as JSON (with orjson; an integer beyond 64 bits
        stays exact, see :func:`turbosse._exactjson.loads`)."""
        return loads(self.data)

    def __eq__(self, other):
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        cdef ServerSentEvent o = <ServerSentEvent>other
        return (
            self.event == o.event and self.data == o.data
            and self.id == o.id and self.retry == o.retry
        )

    def __hash__(self):
        return hash((self.event, self.data, self.id, self.retry))

    def __repr__(self):
        return (
            f"ServerSentEvent(event={self.event!r}, data={self.data!r}, "
            f"id={self.id!r}, retry={self.retry!r})"
        )

    def __reduce__(self):
        return (ServerSentEvent, (self.event, self.data, self.id, self.retry))


# -- the parser ---------------------------------------------------------------

# Signatures are written by hand: Cython's embedsignature misplaces the "*" of
# this keyword-only __init__.
@cython.embedsignature(False)
@cython.no_gc  # bytes, str and int fields only: no reference cycle possible
cdef class SSEParser:
    """SSEParser(*, max_event_bytes=DEFAULT_MAX_EVENT_BYTES, sentinel=None, default_event='message')

    Incremental, sans-IO parser for ``text/event-stream`` bytes.

    Feed it the bytes of a response as they arrive, in chunks of any size and
    split anywhere; it returns the events each chunk completes.

    :param max_event_bytes: cap, in bytes, on a single line and on one event's
        accumulated data (default :data:`DEFAULT_MAX_EVENT_BYTES`, 8 MiB;
        ``None`` for no cap). Crossing it raises :class:`EventTooLarge`, whose
        ``events`` attribute keeps the events completed earlier in that call.
        The parser cannot be used after that error.
    :param sentinel: a payload such as ``b"[DONE]"`` that ends the stream: the
        event carrying exactly that data is not returned, :attr:`done` becomes
        true and every later byte is ignored.
    :param default_event: the event type of a block with no ``event`` field
        (or an empty one): ``"message"`` by default, as the standard says, or
        None, which makes such an event's :attr:`ServerSentEvent.event` None
        (what the openai and anthropic SDKs' decoders report).

    Example::

        >>> parser = SSEParser(sentinel=b"[DONE]")
        >>> parser.feed(b'data: {"x": 1}\\n\\ndata: [DO')
        [ServerSentEvent(event='message', data='{"x": 1}', id='', retry=None)]
        >>> parser.feed(b"NE]\\n\\n"), parser.done
        ([], True)
    """

    def __cinit__(self):
        self._at_start = True
        self._last_event_id = EMPTY
        self._default_event = MESSAGE

    def __init__(self, *, max_event_bytes=DEFAULT_MAX_EVENT_BYTES, sentinel=None,
                 default_event="message"):
        self._limit, self._sentinel, self._default_event = check_options(
            max_event_bytes, sentinel, default_event
        )
        # as given, but an exact int: an untracked parser must not hold an object that could refer back
        self._max_event_bytes = None if max_event_bytes is None else int(max_event_bytes)

    def __dealloc__(self):
        buf_free(&self._line)
        buf_free(&self._data)
        buf_free(&self._etype)
        buf_free(&self._idbuf)

    @property
    def last_event_id(self):
        """The last event ID string, updated when a blank line ends a block."""
        return self._last_event_id

    @property
    def retry(self):
        """The reconnection time (ms) from the latest valid ``retry`` field,
        exact at any size (a value of more than 4300 digits is ignored)."""
        return self._retry

    @property
    def done(self):
        """True once the sentinel payload has been seen."""
        return self._done

    @property
    def unterminated(self):
        """After :meth:`close`: the input ended inside an event (a line with no
        line end, or field lines with no blank line after them), whose bytes
        were discarded. False before close() and once :attr:`done`."""
        return self._unterminated

    @property
    def max_event_bytes(self):
        """The cap given to the constructor (None for no cap)."""
        return self._max_event_bytes

    @property
    def sentinel(self):
        """The end-of-stream payload as bytes, or None."""
        return self._sentinel

    @property
    def default_event(self):
        """The event type reported for a block without one."""
        return self._default_event

    def feed(self, data):
        """feed(data: bytes | bytearray | memoryview) -> list[ServerSentEvent]

        Parse the next chunk; return the events it completed (maybe []).
        """
        return self._feed_object(data, False)

    cpdef list _feed_raw(self, object data):
        """_feed_raw(data) -> list[tuple[str, bytes]]

        Like feed(), but each dispatched event is ``(event_type, data_bytes)``:
        the data stays undecoded bytes for orjson. Used by the decoder layer."""
        return self._feed_object(data, True)

    def close(self):
        """close() -> list[ServerSentEvent]

        End of input. An unterminated line or an event without its closing
        blank line is discarded (WHATWG 9.2.6: "If the file ends in the middle
        of an event, before the final empty line, the incomplete event is not
        dispatched"); :attr:`unterminated` then tells that it happened.
        Returns the events completed by ending the input, which is always []
        because every line end is acted on as soon as it arrives.
        """
        cdef bint busy
        if self._failed:
            raise SSEError(FAILED_MESSAGE)
        with cython.critical_section(self):
            busy = self._busy
            self._busy = True
        if busy:
            raise SSEError(BUSY_MESSAGE)
        self._closed = True
        self._unterminated = not self._done and (
            self._line.len > 0 or (self._at_start and self._bom_matched > 0)
            or self._has_data or self._etype.len > 0
            or self._id_dirty or self._block_retry is not None
        )
        buf_clear(&self._line)
        self._reset_block()
        self._busy = False
        return []

    cdef list _feed_object(self, object data, bint raw):
        cdef Py_buffer view
        cdef list out = []
        cdef bint busy
        if self._failed:
            raise SSEError(FAILED_MESSAGE)
        if self._closed:
            raise SSEError("feed() called after close()")
        if not PyBytes_CheckExact(data):
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(
                    f"feed() takes bytes, bytearray or memoryview, not {type(data).__name__}"
                )
            if isinstance(data, memoryview) and not (<memoryview>data).c_contiguous:
                data = bytes(data)
        if self._done:
            return out
        # Claim the parser; under the GIL nothing can run between the test and
        # the set, and in free-threaded builds the critical section makes it so.
        with cython.critical_section(self):
            busy = self._busy
            self._busy = True
        if busy:
            raise SSEError(BUSY_MESSAGE)
        try:
            if PyBytes_CheckExact(data):
                self._feed_bytes(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), out, raw)
            else:
                PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
                try:
                    self._feed_bytes(<const char*>view.buf, view.len, out, raw)
                finally:
                    PyBuffer_Release(&view)
        finally:
            self._busy = False
        return out

    # The scanning loop is the measured hot path: bounds and wraparound checks
    # are off because it only does pointer arithmetic within [p, end).
    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int _feed_bytes(self, const char* p, Py_ssize_t n, list out, bint raw) except -1:
        cdef const char* end = p + n
        cdef const char* eol
        cdef const char* next_cr
        cdef const char* value
        cdef Py_ssize_t seg
        if n == 0:
            return 0
        if self._at_start:
            # Decoding strips one UTF-8 BOM at the very start of the stream
            # (9.2.6, via "UTF-8 decode"); it may arrive split across chunks.
            while p < end and self._bom_matched < 3:
                if <unsigned char>p[0] != BOM[self._bom_matched]:
                    # Not a BOM after all: the bytes matched so far are data.
                    buf_append(&self._line, <const char*>BOM, self._bom_matched)
                    self._bom_matched = 3
                    break
                self._bom_matched += 1
                p += 1
            if self._bom_matched < 3:
                return 0  # the whole chunk is a prefix of the BOM
            self._at_start = False
        if self._skip_lf:
            # A CR ended the previous chunk's last line; an LF right after it
            # belongs to the same CRLF line ending.
            self._skip_lf = False
            if p < end and p[0] == b'\n':
                p += 1
        # Lines end at CRLF, LF or CR (9.2.6 "end-of-line"). The next CR is
        # searched once and again only after it has been passed, so the scan
        # stays linear whatever the mix of line endings.
        next_cr = <const char*>memchr(p, b'\r', end - p)
        while p < end:
            if next_cr is not NULL and next_cr < p:
                next_cr = <const char*>memchr(p, b'\r', end - p)
            if next_cr is not NULL:
                eol = <const char*>memchr(p, b'\n', next_cr - p)
                if eol is NULL:
                    eol = next_cr
            else:
                eol = <const char*>memchr(p, b'\n', end - p)
            seg = (eol if eol is not NULL else end) - p
            if self._limit >= 0 and self._line.len + seg > self._limit:
                self._fail("a line", out)
            if eol is NULL:
                buf_append(&self._line, p, seg)  # unterminated: wait for more
                return 0
            if self._line.len:
                buf_append(&self._line, p, seg)
                self._process_line(self._line.ptr, self._line.len, out, raw)
                buf_clear(&self._line)
            elif (
                not self._has_data and seg >= 5 and memcmp(p, b"data:", 5) == 0
                and eol[0] == b'\n' and eol + 1 < end and eol[1] == b'\n'
            ):
                # The common LLM event, "data: <payload>\n\n", whole in this
                # chunk: dispatch it straight from the input (the same result
                # as the general path, without copying into the data buffer).
                value = p + 5
                seg -= 5
                if seg and value[0] == b' ':
                    value += 1
                    seg -= 1
                self._dispatch(value, seg, True, out, raw)
                if self._done:
                    return 0
                p = eol + 2
                continue
            else:
                self._process_line(p, seg, out, raw)
            if self._done:
                buf_clear(&self._line)
                return 0
            p = eol + 1
            if eol[0] == b'\r':
                if p < end:
                    if p[0] == b'\n':
                        p += 1
                else:
                    self._skip_lf = True
        return 0

    cdef int _process_line(self, const char* s, Py_ssize_t n, list out, bint raw) except -1:
        cdef const char* colon
        cdef const char* value
        cdef Py_ssize_t name_len, value_len, i, extra
        cdef unsigned long long retry
        cdef object exact
        if n == 0:
            return self._dispatch(self._data.ptr, self._data.len, self._has_data, out, raw)
        if s[0] == b':':
            return 0  # a comment
        colon = <const char*>memchr(s, b':', n)
        if colon is NULL:
            name_len = n  # the whole line is the field name; the value is empty
            value = s + n
            value_len = 0
        else:
            name_len = colon - s
            value = colon + 1
            value_len = n - name_len - 1
            if value_len and value[0] == b' ':  # exactly one leading space is removed
                value += 1
                value_len -= 1
        if name_len == 4 and memcmp(s, b"data", 4) == 0:
            extra = value_len + 1 if self._has_data else value_len
            if self._limit >= 0 and self._data.len + extra > self._limit:
                self._fail("an event's data", out)
            if self._has_data:
                buf_append(&self._data, b"\n", 1)
            buf_append(&self._data, value, value_len)
            self._has_data = True
        elif name_len == 5 and memcmp(s, b"event", 5) == 0:
            self._etype.len = 0
            buf_append(&self._etype, value, value_len)
        elif name_len == 2 and memcmp(s, b"id", 2) == 0:
            if memchr(value, 0, value_len) is NULL:  # an id containing NULL is ignored
                self._idbuf.len = 0
                buf_append(&self._idbuf, value, value_len)
                self._id_dirty = True
        elif name_len == 5 and memcmp(s, b"retry", 5) == 0:
            if value_len == 0:
                return 0
            for i in range(value_len):  # ASCII digits only
                if value[i] < c'0' or value[i] > c'9':
                    return 0
            while value_len and value[0] == c'0':
                value += 1
                value_len -= 1
            if value_len > RETRY_C_DIGITS:
                exact = parse_retry(PyBytes_FromStringAndSize(value, value_len))
                if exact is None:
                    return 0  # too long to convert: ignored
                self._retry = self._block_retry = exact
                return 0
            retry = 0
            for i in range(value_len):
                retry = retry * 10 + <unsigned long long>(value[i] - c'0')
            self._retry = self._block_retry = PyLong_FromUnsignedLongLong(retry)
        # any other field is ignored
        return 0

    cdef int _dispatch(self, const char* data, Py_ssize_t data_len, bint has_data,
                       list out, bint raw) except -1:
        # 9.2.6 "dispatch the event": the last event ID is set even when the
        # data buffer is empty and no event is dispatched. The data is passed
        # in so that the fast path can hand over bytes still in the input.
        cdef object event_type
        cdef ServerSentEvent event
        cdef Py_ssize_t sentinel_len
        if self._id_dirty:
            self._last_event_id = decode_utf8(self._idbuf.ptr, self._idbuf.len)
            self._id_dirty = False
        if not has_data:
            self._reset_block()
            return 0
        if self._sentinel is not None:
            sentinel_len = PyBytes_GET_SIZE(self._sentinel)
            if sentinel_len == data_len and memcmp(
                PyBytes_AS_STRING(self._sentinel), data, sentinel_len
            ) == 0:
                self._done = True
                self._reset_block()
                return 0
        if self._etype.len == 0:
            event_type = self._default_event
        elif (
            self._type_key is not None
            and PyBytes_GET_SIZE(self._type_key) == self._etype.len
            and memcmp(PyBytes_AS_STRING(self._type_key), self._etype.ptr, self._etype.len) == 0
        ):
            event_type = self._type_str
        else:
            self._type_key = PyBytes_FromStringAndSize(self._etype.ptr, self._etype.len)
            self._type_str = decode_utf8(self._etype.ptr, self._etype.len)
            event_type = self._type_str
        if raw:
            out.append((event_type, PyBytes_FromStringAndSize(data, data_len)))
        else:
            event = ServerSentEvent.__new__(ServerSentEvent)
            event.event = event_type
            event.data = decode_utf8(data, data_len)
            event.id = self._last_event_id
            event.retry = self._block_retry
            out.append(event)
        self._reset_block()
        return 0

    cdef void _reset_block(self) noexcept:
        buf_clear(&self._data)
        self._has_data = False
        buf_clear(&self._etype)
        self._block_retry = None

    cdef int _fail(self, str what, list out) except -1:
        self._failed = True
        buf_clear(&self._line)
        self._reset_block()
        raise EventTooLarge(what, self._limit, out)
