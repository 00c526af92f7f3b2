"""JSON in and out with orjson's speed, without its silent changes.

orjson writes a NaN or an infinity as ``null``, so a request built with
``temperature=float("nan")`` would go out silently changed (the server
applies its default); what it cannot encode (an integer beyond 64 bits, an
object of another type, a non-string key) is a bare ``TypeError`` that says
neither which value nor where; and it reads an integer beyond 64 bits as a
float, losing digits. :func:`dumps` raises an error naming the place of the
value in the body (``messages[0].content``): ``ValueError`` for a number JSON
cannot carry (NaN, an infinity, an integer beyond 64 bits), ``TypeError`` for
a value of a type it cannot encode, as ``json.dumps`` raises. The search for
the place runs only when something is wrong, or when the encoded body holds a
``null`` (what a NaN would have become), so a well-formed body costs one
orjson call and one byte search. :func:`loads` reads such an integer exactly.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

__all__ = ["dumps", "has_long_digits", "loads"]

#: 19 digits in a row: where an integer beyond 64 bits may be
_LONG_DIGITS = re.compile(rb"[0-9]{19}")
_LONG_DIGITS_TEXT = re.compile(r"[0-9]{19}")
_CYCLE = object()  # what _unencodable finds for a container holding itself


def dumps(body: Any, what: str = "the request body") -> bytes:
    """``body`` as JSON bytes; ValueError or TypeError naming the first value
    JSON cannot carry and its place (after ``what``, when given)."""
    try:
        data = orjson.dumps(body)
    except orjson.JSONEncodeError as exc:
        place, value, is_key = _unencodable(body, [], set())
        where = _where(what, place)
        if is_key:
            key = f"the key {value!r} ({type(value).__name__}) is not a string"
            raise TypeError(f"{where}: {key}" if where else key) from None
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"{where} holds the integer {value}, beyond the 64-bit range a JSON number is sent in") from None
        if value is _CYCLE:
            raise ValueError(f"{where} refers back to a container it is in (a circular reference)") from None
        if place is None:  # not found below the top: orjson's own word
            raise TypeError(f"{what} cannot be encoded as JSON: {exc}") from None
        raise TypeError(f"{where} cannot be encoded as JSON: {exc}") from None
    if b"null" in data:  # a NaN or an infinity was written as null
        found = _non_finite(body, [])
        if found is not None:
            place, value = found
            where = _where(what, place)
            raise ValueError(f"{where} is {value!r}, which JSON cannot carry (it has no NaN or infinity)")
    return data


def loads(data: bytes | str) -> Any:
    """``orjson.loads(data)``, except that an integer beyond 64 bits stays an
    exact int, as ``json.loads`` reads it (orjson makes it a float): a text
    with 19 digits in a row is read again with ``json`` once orjson has
    accepted it, so what is valid and what raises stays orjson's."""
    value = orjson.loads(data)
    return json.loads(data) if has_long_digits(data) else value


def has_long_digits(data: bytes | str) -> bool:
    """Whether ``data`` has 19 digits in a row: where orjson may have read
    an integer beyond 64 bits as a float (see :func:`loads`)."""
    if isinstance(data, str):
        return _LONG_DIGITS_TEXT.search(data) is not None
    return _LONG_DIGITS.search(data) is not None


def _where(what: str, place: str | None) -> str:
    return f"{what} at {place}" if what and place else (place or what)


def _place(path: list[Any]) -> str:
    out = []
    for key in path:
        if isinstance(key, int):
            out.append(f"[{key}]")
        elif isinstance(key, str) and key.isidentifier():
            out.append(f".{key}" if out else key)
        else:
            out.append(f"[{key!r}]")
    return "".join(out)


def _children(value: Any) -> list[tuple[Any, Any]]:
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, (list, tuple)):
        return list(enumerate(value))
    return []


def _unencodable(value: Any, path: list[Any], open_: set[int]) -> tuple[str | None, Any, bool]:
    """The place and value of what orjson refuses in ``value`` (which it
    refused as a whole), and whether it is a key: the child it refuses,
    searched on; a container all of whose children encode is refused itself."""
    if id(value) in open_:
        return _place(path), _CYCLE, False  # orjson refuses it by depth
    open_.add(id(value))
    for key, child in _children(value):
        if isinstance(value, dict) and not isinstance(key, str):
            return _place(path), key, True
        try:
            orjson.dumps(child)
        except orjson.JSONEncodeError:
            return _unencodable(child, path + [key], open_)
    open_.discard(id(value))
    return (_place(path) if path else None), value, False


def _non_finite(value: Any, path: list[Any]) -> tuple[str, float] | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else (_place(path), value)
    for key, child in _children(value):
        found = _non_finite(child, path + [key])
        if found is not None:
            return found
    return None
