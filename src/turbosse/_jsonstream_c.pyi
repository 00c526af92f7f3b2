"""Signatures and docs of the compiled JSONStream (_jsonstream_c.pyx).

It has the same public names, signatures and docstrings as the Python twin,
_jsonstream_py.py, whose docstrings are the source; tests/test_stubs.py checks
that this stub and the compiled module's help() stay in step with it.
"""

from typing import Any

from ._jsonstream_common import JSONEvent as JSONEvent

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

    def __init__(self, *, max_depth: int = 512, max_size: int | None = 67108864) -> None: ...
    @property
    def done(self) -> bool:
        """True once the top-level value is complete (a bare number: at close())."""
    def feed(self, fragment: str | bytes | bytearray | memoryview) -> list[JSONEvent]:
        """Parse the next fragment; return the events it caused."""
    def value(self) -> Any:
        """The document so far (see the class docstring)."""
    def close(self) -> Any:
        """End of input: return the complete document, or raise
        JSONStreamError if it is incomplete."""
