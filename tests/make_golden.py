"""Write tests/golden/<corpus file stem>.json: the final ChatResult of every
corpus stream, as decoded by the pure-Python twin and ChatAccumulator.

Run it only after a deliberate change of behaviour, then read the diff:
``PYTHONPATH=src python tests/make_golden.py``. test_golden.py checks both
twins against these files, and test_golden_sdk.py checks the files against
the openai and anthropic SDKs' own accumulators.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOLDEN_DIR = HERE / "golden"
CORPUS_DIR = HERE / "corpus"


def golden_of(decoder: Any, chunks: Iterable[bytes]) -> dict[str, Any]:
    """Decode ``chunks`` with ``decoder`` and accumulate: the golden record.
    A StreamError/MalformedChunk is recorded, and the deltas it carries are
    accumulated too (the partial result must survive)."""
    from turbosse._accumulator import ChatAccumulator
    from turbosse._errors import SSEError

    acc = ChatAccumulator()
    n = 0
    error = None
    try:
        for chunk in chunks:
            out = decoder.feed(chunk)
            n += len(out)
            acc.extend(out)
        out = decoder.close()
        n += len(out)
        acc.extend(out)
    except SSEError as exc:
        partial = getattr(exc, "deltas", [])
        n += len(partial)
        acc.extend(partial)
        error = {
            "class": type(exc).__name__,
            "message": getattr(exc, "message", str(exc)),
            "type": getattr(exc, "type", None),
            "code": getattr(exc, "code", None),
        }
    acc.model, acc.id = decoder.model, decoder.id
    acc.stop_reasons = decoder.stop_reasons
    return {
        "format": decoder.format,
        "done": decoder.done,
        "events": decoder.events,
        "deltas": n,
        "error": error,
        "result": acc.result().to_dict(),
    }


def main() -> int:
    from turbosse._decoder_py import ChatDecoder

    GOLDEN_DIR.mkdir(exist_ok=True)
    files = sorted(CORPUS_DIR.glob("*.sse"))
    for path in files:
        record = golden_of(ChatDecoder(), [path.read_bytes()])
        text = json.dumps(record, indent=1, ensure_ascii=False, sort_keys=False) + "\n"
        (GOLDEN_DIR / f"{path.stem}.json").write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} golden files to {GOLDEN_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
