"""Pure-Python twin of _fold_c.pyx: folds a list of deltas into an
accumulator's choices, one ``add`` call per delta (the compiled twin appends
the text of a content-only delta itself and calls ``add`` for the others)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["fold_deltas"]


def fold_deltas(choices: dict[Any, Any], deltas: list[Any], add: Callable[[Any], None]) -> None:
    """Fold ``deltas``, in order, into a ChatAccumulator whose choices by
    index are ``choices`` and whose ``add`` is ``add``: the result is what
    ``add`` called on each delta gives."""
    for d in deltas:
        add(d)
