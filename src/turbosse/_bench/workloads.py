"""Benchmark workloads: the byte streams every parser benchmark feeds.

A workload is the exact list of reads (``bytes`` chunks) a consumer receives
from the network, so every competitor parses the *same* chunks. Everything is
generated deterministically (seeded) so numbers are comparable between runs.

- (a) ``synthetic-16k``: an OpenAI-style ``chat.completion.chunk`` stream
  (about 220-byte events: role chunk, content chunks with varying token text,
  finish chunk, usage chunk, ``data: [DONE]``), delivered in 16 KiB reads.
- (b) ``synthetic-per-event``: the same stream, one event per read.
- (c) ``corpus-16k``: every ``tests/corpus/*.sse`` file (the repo's copy of shared/corpus) concatenated (a
  blank line is ensured between files so events never merge), 16 KiB reads.
- (d) ``big-event-<N>MiB``: one ``data:`` event of N MiB (1, 2 and 4) in
  256-byte reads, to show that cost grows linearly with event size.

The corpus is read from a source checkout (``tests/corpus``); an install
without it builds the other workloads.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CORPUS_DIR",
    "READ_SIZE",
    "BIG_READ_SIZE",
    "Workload",
    "big_event_stream",
    "build_workloads",
    "chunked",
    "corpus_stream",
    "synthetic_events",
    "synthetic_stream",
]

READ_SIZE = 16 * 1024  # a typical socket/HTTP read
BIG_READ_SIZE = 256  # small reads for the big-event (linearity) workload
SEED = 20240601
SYNTHETIC_EVENTS = 20_000
BIG_EVENT_MIB = (1, 2, 4)

_REPO = Path(__file__).resolve().parents[3]  # src/turbosse/_bench/ -> the checkout
CORPUS_DIR = _REPO / "tests" / "corpus"  # the repo's copy of shared/corpus


@dataclass(frozen=True)
class Workload:
    """One benchmark input: a name, the reads, and what it is."""

    name: str
    chunks: list[bytes] = field(repr=False)
    description: str = ""
    #: family of workloads this belongs to ("a".."d"); size series share one
    family: str = ""

    @property
    def nbytes(self) -> int:
        return sum(map(len, self.chunks))

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


def chunked(data: bytes, size: int) -> list[bytes]:
    """Split ``data`` into reads of ``size`` bytes (the last may be shorter)."""
    return [data[i : i + size] for i in range(0, len(data), size)]


# -- (a)/(b) synthetic OpenAI chat.completion.chunk stream --------------------

# Token texts as a tokenizer emits them: leading spaces, punctuation, newlines,
# quotes/backslashes (JSON escapes) and some multi-byte UTF-8 (sent raw, as
# OpenAI does), so decoders see realistic payloads rather than pure ASCII.
_WORDS = (
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "was", "on", "be",
    "by", "this", "are", "from", "at", "or", "an", "stream", "token", "model", "parser",
    "event", "server", "client", "response", "request", "latency", "throughput", "buffer",
    "chunk", "decode", "encode", "function", "argument", "value", "result", "python", "cython",
    "performance", "benchmark", "memory", "string", "bytes", "network", "socket", "reading",
)
_SPECIAL = [
    ".", ",", ":", ";", "!", "?", "\n", "\n\n", " -", " (", ")", '"', ' "', "\\",
    " café", " naïve", " über", "—", " €", " 東京", "日本語", " 🙂", " →", " ü",
    "```", "python", "\n    ", " `", "`", " 42", " 3.14", " 100%",
]
_CHUNK_ID = "chatcmpl-" + "".join(random.Random(SEED).choices(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=29))
_HEAD = {
    "id": _CHUNK_ID,
    "object": "chat.completion.chunk",
    "created": 1718000000,
    "model": "gpt-4o-mini",
}


def _dump(obj: object) -> bytes:
    # compact separators and raw UTF-8, like the OpenAI API
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _chunk(delta: dict[str, object], finish_reason: str | None = None, **extra: object) -> bytes:
    body = dict(_HEAD)
    body["choices"] = [
        {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
    ]
    body.update(extra)
    return b"data: " + _dump(body) + b"\n\n"


def synthetic_events(n_events: int = SYNTHETIC_EVENTS, seed: int = SEED) -> list[bytes]:
    """The synthetic stream as a list of complete events (each ``data: ...\\n\\n``).

    ``n_events`` counts every event including the role, finish, usage and
    ``[DONE]`` events (minimum 4).
    """
    if n_events < 4:
        raise ValueError("n_events must be >= 4 (role, finish, usage, [DONE])")
    rng = random.Random(seed)
    events = [_chunk({"role": "assistant", "content": "", "refusal": None})]
    for _ in range(n_events - 4):
        if rng.random() < 0.2:
            text = rng.choice(_SPECIAL)
        else:
            # 1-3 words per chunk varies event size around ~220 bytes
            text = "".join(" " + rng.choice(_WORDS) for _ in range(rng.choice((1, 1, 1, 2, 3))))
        events.append(_chunk({"content": text}))
    completion_tokens = n_events - 3
    events.append(_chunk({}, "stop"))
    usage_body = dict(_HEAD)
    usage_body["choices"] = []
    usage_body["usage"] = {
        "prompt_tokens": 57,
        "completion_tokens": completion_tokens,
        "total_tokens": 57 + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    }
    events.append(b"data: " + _dump(usage_body) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def synthetic_stream(n_events: int = SYNTHETIC_EVENTS, seed: int = SEED) -> bytes:
    return b"".join(synthetic_events(n_events, seed))


# -- (c) the recorded corpus ----------------------------------------------------

def corpus_stream(corpus_dir: Path = CORPUS_DIR, limit: int | None = None) -> bytes:
    """All ``*.sse`` files of the corpus (sorted by name) concatenated.

    Each file's bytes are kept as recorded; after a file that does not already
    end in a blank line, just enough line ends are added to terminate its last
    event, so the last event of one file never merges with the first of the
    next. (A strict parser dispatches those final events here, though it would
    not for the file alone.) No extra blank lines are added otherwise.
    """
    files = sorted(Path(corpus_dir).glob("*.sse"))[:limit]
    if not files:
        raise FileNotFoundError(f"no corpus files found in {corpus_dir}")
    parts = []
    for path in files:
        data = path.read_bytes()
        parts.append(data)
        if data.endswith((b"\n\n", b"\r\n\r\n", b"\r\r", b"\n\r\n")):
            continue
        parts.append(b"\n" if data.endswith((b"\n", b"\r\n")) else b"\n\n")
    return b"".join(parts)


# -- (d) one big event ------------------------------------------------------------

def big_event_stream(size: int, seed: int = SEED) -> bytes:
    """One ``data:`` event whose value is ``size`` bytes of base64 text (like an
    inline image), terminated by a blank line."""
    raw = random.Random(seed).randbytes(size * 3 // 4 + 3)
    payload = base64.b64encode(raw)[:size]
    return b"data: " + payload + b"\n\n"


# -- the standard set ---------------------------------------------------------------

def build_workloads(
    quick: bool = False,
    *,
    synthetic_events_n: int | None = None,
    big_sizes: tuple[int, ...] | None = None,
    corpus_limit: int | None = None,
) -> dict[str, Workload]:
    """The standard parser workloads, by name, in presentation order.

    ``quick`` shrinks the synthetic stream and the big events for a fast run;
    the keyword arguments override sizes (the smoke test uses tiny ones).
    ``big_sizes`` are in bytes.
    """
    n = synthetic_events_n or (4_000 if quick else SYNTHETIC_EVENTS)
    if big_sizes is None:
        mib = (256 * 1024,) if quick else (1024 * 1024,)
        big_sizes = tuple(m * k for m in mib for k in (1, 2, 4))
    events = synthetic_events(n)
    stream = b"".join(events)
    corpus = corpus_stream(limit=corpus_limit)
    out: dict[str, Workload] = {}

    def add(w: Workload) -> None:
        out[w.name] = w

    add(Workload("synthetic-16k", chunked(stream, READ_SIZE),
                 f"(a) OpenAI-style stream, {n} events of ~{len(stream) // n} B, 16 KiB reads", "a"))
    add(Workload("synthetic-per-event", list(events),
                 f"(b) same stream, one event per read ({n} reads)", "b"))
    add(Workload("corpus-16k", chunked(corpus, READ_SIZE),
                 f"(c) {len(sorted(CORPUS_DIR.glob('*.sse'))[:corpus_limit])} recorded corpus "
                 f"files concatenated, 16 KiB reads", "c"))
    for size in big_sizes:
        add(Workload(f"big-event-{_size_name(size)}", chunked(big_event_stream(size), BIG_READ_SIZE),
                     f"(d) one {_size_name(size)} data event, {BIG_READ_SIZE}-byte reads", "d"))
    return out


def _size_name(size: int) -> str:
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)}MiB"
    if size % 1024 == 0:
        return f"{size // 1024}KiB"
    return f"{size}B"
