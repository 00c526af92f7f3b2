"""Hypothesis properties of SSEParser.

- The twins agree: for arbitrary bytes, chunkings and options, the compiled
  and pure twins return the same events from the same feed() calls, the same
  last_event_id/retry/done, and the same errors (type, message, ``.events``).
  These need both twins: in the pure-Python leg (--no-c-extensions or
  TURBOSSE_NO_EXTENSIONS) they are skipped with that reason; anywhere else a
  missing compiled twin fails them.
- Within each twin, chunking never changes the result, and the result equals
  the independent reference parser of _helpers.

Example counts are modest so that the whole suite stays fast; the ``slow``
tests run many more examples of the cross-twin property.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from _helpers import BOM, bytewise, reference_parse, run, split_at, strict
from conftest import c_extensions_required, twin_module
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import turbosse

# -- strategies --------------------------------------------------------------------

FIELD_NAMES = [b"data", b"event", b"id", b"retry", b"Data", b"dat", b"datas", b"foo", b"", BOM + b"data"]
TOKENS = [
    *FIELD_NAMES,
    b":", b": ", b":  ", b" ", b"\r", b"\n", b"\r\n", b"\n\n", b"\r\r",
    b"0", b"1", b"7", b"9", b"42", b"+", b"-", b".",
    BOM, b"\xef", b"\xef\xbb", b"\xbb\xbf",
    b"\xff", b"\x80", b"\xc3", b"\xc3\xa9", b"\xe2\x82", b"\xe2\x82\xac", b"\xed\xa0\x80",
    b"\xf0\x9f\x98\x80", b"\xf0\x9f", b"\xe2\x80\xa8", b"\xc2\x85", b"\x0b", b"\x0c", b"\x00",
    "١".encode(), b"[DONE]", b"[DONE] ", b"x", b"{}",
]  # fmt: skip
EOLS = [b"\n", b"\r", b"\r\n"]

tokens = st.sampled_from(TOKENS)
eol = st.sampled_from(EOLS)
value = st.lists(st.one_of(tokens, st.binary(max_size=4)), max_size=6).map(b"".join).map(
    lambda v: v.replace(b"\r", b"").replace(b"\n", b"")
)
field_line = st.builds(
    lambda name, sep, val, end: name + sep + val + end,
    st.sampled_from(FIELD_NAMES + [b"data", b"data", b"event", b"id", b"retry"]),
    st.sampled_from([b":", b": ", b": ", b":  ", b""]),
    value,
    eol,
)
line = st.one_of(
    field_line,
    field_line,
    field_line,
    field_line,
    eol,  # a blank line
    st.builds(lambda v, e: b":" + v + e, value, eol),  # a comment
    st.builds(lambda d, e: b"retry: " + str(d).encode() + e, st.integers(0, 2**70), eol),
    st.builds(lambda e: b"data: [DONE]" + e + e, eol),
)
# SSE-like: blocks of a few lines, each closed by a blank line
block = st.builds(lambda lines, end: b"".join(lines) + end, st.lists(line, max_size=4), eol)
structured = st.builds(
    lambda bom, blocks, tail: bom + b"".join(blocks) + tail,
    st.sampled_from([b"", b"", b"", BOM, BOM + BOM, b"\xef\xbb"]),
    st.lists(block, max_size=10),
    st.one_of(st.just(b""), line, value),
)
token_soup = st.lists(st.one_of(tokens, st.binary(max_size=6)), max_size=60).map(b"".join)
streams = st.one_of(structured, structured, structured, token_soup, st.binary(max_size=200))

options = st.fixed_dictionaries(
    {
        "max_event_bytes": st.sampled_from(
            [None] * 6 + [1, 2, 3, 5, 8, 13, 40, 100, turbosse.DEFAULT_MAX_EVENT_BYTES]
        ),
        "sentinel": st.sampled_from([None, None, b"[DONE]", "[DONE]", b"x", b"1", b"", "é"]),
        "default_event": st.sampled_from(["message", "message", None, None, "x", "é"]),
    }
)


@st.composite
def chunked(draw: st.DrawFn, streams: st.SearchStrategy[bytes] = streams) -> tuple[bytes, list[bytes]]:
    """A stream and one way to split it: anywhere (repeated cuts give empty
    chunks), in a few places, or only after line-end bytes, as servers that
    flush per line or per event do."""
    data = draw(streams)
    line_ends = [i + 1 for i, byte in enumerate(data) if byte in b"\r\n"]
    style = draw(st.sampled_from(["anywhere", "few", "line-ends"]))
    if style == "line-ends" and line_ends:
        cuts = draw(st.lists(st.sampled_from(line_ends), unique=True))
    else:
        size = min(len(data), 30) + 2 if style == "anywhere" else 3
        cuts = draw(st.lists(st.integers(0, len(data)), max_size=size))
    return data, split_at(data, cuts)


COMMON = settings(suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def both_twins(request: pytest.FixtureRequest) -> tuple[ModuleType, ModuleType]:
    """(compiled, pure) parser modules; only the pure-Python leg lacks the first."""
    if not c_extensions_required(request.config):
        pytest.skip("compares the compiled twin with the pure one; this run tests the pure twin only")
    return twin_module("cython", "parser"), twin_module("python", "parser")


def _run_raw(mod: ModuleType, chunks: list[bytes], **opts: Any) -> tuple[Any, ...]:
    """Like _helpers.run, but for _feed_raw (event type, undecoded data bytes)."""
    parser = mod.SSEParser(**opts)
    batches = []
    try:
        for chunk in chunks:
            batches.append(parser._feed_raw(chunk))
    except turbosse.EventTooLarge as exc:
        batches.append(("error", str(exc), exc.limit, exc.events))
    return tuple(map(repr, batches)), parser.last_event_id, parser.retry, parser.done


# -- the twins agree --------------------------------------------------------------------
def _assert_twins_agree(c_mod: ModuleType, py_mod: ModuleType, chunks: list[bytes], opts: dict[str, Any]) -> None:
    assert strict(run(c_mod, chunks, **opts)) == strict(run(py_mod, chunks, **opts))


@settings(COMMON, max_examples=300)
@given(case=chunked(), opts=options)
def test_twins_agree(both_twins: tuple[ModuleType, ModuleType], case: Any, opts: dict[str, Any]) -> None:
    c_mod, py_mod = both_twins
    data, chunks = case
    _assert_twins_agree(c_mod, py_mod, chunks, opts)
    _assert_twins_agree(c_mod, py_mod, [data], opts)
    _assert_twins_agree(c_mod, py_mod, bytewise(data), opts)


@settings(COMMON, max_examples=100)
@given(case=chunked(), opts=options)
def test_twins_agree_raw(both_twins: tuple[ModuleType, ModuleType], case: Any, opts: dict[str, Any]) -> None:
    """The decoder layer's entry point, _feed_raw, agrees too."""
    c_mod, py_mod = both_twins
    _, chunks = case
    assert _run_raw(c_mod, chunks, **opts) == _run_raw(py_mod, chunks, **opts)


@pytest.mark.slow
@settings(COMMON, max_examples=1000)
@given(case=chunked(), opts=options)
def test_twins_agree_many(both_twins: tuple[ModuleType, ModuleType], case: Any, opts: dict[str, Any]) -> None:
    c_mod, py_mod = both_twins
    _, chunks = case
    _assert_twins_agree(c_mod, py_mod, chunks, opts)


@settings(COMMON, max_examples=50)
@given(
    size=st.integers(0, 3000),
    piece=st.integers(1, 700),
    limit=st.sampled_from([None, 100, 1000, 2999]),
    prefix=st.sampled_from([b"data: ", b"data:", b": ", b"event: ", b"id: ", b"x"]),
    end=st.sampled_from([b"", b"\n", b"\r", b"\r\n\r\n", b"\n\n"]),
)
def test_twins_agree_on_long_lines(
    both_twins: tuple[ModuleType, ModuleType], size: int, piece: int, limit: int | None, prefix: bytes, end: bytes
) -> None:
    c_mod, py_mod = both_twins
    data = b"data: a\n\n" + prefix + b"\xc3\xa9" * (size // 2) + end + b"data: b\n\n"
    chunks = [data[i : i + piece] for i in range(0, len(data), piece)]
    _assert_twins_agree(c_mod, py_mod, chunks, {"max_event_bytes": limit})


# -- within one twin: chunking is invisible, and the reference parser agrees --------------
@settings(COMMON, max_examples=300)
@given(case=chunked(), opts=options)
def test_chunking_never_changes_result(parser_mod: ModuleType, case: Any, opts: dict[str, Any]) -> None:
    data, chunks = case
    whole = run(parser_mod, [data], **opts)
    assert run(parser_mod, chunks, **opts) == whole
    assert run(parser_mod, bytewise(data), **opts) == whole


@settings(COMMON, max_examples=150)
@given(
    case=chunked(),
    sentinel=st.sampled_from([None, b"[DONE]", b"x"]),
    default_event=st.sampled_from(["message", None, "x"]),
)
def test_matches_reference_parser(
    parser_mod: ModuleType, case: Any, sentinel: bytes | None, default_event: str | None
) -> None:
    data, chunks = case
    ref = reference_parse(data, None if sentinel is None else sentinel.decode(), default_event)
    outcome = run(parser_mod, chunks, sentinel=sentinel, max_event_bytes=None, default_event=default_event)
    assert outcome.error is None
    assert outcome.events == ref.events
    assert (outcome.last_event_id, outcome.retry, outcome.done) == (ref.last_event_id, ref.retry, ref.done)
    assert outcome.unterminated is ref.unterminated


@settings(COMMON, max_examples=150)
@given(case=chunked(), limit=st.integers(1, 60))
def test_limit_only_cuts_the_stream_short(parser_mod: ModuleType, case: Any, limit: int) -> None:
    """With a limit, the events are a prefix of the unlimited ones; a limit
    as large as the whole stream is never hit."""
    data, chunks = case
    ref = reference_parse(data)
    outcome = run(parser_mod, chunks, max_event_bytes=limit)
    assert outcome.events == ref.events[: len(outcome.events)]
    if outcome.error is None:
        assert outcome.events == ref.events
    else:
        assert outcome.error[2] == limit
        assert str(limit) in outcome.error[1]
        assert len(data) > limit
    assert run(parser_mod, chunks, max_event_bytes=max(len(data), 1)).error is None
