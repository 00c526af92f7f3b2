# Compiled twin of _jsonstream_py.py, the incremental JSON parser; it follows
# the Python twin state for state (same state numbers, same error wording from
# _jsonstream_common), and the same tests run on both.
#
# A str fragment is scanned in place, in its own representation (1, 2 or 4
# bytes per character: one specialisation of the loop each); a bytes
# fragment is first decoded with CPython's incremental UTF-8 decoder (the
# one the Python twin uses), which holds back a sequence split at its end.
# The open string's text grows in one C buffer kept in the representation a
# str of it needs (widened at most twice per string), so a value() snapshot
# or a finished string is one allocation and one memcpy. Containers are
# built in place as in the Python twin, and value() copies only the open
# ones, so no input is ever read twice.

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport (
    PyUnicode_DATA,
    PyUnicode_DecodeUTF8Stateful,
    PyUnicode_FromKindAndData,
    PyUnicode_GET_LENGTH,
    PyUnicode_KIND,
    PyUnicode_New,
)
from libc.string cimport memcpy

from turbosse._errors import JSONStreamError
from turbosse._jsonstream_common import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_SIZE,
    EXPECTED,
    JSONEvent,
    char_error,
    depth_error,
    eof_error,
    number_length_error,
    number_length_limit,
    size_error,
)

__all__ = ["JSONStream"]

cdef extern from *:
    """
    static const char* jse_words[3] = {"true", "false", "null"};

    /* A JSONEvent (a tuple subclass) made as tuple_subtype_new would, with
       its three slots filled directly. */
    static PyObject* jse_event(PyObject* type, PyObject* kind, PyObject* path, PyObject* value) {
        PyObject* t = ((PyTypeObject*)type)->tp_alloc((PyTypeObject*)type, 3);
        if (t == NULL) return NULL;
        Py_INCREF(kind); PyTuple_SET_ITEM(t, 0, kind);
        Py_INCREF(path); PyTuple_SET_ITEM(t, 1, path);
        Py_INCREF(value); PyTuple_SET_ITEM(t, 2, value);
        return t;
    }
    """
    const char* jse_words[3]
    object jse_event(object type, object kind, object path, object value)
    object PyLong_FromString(const char* s, char** end, int base)
    double PyOS_string_to_double(const char* s, char** end, void* overflow) except? -1.0

cdef extern from "Python.h":
    ctypedef unsigned char Py_UCS1
    ctypedef unsigned short Py_UCS2
    ctypedef unsigned int UCS4 "Py_UCS4"

# the three representations of a str's characters
ctypedef fused uchar:
    Py_UCS1
    Py_UCS2
    UCS4

# parser states, numbered as in _jsonstream_common
cdef enum:
    VALUE = 0
    FIRST_ITEM = 1
    ARR_NEXT = 2
    FIRST_KEY = 3
    KEY = 4
    COLON = 5
    OBJ_NEXT = 6
    STRING = 7
    NUMBER = 8
    LITERAL = 9
    DONE = 10

# number states; ZERO, INT, FRAC and EXP end a valid number
cdef enum:
    N_MINUS = 0
    N_ZERO = 1
    N_INT = 2
    N_DOT = 3
    N_FRAC = 4
    N_E = 5
    N_ESIGN = 6
    N_EXP = 7

cdef inline bint terminal(int ns) noexcept:
    return ns == N_ZERO or ns == N_INT or ns == N_FRAC or ns == N_EXP

cdef tuple WORDS = ("true", "false", "null")
cdef tuple WORD_VALUES = (True, False, None)
cdef str K_OBJECT = "object"
cdef str K_ARRAY = "array"
cdef str K_STRING = "string"
cdef str K_VALUE = "value"
cdef object EVENT = JSONEvent
cdef tuple ROOT = ()

cdef inline int hexval(UCS4 c) noexcept:
    if 48 <= c <= 57:
        return <int>c - 48
    if 97 <= c <= 102:
        return <int>c - 87
    if 65 <= c <= 70:
        return <int>c - 55
    return -1

cdef inline int kind_of(UCS4 m) noexcept:
    # the str kind (bytes per character) that holds characters up to m
    return 1 if m < 256 else 2 if m < 65536 else 4


cdef class JSONStream:
    """Incremental JSON parser: push fragments of one JSON document, see the
    document take shape.

    :param max_depth: deepest nesting of arrays and objects (default 512).
    :param max_size: most input in total, counted as characters of str
        fragments plus bytes of bytes fragments (default 64 MiB); None for no
        limit.

    ``feed(fragment)`` takes the next piece (str, or bytes that may split a
    UTF-8 sequence anywhere) in time proportional to its length and returns
    the :class:`JSONEvent` tuples it caused. ``value()`` is the document so
    far, equal to ``jiter.from_json(prefix, partial_mode="trailing-strings")``
    (what the openai and anthropic SDKs show): open strings as their text so
    far, open arrays and objects with the members begun so far, a trailing
    number as far as it is a valid number; None before the top-level value
    shows anything. ``close()`` checks the document is complete and returns
    it. Integers are exact at any size (orjson turns those past 64 bits into
    floats) and numbers past the float range are ``inf``, as in ``json``.

    Invalid input raises :class:`JSONStreamError` (``offset``, ``reason``) at
    the first character that no valid document can contain; a limit raises
    it with ``limit`` set. After an error every call raises it again, while
    ``value()`` keeps the document up to the error.

    The values returned share their completed members with the stream's
    later values: treat them as read-only (``copy.deepcopy`` one to change
    it).

    >>> s = JSONStream()
    >>> s.feed('{"city": "Par')
    [JSONEvent('object', (), None), JSONEvent('string', ('city',), 'Par')]
    >>> s.value()
    {'city': 'Par'}
    >>> s.feed('is", "days": [1, 2')[-1]
    JSONEvent('value', ('days', 0), 1)
    >>> s.value()
    {'city': 'Paris', 'days': [1, 2]}
    >>> s.feed("]}")[-1]
    JSONEvent('value', (), {'city': 'Paris', 'days': [1, 2]})
    >>> s.close()
    {'city': 'Paris', 'days': [1, 2]}
    """

    cdef Py_ssize_t _max_depth
    cdef Py_ssize_t _limit  # max_size, or -1 for none
    cdef Py_ssize_t _size
    cdef Py_ssize_t _chars  # characters parsed before the current run
    cdef int _state
    cdef object _root
    cdef list _stack
    cdef list _paths
    cdef list _keys
    cdef object _top  # the innermost open container, or None
    cdef bint _top_is_obj
    cdef tuple _leaf_path
    cdef bint _is_key
    # the open string (or key, or number text), _skind bytes per character;
    # _smax is the OR of its characters (its kind boundaries are the max's)
    cdef char* _sbuf
    cdef Py_ssize_t _slen
    cdef Py_ssize_t _max_number  # number_length_limit() when made
    cdef Py_ssize_t _sbytes  # allocated bytes
    cdef int _skind
    cdef UCS4 _smax
    cdef Py_ssize_t _smark  # characters already reported in events
    cdef int _esc
    cdef int _ndig
    cdef int _hex
    cdef int _high
    cdef int _nstate
    cdef int _word
    cdef int _wi
    cdef bytes _pend  # a bytes fragment's unfinished UTF-8 sequence
    cdef bint _from_bytes
    cdef list _events
    cdef object _error
    cdef bint _closed

    def __cinit__(self):
        self._sbuf = NULL
        self._sbytes = 0

    def __dealloc__(self):
        PyMem_Free(self._sbuf)

    def __init__(self, *, max_depth=DEFAULT_MAX_DEPTH, max_size=DEFAULT_MAX_SIZE):
        if max_depth < 1:
            raise ValueError(f"max_depth must be at least 1, not {max_depth}")
        if max_size is not None and max_size < 0:
            raise ValueError(f"max_size must be non-negative or None, not {max_size}")
        self._max_depth = max_depth
        self._limit = -1 if max_size is None else max_size
        self._max_number = number_length_limit()
        self._size = 0
        self._chars = 0
        self._state = VALUE
        self._root = None
        self._stack = []
        self._paths = []
        self._keys = []
        self._top = None
        self._top_is_obj = False
        self._leaf_path = ROOT
        self._is_key = False
        self._slen = 0
        self._skind = 1
        self._smax = 0
        self._smark = 0
        self._reserve(64)
        self._esc = 0
        self._high = 0
        self._pend = b""
        self._from_bytes = False
        self._events = []
        self._error = None
        self._closed = False

    @property
    def done(self):
        """True once the top-level value is complete (a bare number: at close())."""
        return self._state == DONE

    # -- public API -----------------------------------------------------------

    def feed(self, fragment):
        """Parse the next fragment; return the events it caused."""
        cdef list events
        if self._error is not None:
            raise self._error
        if self._closed:
            raise JSONStreamError("feed() after close()", self._chars)
        events = []
        self._events = events
        try:
            if type(fragment) is str or isinstance(fragment, str):
                self._check_size(PyUnicode_GET_LENGTH(fragment))
                if self._pend:
                    self._flush_pending()
                self._from_bytes = False
                self._run(<str>fragment)
            elif isinstance(fragment, (bytes, bytearray, memoryview)):
                self._feed_bytes(fragment)
            else:
                raise TypeError(f"feed() takes str or bytes, not {type(fragment).__name__}")
            if self._state == STRING and not self._is_key and self._slen > self._smark:
                self._emit(K_STRING, self._leaf_path, self._text(self._smark))
                self._smark = self._slen
        except JSONStreamError as exc:
            exc.events = events
            self._error = exc
            raise
        return events

    def value(self):
        """The document so far (see the class docstring)."""
        cdef int st = self._state
        cdef object leaf = None
        cdef bint has_leaf = False
        cdef Py_ssize_t d
        cdef bint inner = True
        cdef list stack = self._stack
        cdef object child, copy, container
        if st == STRING and not self._is_key:
            leaf = self._snapshot()
            has_leaf = True
        elif st == NUMBER and terminal(self._nstate):
            leaf = self._number_value()
            has_leaf = True
        if not stack:
            if st == DONE:
                return self._root
            return leaf
        child = leaf
        for d in range(len(stack) - 1, -1, -1):
            container = stack[d]
            if type(container) is dict:
                copy = (<dict>container).copy()
                if has_leaf:
                    (<dict>copy)[self._keys[d]] = child
            else:
                copy = (<list>container)[:]
                if has_leaf:
                    if inner:
                        (<list>copy).append(child)
                    else:
                        (<list>copy)[len(<list>copy) - 1] = child
            child = copy
            has_leaf = True
            inner = False
        return child

    def close(self):
        """End of input: return the complete document, or raise
        JSONStreamError if it is incomplete."""
        cdef int st
        if self._error is not None:
            raise self._error
        if not self._closed:
            self._events = []
            try:
                if self._pend:
                    self._flush_pending()
                st = self._state
                if st == NUMBER and terminal(self._nstate) and not self._stack:
                    self._complete(self._number_value())
                elif st != DONE:
                    raise eof_error(st, self._is_key, WORDS[self._word], self._nstate,
                                    len(self._stack), self._chars)
            except JSONStreamError as exc:
                self._error = exc
                raise
            self._closed = True
        return self._root

    # -- input ------------------------------------------------------------------

    cdef int _check_size(self, Py_ssize_t size) except -1:
        if self._limit >= 0 and self._size + size > self._limit:
            raise size_error(self._limit, self._chars)
        self._size += size
        return 0

    cdef int _feed_bytes(self, object fragment) except -1:
        # Decoded as Python's incremental UTF-8 decoder does (the same
        # function underneath), invalid bytes as surrogateescape code points.
        cdef Py_buffer view
        cdef Py_ssize_t consumed = 0
        cdef bytes data
        cdef str text
        if type(fragment) is memoryview and not (<memoryview>fragment).c_contiguous:
            fragment = bytes(fragment)  # a strided view: its bytes, as the Python twin reads it
        PyObject_GetBuffer(fragment, &view, PyBUF_SIMPLE)
        try:
            self._check_size(view.len)
            if self._pend:
                data = self._pend + (<char*>view.buf)[:view.len]
                text = PyUnicode_DecodeUTF8Stateful(data, len(data), "surrogateescape", &consumed)
                self._pend = data[consumed:]
            else:
                text = PyUnicode_DecodeUTF8Stateful(<char*>view.buf, view.len, "surrogateescape", &consumed)
                if consumed < view.len:
                    self._pend = (<char*>view.buf)[consumed:view.len]
        finally:
            PyBuffer_Release(&view)
        self._from_bytes = True
        return self._run(text)

    cdef int _flush_pending(self) except -1:
        # a bytes fragment ended inside a UTF-8 sequence and no more bytes came
        cdef Py_ssize_t consumed = 0
        cdef bytes data = self._pend
        self._pend = b""
        self._from_bytes = True
        return self._run(PyUnicode_DecodeUTF8Stateful(data, len(data), "surrogateescape", NULL))

    cdef long _code(self, UCS4 c) noexcept:
        # the code char_error reports (see _jsonstream_common.char_error)
        if 0xD800 <= c <= 0xDFFF:
            return -1 - (<long>c - 0xDC00) if self._from_bytes else -0x10000 - <long>c
        return c

    cdef int _fail(self, UCS4 c, Py_ssize_t i, object expected) except -1:
        raise char_error(self._code(c), expected, self._chars + i)

    # -- the state machine ----------------------------------------------------

    cdef int _run(self, str text) except -1:
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
        cdef int kind = PyUnicode_KIND(text)
        cdef void* data = PyUnicode_DATA(text)
        if kind == 1:
            self._run_k(<Py_UCS1*>data, n)
        elif kind == 2:
            self._run_k(<Py_UCS2*>data, n)
        else:
            self._run_k(<UCS4*>data, n)
        self._chars += n
        return 0

    cdef int _run_k(self, const uchar* p, Py_ssize_t n) except -1:
        cdef Py_ssize_t i = 0
        cdef int st
        cdef UCS4 c
        while i < n:
            st = self._state
            if st == STRING:
                i = self._string(p, i, n)
                continue
            c = p[i]
            if st == NUMBER:
                if self._number(c, i):
                    i += 1
                    continue
                st = self._state  # the number ended before c: c goes on below
            elif st == LITERAL:
                self._literal(c, i)
                i += 1
                continue
            if c == 32 or c == 10 or c == 13 or c == 9:
                i += 1
                continue
            if st == VALUE or st == FIRST_ITEM:
                if c == 93 and st == FIRST_ITEM:  # ]
                    self._close()
                else:
                    self._begin(c, i)
            elif st == ARR_NEXT and c == 44:  # ,
                self._state = VALUE
            elif (st == ARR_NEXT and c == 93) or ((st == OBJ_NEXT or st == FIRST_KEY) and c == 125):
                self._close()
            elif (st == FIRST_KEY or st == KEY) and c == 34:
                self._start_string(True)
            elif st == COLON and c == 58:  # :
                self._state = VALUE
            elif st == OBJ_NEXT and c == 44:
                self._state = KEY
            else:
                self._fail(c, i, EXPECTED[st])
            i += 1
        return 0

    cdef tuple _member_path(self):
        # the path of the value that begins now
        if self._top is None:
            return ROOT
        cdef tuple path = <tuple>self._paths[len(self._paths) - 1]
        if self._top_is_obj:
            return path + (self._keys[len(self._keys) - 1],)
        return path + (len(<list>self._top),)

    cdef int _begin(self, UCS4 c, Py_ssize_t i) except -1:
        cdef object container
        cdef tuple path
        if c == 123 or c == 91:  # { [
            if len(self._stack) >= self._max_depth:
                raise depth_error(self._max_depth, self._chars + i)
            container = {} if c == 123 else []
            path = self._member_path()
            if self._top is not None:
                if self._top_is_obj:
                    (<dict>self._top)[self._keys[len(self._keys) - 1]] = container
                else:
                    (<list>self._top).append(container)
            else:
                self._root = container
            self._stack.append(container)
            self._paths.append(path)
            self._keys.append(None)
            self._top = container
            self._top_is_obj = c == 123
            self._state = FIRST_KEY if c == 123 else FIRST_ITEM
            self._emit(K_OBJECT if c == 123 else K_ARRAY, path, None)
        elif c == 34:  # "
            self._leaf_path = self._member_path()
            self._start_string(False)
        elif c == 45 or 48 <= c <= 57:  # - digit
            self._leaf_path = self._member_path()
            self._state = NUMBER
            self._reset_text()
            self._append_char(c)
            self._nstate = N_MINUS if c == 45 else N_ZERO if c == 48 else N_INT
        elif c == 116 or c == 102 or c == 110:  # t f n
            self._leaf_path = self._member_path()
            self._state = LITERAL
            self._word = 0 if c == 116 else 1 if c == 102 else 2
            self._wi = 1
        else:
            self._fail(c, i, EXPECTED[self._state])
        return 0

    cdef int _complete(self, object value) except -1:
        # a string, number or literal is complete
        if self._top is not None:
            if self._top_is_obj:
                (<dict>self._top)[self._keys[len(self._keys) - 1]] = value
                self._state = OBJ_NEXT
            else:
                (<list>self._top).append(value)
                self._state = ARR_NEXT
        else:
            self._root = value
            self._state = DONE
        self._emit(K_VALUE, self._leaf_path, value)
        return 0

    cdef int _close(self) except -1:
        cdef object container = self._stack.pop()
        cdef object path = self._paths.pop()
        self._keys.pop()
        if self._stack:
            self._top = self._stack[len(self._stack) - 1]
            self._top_is_obj = type(self._top) is dict
            self._state = OBJ_NEXT if self._top_is_obj else ARR_NEXT
        else:
            self._top = None
            self._state = DONE
        self._emit(K_VALUE, path, container)
        return 0

    cdef inline int _emit(self, str kind, object path, object value) except -1:
        self._events.append(jse_event(EVENT, kind, path, value))
        return 0

    # the text buffer

    cdef int _reserve(self, Py_ssize_t extra) except -1:
        # room for extra more characters and a NUL
        cdef Py_ssize_t need = (self._slen + extra + 1) * self._skind
        cdef Py_ssize_t size
        cdef char* grown
        if need <= self._sbytes:
            return 0
        size = self._sbytes * 2 if self._sbytes else 256
        while size < need:
            size *= 2
        grown = <char*>PyMem_Malloc(size)
        if grown == NULL:
            raise MemoryError()
        if self._slen:
            memcpy(grown, self._sbuf, self._slen * self._skind)
        PyMem_Free(self._sbuf)
        self._sbuf = grown
        self._sbytes = size
        return 0

    cdef int _widen(self, int kind) except -1:
        # re-encode the text so far with kind bytes per character (the
        # buffer keeps its bytes across strings: size it by the text)
        cdef Py_ssize_t size = (self._slen + 64) * 2 * kind
        cdef char* wide = <char*>PyMem_Malloc(size)
        cdef Py_ssize_t k
        if wide == NULL:
            raise MemoryError()
        if self._skind == 1 and kind == 2:
            for k in range(self._slen):
                (<Py_UCS2*>wide)[k] = (<Py_UCS1*>self._sbuf)[k]
        elif self._skind == 1:
            for k in range(self._slen):
                (<UCS4*>wide)[k] = (<Py_UCS1*>self._sbuf)[k]
        else:
            for k in range(self._slen):
                (<UCS4*>wide)[k] = (<Py_UCS2*>self._sbuf)[k]
        PyMem_Free(self._sbuf)
        self._sbuf = wide
        self._sbytes = size
        self._skind = kind
        return 0

    cdef inline int _append_run(self, const uchar* p, Py_ssize_t n, UCS4 acc) except -1:
        # append n characters whose OR is acc
        cdef Py_ssize_t k
        cdef int kind
        cdef void* dst
        self._smax |= acc
        kind = kind_of(self._smax)
        if kind > self._skind:
            self._widen(kind)
        if (self._slen + n + 1) * self._skind > self._sbytes:
            self._reserve(n)
        dst = self._sbuf + self._slen * self._skind
        if sizeof(uchar) == self._skind:
            memcpy(dst, p, n * sizeof(uchar))
        elif self._skind == 1:
            for k in range(n):
                (<Py_UCS1*>dst)[k] = <Py_UCS1>p[k]
        elif self._skind == 2:
            for k in range(n):
                (<Py_UCS2*>dst)[k] = <Py_UCS2>p[k]
        else:
            for k in range(n):
                (<UCS4*>dst)[k] = p[k]
        self._slen += n
        return 0

    cdef int _append_char(self, UCS4 c) except -1:
        cdef UCS4 one = c
        return self._append_run(<const UCS4*>&one, 1, c)

    cdef inline void _reset_text(self) noexcept:
        self._slen = 0
        self._smark = 0
        self._skind = 1
        self._smax = 0

    cdef object _snapshot(self):
        # the text as a str: one allocation, one memcpy
        cdef object s = PyUnicode_New(self._slen, self._smax if self._smax <= 0x10FFFF else 0x10FFFF)
        if self._slen:
            memcpy(PyUnicode_DATA(s), self._sbuf, self._slen * self._skind)
        return s

    cdef object _text(self, Py_ssize_t start):
        # the text from character start on
        return PyUnicode_FromKindAndData(self._skind, self._sbuf + start * self._skind,
                                         self._slen - start)

    # strings

    cdef int _start_string(self, bint is_key) except -1:
        self._state = STRING
        self._is_key = is_key
        self._reset_text()
        return 0

    # The hot loop: a string's plain run is scanned and copied in one pass
    # over the fragment's own representation.
    cdef Py_ssize_t _string(self, const uchar* p, Py_ssize_t i, Py_ssize_t n) except -1:
        cdef Py_ssize_t j
        cdef UCS4 c, acc
        while i < n:
            if self._esc:
                self._escape(p[i], i)
                i += 1
                continue
            j = i
            acc = 0
            while j < n:
                c = p[j]
                if c < 0x20 or c == 34 or c == 92:
                    break
                if uchar is not Py_UCS1:
                    if 0xD800 <= c <= 0xDFFF:
                        break
                acc |= c
                j += 1
            if j > i:
                self._append_run(p + i, j - i, acc)
            if j == n:
                return n
            c = p[j]
            if c == 34:  # "
                self._end_string()
                return j + 1
            if c == 92:  # \
                self._esc = 1
                i = j + 1
                continue
            self._fail(c, j, EXPECTED["control"])
        return i

    cdef int _escape(self, UCS4 c, Py_ssize_t i) except -1:
        cdef int esc = self._esc
        cdef int d, h, nd
        if esc == 1:
            if c == 117:  # u
                self._esc = 2
                self._ndig = 0
                self._hex = 0
                return 0
            if c == 34 or c == 92 or c == 47:  # " \ /
                pass
            elif c == 98:
                c = 8
            elif c == 102:
                c = 12
            elif c == 110:
                c = 10
            elif c == 114:
                c = 13
            elif c == 116:
                c = 9
            else:
                self._fail(c, i, EXPECTED["escape"])
            self._append_char(c)
            self._esc = 0
            return 0
        if esc == 3 or esc == 4:
            if c != (92 if esc == 3 else 117):
                self._fail(c, i, EXPECTED["low"])
            if esc == 3:
                self._esc = 4
            else:
                self._esc = 2
                self._ndig = 0
                self._hex = 0
            return 0
        d = hexval(c)
        if d < 0:
            self._fail(c, i, EXPECTED["hex"])
        h = self._hex * 16 + d
        nd = self._ndig + 1
        if self._high:
            if (nd == 1 and d != 0xD) or (nd == 2 and not 0xDC <= h <= 0xDF):
                self._fail(c, i, EXPECTED["low"])
        elif nd == 2 and 0xDC <= h <= 0xDF:
            self._fail(c, i, EXPECTED["high"])
        if nd < 4:
            self._hex = h
            self._ndig = nd
            return 0
        self._esc = 0
        if self._high:
            self._append_char(0x10000 + ((self._high - 0xD800) << 10) + (h - 0xDC00))
            self._high = 0
        elif 0xD800 <= h <= 0xDBFF:
            self._high = h
            self._esc = 3
        else:
            self._append_char(h)
        return 0

    cdef int _end_string(self) except -1:
        cdef object text = self._snapshot()
        if self._is_key:
            self._keys[len(self._keys) - 1] = text
            self._state = COLON
            return 0
        if self._slen > self._smark:
            self._emit(K_STRING, self._leaf_path, text if self._smark == 0 else self._text(self._smark))
        self._complete(text)
        return 0

    # numbers and literals

    cdef bint _number(self, UCS4 c, Py_ssize_t i) except -1:
        # True: c is part of the number; False: the number ended before c
        cdef int ns = self._nstate
        if 48 <= c <= 57:
            if ns == N_ZERO:
                self._fail(c, i, EXPECTED["number", N_ZERO])
            if ns == N_MINUS:
                ns = N_ZERO if c == 48 else N_INT
            elif ns == N_DOT:
                ns = N_FRAC
            elif ns == N_E or ns == N_ESIGN:
                ns = N_EXP
        elif c == 46 and (ns == N_ZERO or ns == N_INT):
            ns = N_DOT
        elif (c == 101 or c == 69) and (ns == N_ZERO or ns == N_INT or ns == N_FRAC):
            ns = N_E
        elif (c == 43 or c == 45) and ns == N_E:
            ns = N_ESIGN
        elif terminal(ns):
            self._complete(self._number_value())
            return False
        else:
            self._fail(c, i, EXPECTED["number", ns])
        if self._slen >= self._max_number:
            raise number_length_error(self._chars + i, self._max_number)
        self._append_char(c)
        self._nstate = ns
        return True

    cdef object _number_value(self):
        # the number text is ASCII, one byte per character
        self._sbuf[self._slen] = 0
        if self._nstate == N_ZERO or self._nstate == N_INT:
            return PyLong_FromString(self._sbuf, NULL, 10)
        return PyOS_string_to_double(self._sbuf, NULL, NULL)

    cdef int _literal(self, UCS4 c, Py_ssize_t i) except -1:
        if c != <UCS4>jse_words[self._word][self._wi]:
            self._fail(c, i, repr(WORDS[self._word]))
        self._wi += 1
        if jse_words[self._word][self._wi] == 0:
            self._complete(WORD_VALUES[self._word])
        return 0
