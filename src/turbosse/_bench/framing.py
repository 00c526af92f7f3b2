"""The SSE framing contenders (bytes to events), each run through its real fast path.

Every competitor consumes the same list of network reads in one of two ways
(``CONSUME_MODES``; ``benchmarks/compare.py --consume``):

- ``stream`` (``Competitor.stream``): a streaming consumer. Each event is
  handled as it is produced and dropped: the same sink for every competitor,
  ``n += 1; size += len(event.data)`` (``len(data)`` for the naive loop, whose
  events are the data strings), over the events of each ``feed()`` for
  turbosse and over the generator for httpx-sse and openai. Nothing is kept;
  the run returns ``(n, size)``.
- ``collect`` (``Competitor.run``): every event is kept in one list, which is
  returned (and freed by the caller, inside compare.py's timed region);
  ``summarize`` turns it into the same ``(event_count, sum_of_data_lengths)``
  outside the timed region.

Both modes give the same summary, compared against turbosse for correctness.

- ``turbosse-cython`` / ``turbosse-python``: ``SSEParser.feed`` per read, then
  ``close()``. No sentinel, so ``[DONE]`` is an ordinary event as it is for
  the other competitors.
- ``httpx-sse``: the pipeline ``httpx_sse.EventSource.iter_sse`` runs, minus
  the socket: httpx's ``TextDecoder`` (incremental UTF-8, errors="replace") and
  ``TextChunker`` exactly as ``httpx.Response.iter_text`` drives them, then
  ``httpx_sse._decoders.SSELineDecoder`` as in ``_iter_sse_lines``, then
  ``line.rstrip("\\n")`` and ``SSEDecoder.decode`` as in ``iter_sse``.
- ``httpx-sse+Response``: the real ``EventSource(httpx.Response(...)).iter_sse()``
  over an in-memory byte iterator; a check that the replica above is faithful
  (it adds only httpx's per-read generator overhead).
- ``openai``: ``openai._streaming.SSEDecoder().iter_bytes(iter(chunks))``, the
  path ``openai.Stream`` uses.
- ``naive``: what people write by hand: append each read to a bytearray, split
  on ``b"\\n\\n"`` when a blank line may have arrived, strip ``b"data: "`` and
  decode. Linear (it only rescans the bytes around the new read). The split
  is :func:`split_blocks`, shared by every naive row of every section.

A contender is a :class:`Competitor` built by a factory registered in
``PARSER_FACTORIES``; the tables list them in that order.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .env import version

__all__ = [
    "CONSUME_HELP",
    "CONSUME_MODES",
    "PARSER_FACTORIES",
    "Competitor",
    "as_summary",
    "httpx_sse_iter_sse",
    "naive_run",
    "naive_stream",
    "other_mode_note",
    "split_blocks",
    "parser_names",
    "parser_competitors",
    "summarize_events",
    "summarize_strings",
]

Run = Callable[[list[bytes]], list[Any]]
Summary = tuple[int, int]
StreamRun = Callable[[list[bytes]], Summary]

#: "stream" (the default): each event consumed as produced and dropped;
#: "collect": all events kept in a list that the caller frees.
CONSUME_MODES = ("stream", "collect")


def as_summary(summary: Summary) -> Summary:
    """``summarize`` of a stream-mode run, which returns its summary itself."""
    return summary


#: one sentence per mode, for reports
CONSUME_HELP = {
    "stream": "each event (or delta) is consumed as it is produced (count it, add the length of its "
              "data or content) and dropped, as a streaming consumer does; nothing is kept",
    "collect": "every event (or delta) is kept in a list until the run ends, and the list is freed "
               "inside the timed region",
}


def other_mode_note(consume: str) -> str:
    """A report line pointing at the mode this run did not measure."""
    other = "collect" if consume == "stream" else "stream"
    return (f"- These ratios are for `--consume {consume}`; `--consume {other}` "
            f"({CONSUME_HELP[other]}) gives the other set.")


@dataclass(frozen=True)
class Competitor:
    name: str
    #: collect mode: the list of all events
    run: Run
    #: collect mode: that list -> (event count, sum of data lengths)
    summarize: Callable[[list[Any]], Summary]
    #: stream mode: each event consumed as produced; returns the summary
    stream: StreamRun
    #: library version or other note shown in the machine info
    version: str = ""

    def mode(self, consume: str) -> tuple[Callable[[list[bytes]], Any], Callable[[Any], Summary]]:
        """``(run, summarize)`` for a consumption mode (see ``CONSUME_MODES``)."""
        if consume == "stream":
            return self.stream, as_summary
        if consume == "collect":
            return self.run, self.summarize
        raise ValueError(f"consume must be one of {CONSUME_MODES}, not {consume!r}")


def summarize_events(events: list[Any]) -> Summary:
    return len(events), sum(len(e.data) for e in events)


def summarize_strings(datas: list[str]) -> Summary:
    return len(datas), sum(map(len, datas))


# -- turbosse -------------------------------------------------------------------

def _turbosse_runners(module_name: str) -> tuple[Run, StreamRun]:
    mod = importlib.import_module(module_name)
    SSEParser = mod.SSEParser

    def run(chunks: list[bytes]) -> list[Any]:
        parser = SSEParser()
        feed = parser.feed
        out: list[Any] = []
        for chunk in chunks:
            out += feed(chunk)
        out += parser.close()
        return out

    def stream(chunks: list[bytes]) -> Summary:
        parser = SSEParser()
        feed = parser.feed
        n = size = 0
        for chunk in chunks:
            for event in feed(chunk):
                n += 1
                size += len(event.data)
        for event in parser.close():
            n += 1
            size += len(event.data)
        return n, size

    return run, stream


# -- httpx-sse ------------------------------------------------------------------

def httpx_sse_iter_sse() -> Callable[[Iterable[bytes]], Iterator[Any]]:
    """A generator function: reads -> httpx-sse events, as
    ``EventSource.iter_sse`` produces them (see the module docstring)."""
    from httpx._decoders import TextChunker, TextDecoder
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    def iter_text(chunks: Iterable[bytes]) -> Iterator[str]:
        # httpx.Response.iter_text(), with the response's encoding "utf-8"
        # (httpx's default for text/event-stream without a charset).
        decoder = TextDecoder(encoding="utf-8")
        chunker = TextChunker(chunk_size=None)
        for byte_content in chunks:
            text_content = decoder.decode(byte_content)
            for chunk in chunker.decode(text_content):
                yield chunk
        text_content = decoder.flush()
        for chunk in chunker.decode(text_content):
            yield chunk
        for chunk in chunker.flush():
            yield chunk

    def iter_sse_lines(chunks: Iterable[bytes]) -> Iterator[str]:
        # httpx_sse._api._iter_sse_lines
        decoder = SSELineDecoder()
        for text in iter_text(chunks):
            for line in decoder.decode(text):
                yield line
        for line in decoder.flush():
            yield line

    def iter_sse(chunks: Iterable[bytes]) -> Iterator[Any]:
        # httpx_sse.EventSource.iter_sse (after the content-type check)
        decoder = SSEDecoder()
        for line in iter_sse_lines(chunks):
            line = line.rstrip("\n")
            sse = decoder.decode(line)
            if sse is not None:
                yield sse

    return iter_sse


def _httpx_sse_runners() -> tuple[Run, StreamRun]:
    iter_sse = httpx_sse_iter_sse()

    def run(chunks: list[bytes]) -> list[Any]:
        return list(iter_sse(chunks))

    def stream(chunks: list[bytes]) -> Summary:
        n = size = 0
        for event in iter_sse(chunks):
            n += 1
            size += len(event.data)
        return n, size

    return run, stream


def _httpx_sse_response_runners() -> tuple[Run, StreamRun]:
    import httpx
    from httpx_sse import EventSource

    headers = {"content-type": "text/event-stream"}
    request = httpx.Request("GET", "http://bench.invalid/v1/chat/completions")

    def run(chunks: list[bytes]) -> list[Any]:
        response = httpx.Response(200, headers=headers, content=iter(chunks), request=request)
        return list(EventSource(response).iter_sse())

    def stream(chunks: list[bytes]) -> Summary:
        response = httpx.Response(200, headers=headers, content=iter(chunks), request=request)
        n = size = 0
        for event in EventSource(response).iter_sse():
            n += 1
            size += len(event.data)
        return n, size

    return run, stream


# -- openai ------------------------------------------------------------------------

def _openai_runners() -> tuple[Run, StreamRun]:
    from openai._streaming import SSEDecoder

    def run(chunks: list[bytes]) -> list[Any]:
        return list(SSEDecoder().iter_bytes(iter(chunks)))

    def stream(chunks: list[bytes]) -> Summary:
        n = size = 0
        for event in SSEDecoder().iter_bytes(iter(chunks)):
            n += 1
            size += len(event.data)
        return n, size

    return run, stream


# -- naive ---------------------------------------------------------------------------

def split_blocks(chunks: Iterable[bytes]) -> Iterator[list[bytearray]]:
    """What people write by hand to frame SSE: append each read to a
    bytearray and, when a blank line may have arrived, split on ``b"\\n\\n"``;
    yields the complete blocks of each read that completed any. Linear: it
    only rescans the bytes around the new read."""
    buf = bytearray()
    for chunk in chunks:
        start = len(buf) - 1 if buf else 0
        buf += chunk
        if buf.find(b"\n\n", start) < 0:
            continue
        *blocks, rest = buf.split(b"\n\n")
        buf = bytearray(rest)
        yield blocks


def naive_run(chunks: list[bytes]) -> list[str]:
    """Split on blank lines, keep ``data: `` payloads. Not spec-compliant:
    ignores CR line ends, ``event:``/``id:`` lines, multi-line data and
    ``data:`` without a space; that is the point of the comparison."""
    out: list[str] = []
    for blocks in split_blocks(chunks):
        for block in blocks:
            if block.startswith(b"data: "):
                out.append(block[6:].decode("utf-8", "replace"))
    return out


def naive_stream(chunks: list[bytes]) -> Summary:
    """``naive_run`` in stream mode: each data string is consumed as it is
    decoded (the same sink as every other competitor) and dropped."""
    n = size = 0
    for blocks in split_blocks(chunks):
        for block in blocks:
            if block.startswith(b"data: "):
                data = block[6:].decode("utf-8", "replace")
                n += 1
                size += len(data)
    return n, size


# -- registry --------------------------------------------------------------------------

def cython_wanted() -> bool:
    """False when TURBOSSE_NO_EXTENSIONS is set: the pure-Python leg skips the
    compiled twin (elsewhere it is required)."""
    return not os.environ.get("TURBOSSE_NO_EXTENSIONS")


def _make_turbosse(twin: str) -> Callable[[], Competitor]:
    def make() -> Competitor:
        import turbosse

        module = {"cython": "turbosse._parser_c", "python": "turbosse._parser_py"}[twin]
        run, stream = _turbosse_runners(module)
        return Competitor(f"turbosse-{twin}", run, summarize_events, stream,
                          f"turbosse {turbosse.__version__}")

    return make


def _split(runners: tuple[Run, StreamRun], summarize: Callable[[list[Any]], Summary]
           ) -> tuple[Run, Callable[[list[Any]], Summary], StreamRun]:
    """``(run, stream)`` -> Competitor's positional ``run, summarize, stream``."""
    run, stream = runners
    return run, summarize, stream


def _httpx_versions() -> str:
    return f"httpx-sse {version('httpx-sse')}, httpx {version('httpx')}"


#: name -> factory; the order is the row order of the tables. A factory may
#: raise ImportError (the compiled twin not built).
PARSER_FACTORIES: dict[str, Callable[[], Competitor]] = {
    "turbosse-cython": _make_turbosse("cython"),
    "turbosse-python": _make_turbosse("python"),
    "httpx-sse": lambda: Competitor("httpx-sse", *_split(_httpx_sse_runners(), summarize_events),
                                    _httpx_versions()),
    "httpx-sse+Response": lambda: Competitor("httpx-sse+Response",
                                             *_split(_httpx_sse_response_runners(), summarize_events),
                                             _httpx_versions()),
    "openai": lambda: Competitor("openai", *_split(_openai_runners(), summarize_events),
                                 f"openai {version('openai')}"),
    "naive": lambda: Competitor("naive", naive_run, summarize_strings, naive_stream,
                                "split on blank lines"),
}


def parser_names(*, include_cython: bool | None = None, include_response: bool = True) -> list[str]:
    """Names of the framing competitors to run, turbosse first.

    ``include_cython``: None means "unless TURBOSSE_NO_EXTENSIONS is set".
    """
    if include_cython is None:
        include_cython = cython_wanted()
    return [n for n in PARSER_FACTORIES
            if (include_cython or n != "turbosse-cython")
            and (include_response or n != "httpx-sse+Response")]


def parser_competitors(
    *, include_cython: bool | None = None, strict: bool = True, include_response: bool = True
) -> list[Competitor]:
    """All framing competitors, turbosse first.

    ``include_cython``: None means "unless TURBOSSE_NO_EXTENSIONS is set". When
    wanted but not built, ``strict`` raises ImportError; otherwise the row is
    left out with a warning on stderr.
    """
    comps: list[Competitor] = []
    for name in parser_names(include_cython=include_cython, include_response=include_response):
        try:
            comps.append(PARSER_FACTORIES[name]())
        except ImportError as exc:
            if strict or name != "turbosse-cython":
                raise
            print(f"WARNING: turbosse-cython left out, the compiled twin is not importable: {exc}",
                  file=sys.stderr)
    return comps
