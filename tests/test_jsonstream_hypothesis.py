"""JSONStream properties on random input, crossing the twins: the same events,
values and errors for any document and any chunking, str or bytes; partial
values equal jiter's trailing-strings mode on every chunk boundary; final
values equal json.loads (and orjson where orjson keeps integers exact);
validity agrees with jiter's strict parse."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import orjson
import pytest
from conftest import c_extensions_required
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_jsonstream import check_events, from_json, jiter_partial, same

from turbosse import JSONStreamError, _jsonstream_py


@pytest.fixture(scope="module")
def twins(request: pytest.FixtureRequest) -> list[Any]:
    mods = [_jsonstream_py]
    if c_extensions_required(request.config):
        from turbosse import _jsonstream_c

        mods.insert(0, _jsonstream_c)
    return mods


SETTINGS = settings(
    max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=25,
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    value = draw(json_values)
    return json.dumps(
        value,
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, 0, 2, "\t"])),
        separators=draw(st.sampled_from([None, (",", ":"), (" ,", " : ")])),
    )


@st.composite
def chunked(draw: st.DrawFn, data: Any) -> list[Any]:
    cuts = sorted(draw(st.sets(st.integers(0, len(data)), max_size=12)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in pairwise(bounds)]


def run(mod: Any, chunks: list[Any]) -> tuple[list[Any], list[Any], Any]:
    s = mod.JSONStream()
    events: list[Any] = []
    values = []
    try:
        for chunk in chunks:
            events.append([tuple(e) for e in s.feed(chunk)])
            values.append(repr(s.value()))
        return events, values, ("ok", repr(s.close()))
    except JSONStreamError as exc:
        events.append([tuple(e) for e in exc.events])
        values.append(repr(s.value()))
        return events, values, ("error", exc.reason, exc.offset, exc.limit)


def cross(twins: list[Any], chunks: list[Any]) -> tuple[list[Any], list[Any], Any]:
    results = [run(mod, chunks) for mod in twins]
    for other in results[1:]:
        assert repr(other) == repr(results[0])
    return results[0]


@SETTINGS
@given(st.data(), documents(), st.booleans())
def test_valid_documents(twins: list[Any], data: st.DataObject, doc: str, as_bytes: bool) -> None:
    raw: Any = doc.encode() if as_bytes else doc
    chunks = data.draw(chunked(raw))
    events, values, outcome = cross(twins, chunks)
    expected = json.loads(doc)
    assert outcome == ("ok", repr(expected))
    prefix = raw[:0]
    for chunk, value in zip(chunks, values):
        prefix += chunk
        assert value == repr(jiter_partial(prefix)), prefix
    check_events([e for evs in events for e in evs], expected)
    try:
        assert same(expected, orjson.loads(doc))
    except AssertionError:  # orjson turns integers past 64 bits into floats
        assert any(isinstance(v, int) and not -(2**63) <= v < 2**64 for v in _leaves(expected))


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [value]


JSONISH = st.text(alphabet=st.sampled_from(list('{}[]",: \n0123456789-+.eEtrufalsn\\u/bdxé\ud83d')))


@st.composite
def mutated(draw: st.DrawFn) -> str:
    doc = draw(documents())
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(0, len(doc)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        ch = draw(st.sampled_from(list('{}[]",:0-.e\\ atx\x01\ud83d')))
        doc = doc[:k] + (ch if op != "delete" else "") + doc[k + (op != "insert") :]
    return doc


def strict_jiter_accepts(doc: str) -> bool:
    try:
        from_json(doc.encode("utf-8", "surrogatepass"), allow_inf_nan=False)
    except ValueError:
        return False
    return True


@SETTINGS
@given(st.data(), mutated() | JSONISH, st.booleans())
def test_any_text(twins: list[Any], data: st.DataObject, doc: str, as_bytes: bool) -> None:
    raw: Any = doc.encode("utf-8", "surrogatepass") if as_bytes else doc
    chunks = data.draw(chunked(raw))
    _, _, outcome = cross(twins, chunks)
    assert (outcome[0] == "ok") == strict_jiter_accepts(doc), (doc, outcome)
    if outcome[0] == "error" and outcome[1] and "end of input" not in outcome[1]:
        # everything before the offending character is still a valid prefix
        s = twins[0].JSONStream()
        s.feed(doc[: outcome[2]])


@SETTINGS
@given(st.data(), st.binary(max_size=40) | documents().map(str.encode))
def test_any_bytes(twins: list[Any], data: st.DataObject, raw: bytes) -> None:
    cross(twins, data.draw(chunked(raw)))
