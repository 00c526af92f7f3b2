"""Signatures and docs of the compiled fold_deltas (_fold_c.pyx).

It has the same public names, signatures and docstrings as the Python twin,
_fold_py.py, whose docstrings are the source; tests/test_stubs.py checks
that this stub and the compiled module's help() stay in step with it.
"""

from collections.abc import Callable
from typing import Any

def fold_deltas(choices: dict[Any, Any], deltas: list[Any], add: Callable[[Any], None]) -> None:
    """Fold ``deltas``, in order, into a ChatAccumulator whose choices by
    index are ``choices`` and whose ``add`` is ``add``: the result is what
    ``add`` called on each delta gives."""
