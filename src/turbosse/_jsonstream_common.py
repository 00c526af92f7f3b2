"""What both JSONStream twins share: the event type, the limits' defaults, the
parser's state numbers and the wording of every error, so the twins cannot
differ on them."""

from __future__ import annotations

import sys
from operator import itemgetter
from typing import Any

from ._errors import JSONStreamError

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_SIZE",
    "EXPECTED",
    "MAX_NUMBER_LENGTH",
    "JSONEvent",
    "char_error",
    "depth_error",
    "eof_error",
    "number_length_error",
    "number_length_limit",
    "size_error",
]

#: deepest nesting of arrays and objects accepted by default
DEFAULT_MAX_DEPTH = 512
#: most input accepted by default: characters of str fragments plus bytes of
#: bytes fragments (64 MiB)
DEFAULT_MAX_SIZE = 64 * 1024 * 1024
#: longest number literal, in characters (CPython's default limit on the
#: digits of an int converted from text, sys.get_int_max_str_digits())
MAX_NUMBER_LENGTH = 4300


# Parser states; the compiled twin's C enum has the same numbers.
VALUE, FIRST_ITEM, ARR_NEXT, FIRST_KEY, KEY, COLON, OBJ_NEXT, STRING, NUMBER, LITERAL, DONE = range(11)
# Number states; ZERO, INT, FRAC and EXP end a valid number.
N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP = range(8)

#: what may come next, by parser state and by number state (or situation)
EXPECTED: dict[Any, str] = {
    VALUE: "a value",
    FIRST_ITEM: "a value or ']'",
    ARR_NEXT: "',' or ']'",
    FIRST_KEY: "a string key or '}'",
    KEY: "a string key",
    COLON: "':'",
    OBJ_NEXT: "',' or '}'",
    DONE: "only whitespace after the document",
    ("number", N_MINUS): "a digit",
    ("number", N_ZERO): "'.', 'e' or the end of the number (no leading zeros)",
    ("number", N_DOT): "a digit after '.'",
    ("number", N_E): "a sign or a digit in the exponent",
    ("number", N_ESIGN): "a digit in the exponent",
    "control": "an escape sequence for a control character",
    "escape": 'an escape character (one of " \\ / b f n r t u)',
    "hex": "a hex digit",
    "low": "a \\uDC00-\\uDFFF escape after a high surrogate escape",
    "high": "a high surrogate escape before a \\uDC00-\\uDFFF one",
}


class JSONEvent(tuple):  # type: ignore[type-arg]
    """What one ``feed()`` changed: ``(kind, path, value)``.

    ``path`` is a tuple of object keys (str) and array indexes (int) from the
    document's root, ``()`` for the root itself. ``kind`` is one of

    - ``"object"`` / ``"array"``: a container opened at ``path`` (``value``
      is None);
    - ``"string"``: ``value`` is text appended to the string at ``path``
      (non-empty; one event per string per ``feed()``; the string's pieces
      concatenated give the whole string);
    - ``"value"``: the value at ``path`` is complete; ``value`` is it (a
      number, True/False/None, the whole string, or the finished container).

    Object keys are not events of their own: they are in the members' paths.
    A document that is a bare number ends only at ``close()``, which returns
    it (no event).
    """

    __slots__ = ()
    _fields = ("kind", "path", "value")

    def __new__(cls, kind: str, path: tuple[str | int, ...], value: Any = None) -> JSONEvent:
        return tuple.__new__(cls, (kind, path, value))

    kind: str = property(itemgetter(0), doc="'object', 'array', 'string' or 'value'.")  # type: ignore[assignment]
    path: tuple[str | int, ...] = property(itemgetter(1), doc="Keys and indexes from the root.")  # type: ignore[assignment]
    value: Any = property(itemgetter(2), doc="New text, the completed value, or None.")

    def __repr__(self) -> str:
        return f"JSONEvent({self[0]!r}, {self[1]!r}, {self[2]!r})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)


def _describe(code: int) -> str:
    # printable ASCII as itself, anything else by its code point
    return repr(chr(code)) if 0x20 <= code < 0x7F else f"U+{code:04X}"


def char_error(code: int, expected: str, offset: int) -> JSONStreamError:
    """The character ``code`` at ``offset`` cannot continue the document.

    ``expected`` says what could have come instead. Negative codes are the
    two encoding errors: ``-1 - byte`` an invalid UTF-8 byte of a bytes
    fragment, and ``-0x10000 - cp`` a lone surrogate code point in a str
    fragment (it has no UTF-8 form)."""
    if code <= -0x10000:
        reason = f"lone surrogate U+{-0x10000 - code:04X} (not encodable as UTF-8)"
    elif code < 0:
        reason = f"invalid UTF-8 byte 0x{-1 - code:02x}"
    else:
        reason = f"unexpected {_describe(code)}, expected {expected}"
    return JSONStreamError(reason, offset)


def depth_error(limit: int, offset: int) -> JSONStreamError:
    return JSONStreamError(f"nesting deeper than max_depth={limit}", offset, limit=limit)


def size_error(limit: int, offset: int) -> JSONStreamError:
    return JSONStreamError(f"input longer than max_size={limit}", offset, limit=limit)


def number_length_limit() -> int:
    """MAX_NUMBER_LENGTH, or the interpreter's limit on the digits of an int
    made from text where it is set lower (``PYTHONINTMAXSTRDIGITS``,
    ``sys.set_int_max_str_digits``): a number it could not make an int of is
    then this limit's typed error, not ``int()``'s ValueError."""
    get = getattr(sys, "get_int_max_str_digits", None)
    digits = get() if get is not None else 0
    return min(MAX_NUMBER_LENGTH, digits) if digits > 0 else MAX_NUMBER_LENGTH


def number_length_error(offset: int, limit: int) -> JSONStreamError:
    return JSONStreamError(f"number longer than {limit} characters", offset, limit=limit)


def eof_error(
    state: int, is_key: bool, word: str, nstate: int, depth: int, offset: int
) -> JSONStreamError:
    """close() in ``state`` (``word``: the literal begun, ``nstate``: the
    number state) before the document was complete."""
    inside = None
    if state == STRING:
        inside = "an object key" if is_key else "a string"
    elif state == LITERAL:
        inside = f"the literal {word!r}"
    elif state == NUMBER and nstate not in (N_ZERO, N_INT, N_FRAC, N_EXP):
        inside = "a number"
    if inside is not None:
        reason = f"unexpected end of input inside {inside}"
    elif depth:
        reason = f"unexpected end of input with {depth} unclosed array(s)/object(s)"
    else:
        reason = "unexpected end of input: no JSON value"
    return JSONStreamError(reason, offset)
