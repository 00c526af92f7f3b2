"""tests/corpus is a byte-identical copy of the team's recorded corpus.

The recordings live in shared/corpus beside the repository and must never be
edited; the copy makes the suite self-contained (GitHub runners, sdist,
cibuildwheel). Where shared/corpus is present, this proves the copy matches it
file for file; elsewhere the copy is checked against the verification counts
recorded in its own SOURCES.md.
"""

from __future__ import annotations

import re

import pytest
from conftest import CORPUS_DIR

SHARED = CORPUS_DIR.parent.parent.parent / "shared" / "corpus"


def test_copy_has_every_recording() -> None:
    names = {p.name for p in CORPUS_DIR.glob("*.sse")}
    listed = set(re.findall(r"^\| `([^`]+\.sse)`", (CORPUS_DIR / "SOURCES.md").read_text(), re.M))
    assert len(names) == 79
    assert names == listed


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/corpus is not beside this checkout")
def test_copy_is_byte_identical_to_shared_corpus() -> None:
    shared = {p.name: p.read_bytes() for p in SHARED.iterdir() if p.is_file()}
    ours = {p.name: p.read_bytes() for p in CORPUS_DIR.iterdir() if p.is_file()}
    assert ours == shared
