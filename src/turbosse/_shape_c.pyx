# Compiled twin of _shape_py.py: one decoder's learned chunk shape, matched
# against later payloads with memcmp and one scan of the text's bytes, no JSON
# parse (see _shape_common, which learns the shape and says why a match
# decodes exactly as the full path would). Behaviour must match the Python
# twin exactly.

cimport cython

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memcmp

from orjson import JSONDecodeError, loads as _orjson_loads

from turbosse._shape_common import backoff, confirm, learn, text_field

__all__ = ["Shapes"]

cdef object LOADS = _orjson_loads


@cython.no_gc  # bytes, str, a Delta (atomic items) and the decoder module's probe function: no cycle possible
cdef class Shapes:
    """The chunk shape one decoder learned (see _shape_common.learn):
    ``head`` + a JSON string + ``mid`` (+ an ignored string + ``tail``).
    ``base`` is the learned delta and ``field`` the one of its fields the
    string fills; ``hits`` counts the payloads matched."""

    def __init__(self):
        self.event_type = None
        self.base = None
        self.field = 0
        self.hits = 0
        self._head = self._mid = b""
        self._tail = None
        self._fixed = 0
        self._wait = 0  # events to let pass before the next attempt to learn
        self._fails = 0  # attempts in a row that learned nothing useful
        self._learned_at = -1  # hits when the shape was learned (-1: none yet)
        self._source = None  # the payload learned from, until a match confirms the shape
        self._probe = None

    cpdef object match(self, str event_type, bytes payload):
        """The text in the shape's slot of ``payload``, or None when the
        payload is not of this shape (or the match is unsure: the full path
        decides then)."""
        if event_type is not self.event_type and event_type != self.event_type:
            return None
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(payload)
        cdef Py_ssize_t start = PyBytes_GET_SIZE(self._head)
        cdef Py_ssize_t nmid = PyBytes_GET_SIZE(self._mid)
        cdef Py_ssize_t i, close, ntail
        cdef unsigned char c
        cdef bint escaped = False
        cdef object text
        if n < self._fixed or memcmp(p, PyBytes_AS_STRING(self._head), start) != 0:
            return None
        i = start
        while i < n:
            c = p[i]
            if c == 0x22:  # '"'
                break
            if c == 0x5C:  # '\\': the escaped byte is skipped; orjson checks it
                escaped = True
                i += 2
                continue
            if c < 0x20:  # a raw control character: not JSON
                return None
            i += 1
        if i == start or i >= n or n - i < nmid or memcmp(p + i, PyBytes_AS_STRING(self._mid), nmid) != 0:
            return None
        if self._tail is None:
            if n - i != nmid:
                return None
        else:
            close = i + nmid
            while close < n:  # the ignored string: printable ASCII without escapes
                c = p[close]
                if c == 0x22 or c == 0x5C or c < 0x20 or c > 0x7E:
                    break
                close += 1
            ntail = PyBytes_GET_SIZE(<bytes>self._tail)
            if n - close != ntail or memcmp(p + close, PyBytes_AS_STRING(<bytes>self._tail), ntail) != 0:
                return None
        try:
            if escaped:
                text = LOADS(payload[start - 1 : i + 1])
            else:
                text = PyUnicode_DecodeUTF8(<const char*>(p + start), i - start, NULL)
        except (JSONDecodeError, UnicodeDecodeError):
            return None
        if self._source is not None:  # the first match: the probes decide first
            confirmed = self._confirm()
            if confirmed != 1:  # rejected; or another split of the same payload holds
                return self.match(event_type, payload) if confirmed == 2 else None
        self.hits += 1
        return text

    cdef int _confirm(self) except -1:
        """See _shape_py.Shapes._confirm."""
        learned = (self.event_type, self._head, self._mid, self._tail, self.field, self.base)
        confirmed = confirm(learned, self._source, self._probe)
        self._source = self._probe = None
        if confirmed is None:
            self.event_type = None  # nothing matches until a shape is learned again
            self._fails, self._wait = backoff(self._fails, False)
            return 0
        if confirmed != learned:
            self._take(confirmed)
            return 2
        return 1

    cdef _take(self, object learned):
        self.event_type, self._head, self._mid, self._tail, self.field, self.base = learned
        self._fixed = len(self._head) + len(self._mid) + (len(self._tail) if self._tail is not None else 0)

    cpdef observe(self, str event_type, bytes payload, object delta, object probe):
        """The full path decoded ``payload`` to exactly ``delta``: learn its
        shape, unless attempts keep failing (then the wait between attempts
        doubles, up to LEARN_BACKOFF_MAX events)."""
        if self._wait:
            self._wait -= 1
            return
        if not text_field(delta):
            return
        learned = learn(event_type, payload, delta)
        # useless too: a shape learned while the last one never matched
        self._fails, self._wait = backoff(self._fails, learned is not None and self._learned_at != self.hits)
        if learned is not None:
            self._take(learned)
            self._learned_at = self.hits
            self._source, self._probe = payload, probe
