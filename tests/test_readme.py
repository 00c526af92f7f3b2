"""Every ``>>>`` example in README.md runs, so the front door cannot drift.

The suite runs twice in CI (compiled twin, then TURBOSSE_NO_EXTENSIONS=1), so
the examples run against both twins.
"""

import doctest
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_examples_run() -> None:
    result = doctest.testfile(
        str(README), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert result.attempted > 0, "README.md has no examples"
    assert result.failed == 0, f"{result.failed} README example(s) failed"
