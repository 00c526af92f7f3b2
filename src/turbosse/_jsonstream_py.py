"""Pure-Python twin of JSONStream: an incremental, push-based JSON parser that
shows a document while it is still arriving (tool-call arguments, structured
output), in time linear in the input.

The reference the compiled twin (_jsonstream_c.pyx) follows state for state.
The document is kept as it is built: completed values sit in their (live)
containers, open containers are already attached to their parents, and only
the innermost open string or number is held apart; ``value()`` copies the
open containers along the path to it and adds that leaf, so it never
re-parses. The grammar is RFC 8259's, checked character by character, so an
error is raised by the first character that no valid document can contain.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from ._errors import JSONStreamError
from ._jsonstream_common import (
    ARR_NEXT,
    COLON,
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_SIZE,
    DONE,
    EXPECTED,
    FIRST_ITEM,
    FIRST_KEY,
    KEY,
    LITERAL,
    N_DOT,
    N_E,
    N_ESIGN,
    N_EXP,
    N_FRAC,
    N_INT,
    N_MINUS,
    N_ZERO,
    NUMBER,
    OBJ_NEXT,
    STRING,
    VALUE,
    JSONEvent,
    char_error,
    depth_error,
    eof_error,
    number_length_error,
    number_length_limit,
    size_error,
)

__all__ = ["JSONStream"]

TERMINAL = (N_ZERO, N_INT, N_FRAC, N_EXP)
LITERALS = {"true": True, "false": False, "null": None}
SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
HEX = {c: int(c, 16) for c in "0123456789abcdefABCDEF"}
WHITESPACE = " \t\n\r"

_STRING_SPECIAL = re.compile('["\\\\\x00-\x1f\ud800-\udfff]')
_MISSING: Any = object()


class JSONStream:
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

    def __init__(
        self, *, max_depth: int = DEFAULT_MAX_DEPTH, max_size: int | None = DEFAULT_MAX_SIZE
    ) -> None:
        if max_depth < 1:
            raise ValueError(f"max_depth must be at least 1, not {max_depth}")
        if max_size is not None and max_size < 0:
            raise ValueError(f"max_size must be non-negative or None, not {max_size}")
        self._max_depth = max_depth
        self._max_size = max_size
        self._max_number = number_length_limit()
        self._size = 0  # input fed, in fragment units
        self._offset = 0  # characters parsed
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self._pending = False  # the decoder holds part of a UTF-8 sequence
        self._state = VALUE
        self._root: Any = None
        self._stack: list[Any] = []  # open containers, outermost first
        self._paths: list[tuple[Any, ...]] = []  # their paths
        self._keys: list[Any] = []  # the current key of each open object
        self._leaf_path: tuple[Any, ...] = ()  # path of the open string/number/literal
        self._is_key = False
        self._pieces: list[str] = []  # the open string's text
        self._mark = 0  # pieces already reported in events
        self._esc = 0  # 0, 1 after '\', 2 in \u digits, 3/4 expect '\' / 'u' of a low surrogate
        self._ndig = 0
        self._hex = 0
        self._high = 0  # pending high surrogate
        self._num = ""
        self._nstate = N_MINUS
        self._word = ""
        self._wi = 0
        self._events: list[JSONEvent] = []
        self._error: JSONStreamError | None = None
        self._closed = False
        self._from_bytes = False

    @property
    def done(self) -> bool:
        """True once the top-level value is complete (a bare number: at close())."""
        return self._state == DONE

    # -- public API -----------------------------------------------------------

    def feed(self, fragment: str | bytes | bytearray | memoryview) -> list[JSONEvent]:
        """Parse the next fragment; return the events it caused."""
        if self._error is not None:
            raise self._error
        if self._closed:
            raise JSONStreamError("feed() after close()", self._offset)
        if isinstance(fragment, str):
            size = len(fragment)
        elif isinstance(fragment, (bytes, bytearray, memoryview)):
            fragment = bytes(fragment)
            size = len(fragment)
        else:
            raise TypeError(f"feed() takes str or bytes, not {type(fragment).__name__}")
        events: list[JSONEvent] = []
        self._events = events
        try:
            if self._max_size is not None and self._size + size > self._max_size:
                raise size_error(self._max_size, self._offset)
            self._size += size
            if isinstance(fragment, str):
                if self._pending:  # a bytes fragment ended inside a UTF-8 sequence
                    self._pending = False
                    self._run(self._decoder.decode(b"", final=True), True)
                self._run(fragment, False)
            else:
                text = self._decoder.decode(fragment)
                self._pending = bool(self._decoder.getstate()[0])
                self._run(text, True)
            if self._state == STRING and not self._is_key and len(self._pieces) > self._mark:
                self._emit("string", self._leaf_path, "".join(self._pieces[self._mark :]))
                self._mark = len(self._pieces)
        except JSONStreamError as exc:
            exc.events = events
            self._error = exc
            raise
        return events

    def value(self) -> Any:
        """The document so far (see the class docstring)."""
        st = self._state
        leaf = _MISSING
        if st == STRING and not self._is_key:
            pieces = self._pieces
            leaf = "".join(pieces)
            if len(pieces) > 1 and self._mark == len(pieces):
                self._pieces = [leaf]
                self._mark = 1
        elif st == NUMBER and self._nstate in TERMINAL:
            leaf = self._number_value()
        stack = self._stack
        if not stack:
            if st == DONE:
                return self._root
            return None if leaf is _MISSING else leaf
        child = leaf
        inner = True
        for d in range(len(stack) - 1, -1, -1):
            copy = stack[d].copy()
            if child is not _MISSING:
                if type(copy) is dict:
                    copy[self._keys[d]] = child
                elif inner:
                    copy.append(child)
                else:
                    copy[-1] = child
            child = copy
            inner = False
        return child

    def close(self) -> Any:
        """End of input: return the complete document, or raise
        JSONStreamError if it is incomplete."""
        if self._error is not None:
            raise self._error
        if not self._closed:
            self._events = []
            try:
                if self._pending:
                    self._pending = False
                    self._run(self._decoder.decode(b"", final=True), True)
                st = self._state
                if st == NUMBER and self._nstate in TERMINAL and not self._stack:
                    self._complete(self._number_value())
                elif st != DONE:
                    raise eof_error(
                        st, self._is_key, self._word, self._nstate, len(self._stack), self._offset
                    )
            except JSONStreamError as exc:
                self._error = exc
                raise
            self._closed = True
        return self._root

    # -- the state machine ----------------------------------------------------

    def _code(self, c: str) -> int:
        # The code char_error reports: a surrogate code point is an invalid
        # byte of a bytes fragment (decoded with surrogateescape) or a lone
        # surrogate in a str fragment; neither belongs in a JSON text.
        code = ord(c)
        if 0xD800 <= code <= 0xDFFF:
            return -1 - (code - 0xDC00) if self._from_bytes else -0x10000 - code
        return code

    def _run(self, s: str, from_bytes: bool) -> None:
        self._from_bytes = from_bytes
        i = 0
        n = len(s)
        base = self._offset
        while i < n:
            st = self._state
            if st == STRING:
                i = self._string(s, i, base)
                continue
            c = s[i]
            if st == NUMBER:
                if self._number(c, base + i):
                    i += 1
                    continue
                st = self._state  # the number ended before c: c goes on below
            elif st == LITERAL:
                self._literal(c, base + i)
                i += 1
                continue
            i += 1
            if c in WHITESPACE:
                continue
            if st == VALUE or st == FIRST_ITEM:
                if c == "]" and st == FIRST_ITEM:
                    self._close()
                else:
                    self._begin(c, base + i - 1)
            elif st == ARR_NEXT and c == ",":
                self._state = VALUE
            elif (st == ARR_NEXT and c == "]") or ((st == OBJ_NEXT or st == FIRST_KEY) and c == "}"):
                self._close()
            elif (st == FIRST_KEY or st == KEY) and c == '"':
                self._start_string(True)
            elif st == COLON and c == ":":
                self._state = VALUE
            elif st == OBJ_NEXT and c == ",":
                self._state = KEY
            else:
                raise char_error(self._code(c), EXPECTED[st], base + i - 1)
        self._offset = base + n

    def _member_path(self) -> tuple[Any, ...]:
        # the path of the value that begins now
        if not self._stack:
            return ()
        top = self._stack[-1]
        if type(top) is dict:
            return self._paths[-1] + (self._keys[-1],)
        return self._paths[-1] + (len(top),)

    def _begin(self, c: str, offset: int) -> None:
        if c == "{" or c == "[":
            if len(self._stack) >= self._max_depth:
                raise depth_error(self._max_depth, offset)
            container: Any = {} if c == "{" else []
            path = self._member_path()
            if self._stack:
                top = self._stack[-1]
                if type(top) is dict:
                    top[self._keys[-1]] = container
                else:
                    top.append(container)
            else:
                self._root = container
            self._stack.append(container)
            self._paths.append(path)
            self._keys.append(None)
            self._state = FIRST_KEY if c == "{" else FIRST_ITEM
            self._emit("object" if c == "{" else "array", path, None)
        elif c == '"':
            self._leaf_path = self._member_path()
            self._start_string(False)
        elif c == "-" or "0" <= c <= "9":
            self._leaf_path = self._member_path()
            self._state = NUMBER
            self._num = c
            self._nstate = N_MINUS if c == "-" else N_ZERO if c == "0" else N_INT
        elif c == "t" or c == "f" or c == "n":
            self._leaf_path = self._member_path()
            self._state = LITERAL
            self._word = "true" if c == "t" else "false" if c == "f" else "null"
            self._wi = 1
        else:
            raise char_error(self._code(c), EXPECTED[self._state], offset)

    def _complete(self, value: Any) -> None:
        # a string, number or literal is complete
        stack = self._stack
        if stack:
            top = stack[-1]
            if type(top) is dict:
                top[self._keys[-1]] = value
                self._state = OBJ_NEXT
            else:
                top.append(value)
                self._state = ARR_NEXT
        else:
            self._root = value
            self._state = DONE
        self._emit("value", self._leaf_path, value)

    def _close(self) -> None:
        container = self._stack.pop()
        path = self._paths.pop()
        self._keys.pop()
        if self._stack:
            self._state = OBJ_NEXT if type(self._stack[-1]) is dict else ARR_NEXT
        else:
            self._state = DONE
        self._emit("value", path, container)

    def _emit(self, kind: str, path: tuple[Any, ...], value: Any) -> None:
        self._events.append(tuple.__new__(JSONEvent, (kind, path, value)))

    # strings

    def _start_string(self, is_key: bool) -> None:
        self._state = STRING
        self._is_key = is_key
        self._pieces = []
        self._mark = 0

    def _string(self, s: str, i: int, base: int) -> int:
        n = len(s)
        pieces = self._pieces
        while i < n:
            if self._esc:
                self._escape(s[i], base + i)
                i += 1
                continue
            m = _STRING_SPECIAL.search(s, i)
            if m is None:
                pieces.append(s[i:])
                return n
            j = m.start()
            if j > i:
                pieces.append(s[i:j])
            c = s[j]
            if c == '"':
                self._end_string()
                return j + 1
            if c != "\\":
                raise char_error(self._code(c), EXPECTED["control"], base + j)
            self._esc = 1
            i = j + 1
        return i

    def _escape(self, c: str, offset: int) -> None:
        esc = self._esc
        if esc == 1:
            if c == "u":
                self._esc, self._ndig, self._hex = 2, 0, 0
                return
            ch = SIMPLE_ESCAPES.get(c)
            if ch is None:
                raise char_error(self._code(c), EXPECTED["escape"], offset)
            self._pieces.append(ch)
            self._esc = 0
            return
        if esc == 3 or esc == 4:
            if c != ("\\" if esc == 3 else "u"):
                raise char_error(self._code(c), EXPECTED["low"], offset)
            if esc == 3:
                self._esc = 4
            else:
                self._esc, self._ndig, self._hex = 2, 0, 0
            return
        d = HEX.get(c)
        if d is None:
            raise char_error(self._code(c), EXPECTED["hex"], offset)
        h = self._hex * 16 + d
        nd = self._ndig + 1
        if self._high:
            if (nd == 1 and d != 0xD) or (nd == 2 and not 0xDC <= h <= 0xDF):
                raise char_error(self._code(c), EXPECTED["low"], offset)
        elif nd == 2 and 0xDC <= h <= 0xDF:
            raise char_error(self._code(c), EXPECTED["high"], offset)
        if nd < 4:
            self._hex, self._ndig = h, nd
            return
        self._esc = 0
        if self._high:
            self._pieces.append(chr(0x10000 + ((self._high - 0xD800) << 10) + (h - 0xDC00)))
            self._high = 0
        elif 0xD800 <= h <= 0xDBFF:
            self._high = h
            self._esc = 3
        else:
            self._pieces.append(chr(h))

    def _end_string(self) -> None:
        pieces = self._pieces
        text = "".join(pieces)
        self._pieces = []
        if self._is_key:
            self._keys[-1] = text
            self._state = COLON
            return
        if len(pieces) > self._mark:
            self._emit("string", self._leaf_path, text if self._mark == 0 else "".join(pieces[self._mark :]))
        self._complete(text)

    # numbers and literals

    def _number(self, c: str, offset: int) -> bool:
        # True: c is part of the number; False: the number ended before c
        ns = self._nstate
        if "0" <= c <= "9":
            if ns == N_ZERO:
                raise char_error(self._code(c), EXPECTED["number", N_ZERO], offset)
            if ns == N_MINUS:
                ns = N_ZERO if c == "0" else N_INT
            elif ns == N_DOT:
                ns = N_FRAC
            elif ns == N_E or ns == N_ESIGN:
                ns = N_EXP
        elif c == "." and (ns == N_ZERO or ns == N_INT):
            ns = N_DOT
        elif (c == "e" or c == "E") and (ns == N_ZERO or ns == N_INT or ns == N_FRAC):
            ns = N_E
        elif (c == "+" or c == "-") and ns == N_E:
            ns = N_ESIGN
        elif ns in TERMINAL:
            self._complete(self._number_value())
            return False
        else:
            raise char_error(self._code(c), EXPECTED["number", ns], offset)
        if len(self._num) >= self._max_number:
            raise number_length_error(offset, self._max_number)
        self._num += c
        self._nstate = ns
        return True

    def _number_value(self) -> Any:
        if self._nstate == N_ZERO or self._nstate == N_INT:
            return int(self._num)
        return float(self._num)

    def _literal(self, c: str, offset: int) -> None:
        word = self._word
        if c != word[self._wi]:
            raise char_error(self._code(c), repr(word), offset)
        self._wi += 1
        if self._wi == len(word):
            self._complete(LITERALS[word])
