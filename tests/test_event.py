"""ServerSentEvent: immutable, compared and hashed by value, readable repr,
``.json()``, pickle; the same contract for both twins (ARCHITECTURE.md,
"Public names")."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest

FIELDS = ("event", "data", "id", "retry")


def test_defaults(parser_mod: Any) -> None:
    ev = parser_mod.ServerSentEvent()
    assert (ev.event, ev.data, ev.id, ev.retry) == ("message", "", "", None)


def test_keywords(parser_mod: Any) -> None:
    ev = parser_mod.ServerSentEvent(event="delta", data='{"a": 1}', id="42", retry=1500)
    assert (ev.event, ev.data, ev.id, ev.retry) == ("delta", '{"a": 1}', "42", 1500)


def test_empty_event_type_is_message(parser_mod: Any) -> None:
    # ".event (str, "message" when absent or empty)"
    assert parser_mod.ServerSentEvent(event="", data="x").event == "message"


def test_event_type_none(parser_mod: Any) -> None:
    # what SSEParser(default_event=None) gives for a block without a type
    ev = parser_mod.ServerSentEvent(event=None, data="x")
    assert (ev.event, ev.data, ev.id, ev.retry) == (None, "x", "", None)
    assert ev == parser_mod.ServerSentEvent(None, "x")
    assert ev != parser_mod.ServerSentEvent(data="x")
    assert hash(ev) == hash(parser_mod.ServerSentEvent(None, "x"))


@pytest.mark.parametrize("name", [*FIELDS, "other"])
def test_immutable_setattr(parser_mod: Any, name: str) -> None:
    ev = parser_mod.ServerSentEvent(data="x")
    with pytest.raises((AttributeError, TypeError)):
        setattr(ev, name, "y")
    assert (ev.event, ev.data, ev.id, ev.retry) == ("message", "x", "", None)


@pytest.mark.parametrize("name", FIELDS)
def test_immutable_delattr(parser_mod: Any, name: str) -> None:
    ev = parser_mod.ServerSentEvent(data="x")
    with pytest.raises((AttributeError, TypeError)):
        delattr(ev, name)
    assert ev.data == "x"


def test_init_called_again_changes_nothing(parser_mod: Any) -> None:
    ev = parser_mod.ServerSentEvent(data="x")
    kept = {ev}
    with pytest.raises(AttributeError, match="immutable"):
        ev.__init__(data="tampered")  # type: ignore[misc]
    assert (ev.event, ev.data, ev.id, ev.retry) == ("message", "x", "", None) and ev in kept


def test_none_data_and_id_are_empty_as_in_httpx_sse(parser_mod: Any) -> None:
    httpx_sse = pytest.importorskip("httpx_sse")
    ours = parser_mod.ServerSentEvent(data=None, id=None, retry=None)
    theirs = httpx_sse.ServerSentEvent(data=None, id=None, retry=None)
    assert (ours.data, ours.id, ours.retry) == (theirs.data, theirs.id, theirs.retry) == ("", "", None)
    with pytest.raises(TypeError, match=r"ServerSentEvent\.data must be a str or None, not int"):
        parser_mod.ServerSentEvent(data=1)


def test_equality_by_value(parser_mod: Any) -> None:
    SSE = parser_mod.ServerSentEvent
    a = SSE(event="e", data="d", id="1", retry=5)
    assert a == SSE(event="e", data="d", id="1", retry=5)
    assert not (a != SSE(event="e", data="d", id="1", retry=5))
    for other in (
        SSE(event="f", data="d", id="1", retry=5),
        SSE(event="e", data="D", id="1", retry=5),
        SSE(event="e", data="d", id="2", retry=5),
        SSE(event="e", data="d", id="1", retry=6),
        SSE(event="e", data="d", id="1", retry=None),
    ):
        assert a != other
        assert not (a == other)
    assert SSE() == SSE(event="message", data="", id="", retry=None)


@pytest.mark.parametrize("other", [("message", "x", "", None), "x", None, 0, object()])
def test_not_equal_to_other_types(parser_mod: Any, other: Any) -> None:
    ev = parser_mod.ServerSentEvent(data="x")
    assert ev != other
    assert not (ev == other)


def test_hash_by_value(parser_mod: Any) -> None:
    SSE = parser_mod.ServerSentEvent
    a, b = SSE(event="e", data="d", id="1", retry=5), SSE(event="e", data="d", id="1", retry=5)
    assert a is not b and hash(a) == hash(b)
    assert len({a, b, SSE(data="d")}) == 2
    assert {a: 1}[b] == 1


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"data": "x"}, "ServerSentEvent(event='message', data='x', id='', retry=None)"),
        (
            {"event": "delta", "data": 'say "hi"\n', "id": "7", "retry": 3000},
            "ServerSentEvent(event='delta', data='say \"hi\"\\n', id='7', retry=3000)",
        ),
        ({}, "ServerSentEvent(event='message', data='', id='', retry=None)"),
    ],
)
def test_repr(parser_mod: Any, kwargs: dict[str, Any], expected: str) -> None:
    assert repr(parser_mod.ServerSentEvent(**kwargs)) == expected


def test_json(parser_mod: Any) -> None:
    SSE = parser_mod.ServerSentEvent
    assert SSE(data='{"a": [1, 2.5, null, "é"], "b": {"c": true}}').json() == {
        "a": [1, 2.5, None, "é"],
        "b": {"c": True},
    }
    assert SSE(data="[1, 2]").json() == [1, 2]
    assert SSE(data='"s"').json() == "s"
    assert SSE(data="12").json() == 12


@pytest.mark.parametrize(
    "data",
    ['{"id": 123456789012345678901234567890}', "[18446744073709551616, -9223372036854775809, 1.5e300]",
     '{"n": 18446744073709551615, "s": "12345678901234567890123"}', "-12345678901234567890"],
)  # fmt: skip
def test_json_keeps_integers_beyond_64_bits_exact(parser_mod: Any, data: str) -> None:
    # as httpx-sse's json.loads reads them (orjson alone makes them floats)
    value = parser_mod.ServerSentEvent(data=data).json()
    assert value == json.loads(data) and repr(value) == repr(json.loads(data))


@pytest.mark.parametrize("data", ["[DONE]", "", "{", "{'a': 1}", "[12345678901234567890,]", '{"x": NaN}'])
def test_json_invalid_raises_value_error(parser_mod: Any, data: str) -> None:
    with pytest.raises(ValueError):
        parser_mod.ServerSentEvent(data=data).json()


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip(parser_mod: Any, protocol: int) -> None:
    ev = parser_mod.ServerSentEvent(event="e", data="d\u2028\ufffd", id="i", retry=2**63 - 1)
    clone = pickle.loads(pickle.dumps(ev, protocol))
    assert type(clone) is type(ev)
    assert clone == ev
    assert (clone.event, clone.data, clone.id, clone.retry) == ("e", "d\u2028\ufffd", "i", 2**63 - 1)


def test_copy(parser_mod: Any) -> None:
    ev = parser_mod.ServerSentEvent(data="x", retry=1)
    assert copy.copy(ev) == ev
    assert copy.deepcopy(ev) == ev


def test_parsed_event_equals_constructed(parser_mod: Any) -> None:
    parser = parser_mod.SSEParser()
    (ev,) = parser.feed(b"retry: 10\nid: 3\nevent: e\ndata: x\n\n")
    assert type(ev) is parser_mod.ServerSentEvent
    assert ev == parser_mod.ServerSentEvent(event="e", data="x", id="3", retry=10)
    assert hash(ev) == hash(parser_mod.ServerSentEvent(event="e", data="x", id="3", retry=10))
    assert repr(ev) == "ServerSentEvent(event='e', data='x', id='3', retry=10)"
    assert pickle.loads(pickle.dumps(ev)) == ev
    for name in FIELDS:
        with pytest.raises((AttributeError, TypeError)):
            setattr(ev, name, None)


def test_field_types_of_parsed_event(parser_mod: Any) -> None:
    (ev,) = parser_mod.SSEParser().feed(b"retry: 10\ndata: x\n\n")
    assert type(ev.event) is str and type(ev.data) is str and type(ev.id) is str
    assert type(ev.retry) is int
