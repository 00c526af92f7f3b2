"""What both JSONStream twins share: the event type, the limits' defaults and
the wording of every error, so the twins cannot differ on them."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from ._errors import JSONStreamError

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_SIZE",
    "MAX_NUMBER_LENGTH",
    "JSONEvent",
    "char_error",
    "eof_error",
    "limit_error",
]

#: deepest nesting of arrays and objects accepted by default
DEFAULT_MAX_DEPTH = 512
#: most input accepted by default: characters of str fragments plus bytes of
#: bytes fragments (64 MiB)
DEFAULT_MAX_SIZE = 64 * 1024 * 1024
#: longest number literal, in characters (CPython's default limit on the
#: digits of an int converted from text, sys.get_int_max_str_digits())
MAX_NUMBER_LENGTH = 4300


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


def limit_error(what: str, limit: int, offset: int) -> JSONStreamError:
    """A limit was hit; ``what`` names it with its value."""
    return JSONStreamError(what, offset, limit=limit)


def eof_error(depth: int, inside: str | None, offset: int) -> JSONStreamError:
    """close() before the document was complete."""
    if inside is not None:
        reason = f"unexpected end of input inside {inside}"
    elif depth:
        reason = f"unexpected end of input with {depth} unclosed array(s)/object(s)"
    else:
        reason = "unexpected end of input: no JSON value"
    return JSONStreamError(reason, offset)
