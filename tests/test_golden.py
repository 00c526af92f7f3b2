"""Every corpus stream decodes in both twins to the checked golden result.

tests/golden/<stream>.json is written by tests/make_golden.py and checked by
hand for a sample and against the SDKs' accumulators (test_golden_sdk.py).
Here both twins must reproduce it exactly, whole and in random chunks, and
produce delta lists identical to the pure-Python twin's.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import ModuleType

import pytest
from make_golden import CORPUS_DIR, GOLDEN_DIR, golden_of

from turbosse._decoder_py import ChatDecoder as ReferenceDecoder
from turbosse._errors import SSEError

FILES = sorted(CORPUS_DIR.glob("*.sse"))


def test_every_corpus_file_has_a_golden_file() -> None:
    assert len(FILES) >= 79
    assert sorted(p.stem for p in GOLDEN_DIR.glob("*.json")) == [p.stem for p in FILES]


def random_chunks(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(data):
        n = rng.choice((1, 2, 3, rng.randint(1, 64), rng.randint(1, 4096)))
        out.append(data[i : i + n])
        i += n
    return out


def all_deltas(decoder: object, chunks: list[bytes]) -> tuple[list[object], str | None]:
    out: list[object] = []
    try:
        for c in chunks:
            out += decoder.feed(c)  # type: ignore[attr-defined]
        out += decoder.close()  # type: ignore[attr-defined]
    except SSEError as exc:
        out += getattr(exc, "deltas", [])
        return out, type(exc).__name__
    return out, None


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_corpus_file_matches_golden(decoder_mod: ModuleType, path: Path) -> None:
    golden = json.loads((GOLDEN_DIR / f"{path.stem}.json").read_text(encoding="utf-8"))
    data = path.read_bytes()
    assert golden_of(decoder_mod.ChatDecoder(), [data]) == golden
    assert golden_of(decoder_mod.ChatDecoder(), random_chunks(data, len(data))) == golden
    # the twins agree delta by delta, not only on the accumulated result
    assert all_deltas(decoder_mod.ChatDecoder(), [data]) == all_deltas(ReferenceDecoder(), [data])


def test_error_streams_keep_their_partial_result(decoder_mod: ModuleType) -> None:
    golden = json.loads((GOLDEN_DIR / "openrouter__chat-processing-comments-error-chunk.json").read_text())
    assert golden["error"]["class"] == "StreamError" and golden["error"]["code"] == 400
    assert golden["result"]["choices"][0]["reasoning"] == "We need to respond to a greeting. The user"
    assert golden["result"]["usage"] == {"prompt_tokens": 43, "completion_tokens": 10, "total_tokens": 53}
    golden = json.loads((GOLDEN_DIR / "groq__chat-tool-use-failed-error-midstream.json").read_text())
    assert golden["error"]["code"] == "tool_use_failed" and golden["error"]["type"] == "invalid_request_error"
    assert len(golden["result"]["choices"][0]["reasoning"]) > 100


def test_byte_by_byte_on_a_sample(decoder_mod: ModuleType) -> None:
    for name in ("anthropic__messages-text-then-tool-use", "openai__chat-parallel-tool-calls",
                 "azure-openai__chat-async-content-filter-offsets", "replicate__predictions-stream-plaintext-multiline"):
        data = (CORPUS_DIR / f"{name}.sse").read_bytes()
        golden = json.loads((GOLDEN_DIR / f"{name}.json").read_text(encoding="utf-8"))
        assert golden_of(decoder_mod.ChatDecoder(), [data[i : i + 1] for i in range(len(data))]) == golden
