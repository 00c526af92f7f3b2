"""Signatures and docs of the compiled Shapes (_shape_c.pyx).

It has the same public names, signatures and docstrings as the Python twin,
_shape_py.py, whose docstrings are the source; tests/test_stubs.py checks
that this stub and the compiled module's help() stay in step with it.
"""

from collections.abc import Callable
from typing import Any

class Shapes:
    """The chunk shape one decoder learned (see _shape_common.learn):
    ``head`` + a JSON string + ``mid`` (+ an ignored string + ``tail``).
    ``base`` is the learned delta and ``field`` the one of its fields the
    string fills; ``hits`` counts the payloads matched."""

    event_type: str | None
    base: Any
    field: int
    hits: int

    def __init__(self) -> None: ...
    def match(self, event_type: str, payload: bytes) -> str | None:
        """The text in the shape's slot of ``payload``, or None when the
        payload is not of this shape (or the match is unsure: the full path
        decides then)."""
    def observe(self, event_type: str, payload: bytes, delta: Any, probe: Callable[[str, bytes], Any]) -> None:
        """The full path decoded ``payload`` to exactly ``delta``: learn its
        shape, unless attempts keep failing (then the wait between attempts
        doubles, up to LEARN_BACKOFF_MAX events)."""
