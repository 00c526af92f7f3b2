"""Request bodies as JSON: what orjson would silently change (a NaN or an
infinity written as null) or refuse with no word of where (an integer beyond
64 bits, a value of another type, a non-string key, a circular reference) is
a ValueError or TypeError naming its place; everything else is exactly
orjson's bytes. Through the clients (no request is sent) and the batch
runner's input (an integer orjson would read as a float stops the run)."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
from _client_helpers import Complete, complete_fixture
from hypothesis import given
from hypothesis import strategies as st

from turbosse._exactjson import dumps, loads
from turbosse.batch import BatchInputError, read_requests
from turbosse.testing import FakeLLMServer

_INT64 = st.integers(-(2**63), 2**64 - 1)
_VALUES = st.recursive(
    st.none() | st.booleans() | _INT64 | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


@given(_VALUES)
def test_what_json_carries_is_orjsons_bytes(value: Any) -> None:
    assert dumps(value) == orjson.dumps(value)


def _at(value: Any, path: list[Any]) -> Any:
    for key in path:
        value = value[key]
    return value


def _paths(value: Any, path: list[Any]) -> list[list[Any]]:
    """Every place a value could be put in: a container's slots."""
    out = []
    if isinstance(value, dict):
        for key in value:
            out.append([*path, key])
            out.extend(_paths(value[key], [*path, key]))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.append([*path, i])
            out.extend(_paths(item, [*path, i]))
    return out


def _place(path: list[Any]) -> str:
    text = ""
    for key in path:
        if isinstance(key, int):
            text += f"[{key}]"
        elif key.isidentifier():
            text += f".{key}" if text else key
        else:
            text += f"[{key!r}]"
    return text


@given(st.dictionaries(st.text(max_size=8), _VALUES, min_size=1, max_size=4), st.data(),
       st.sampled_from([math.nan, math.inf, -math.inf, 2**64, -(2**63) - 1, object()]))  # fmt: skip
def test_a_value_json_cannot_carry_is_named_where_it_is(body: dict[str, Any], data: st.DataObject, bad: Any) -> None:
    path = data.draw(st.sampled_from(_paths(body, [])))
    parent = _at(body, path[:-1])
    parent[path[-1]] = bad
    kind = TypeError if type(bad) is object else ValueError
    with pytest.raises(kind) as info:
        dumps(body)
    # the first such value found is the one put in (nothing else is bad)
    assert str(info.value).startswith(f"the request body at {_place(path)} ")


@pytest.mark.parametrize(
    ("body", "kind", "message"),
    [
        ({"temperature": math.nan}, ValueError, "the request body at temperature is nan, which JSON cannot carry"),
        ({"a": [1, {"b c": -math.inf}]}, ValueError, "the request body at a[1]['b c'] is -inf"),
        ({"seed": 2**70}, ValueError, f"the request body at seed holds the integer {2**70}, beyond the 64-bit range"),
        ({"messages": [{"content": b"x"}]}, TypeError,
         "the request body at messages[0].content cannot be encoded as JSON: Type is not JSON serializable: bytes"),
        ({"m": {1: 2}}, TypeError, "the request body at m: the key 1 (int) is not a string"),
        (2**64, ValueError, "the request body holds the integer 18446744073709551616"),
    ],
)  # fmt: skip
def test_messages(body: Any, kind: type, message: str) -> None:
    with pytest.raises(kind) as info:
        dumps(body)
    assert str(info.value).startswith(message)


def test_a_circular_reference_is_named_not_a_recursion_error() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match=r"^the request body at messages\[0\] refers back to a container it is in"):
        dumps({"messages": loop})


@given(st.recursive(st.none() | st.integers() | st.text(alphabet="0123456789ab"),
                    lambda inner: st.lists(inner, max_size=4), max_leaves=20))  # fmt: skip
def test_loads_reads_integers_of_any_size_exactly(value: Any) -> None:
    text = json.dumps(value)  # orjson cannot encode the big ones
    for data in (text, text.encode()):
        got = loads(data)
        assert got == value and repr(got) == repr(value)


@pytest.mark.parametrize("data", ["[1,]", "NaN", '"\\ud800"', "12345678901234567890 x"])
def test_loads_refuses_what_orjson_refuses(data: str) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        loads(data)


def test_null_and_the_text_null_are_not_mistaken_for_a_nan() -> None:
    body = {"stop": None, "user": "null", "x": [None, 1.5]}
    assert dumps(body) == orjson.dumps(body)


# -- through the clients ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    with FakeLLMServer(lifetime=300) as srv:
        yield srv


complete = complete_fixture()


@pytest.mark.parametrize(
    ("params", "kind", "message"),
    [
        ({"temperature": math.nan}, ValueError, "the request body at temperature is nan"),
        ({"seed": 2**64}, ValueError, "the request body at seed holds the integer 18446744073709551616"),
        ({"metadata": {"at": object()}}, TypeError, "the request body at metadata.at cannot be encoded as JSON"),
    ],
)
def test_the_clients_refuse_a_body_they_would_change(complete: Complete, server: FakeLLMServer, params: dict[str, Any],
                                                     kind: type, message: str) -> None:  # fmt: skip
    server.reset()
    with pytest.raises(kind) as info:
        complete(**params)
    assert str(info.value).startswith(message)
    assert server.requests == []  # nothing went out


# -- the batch runner's input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"prompt": "a", "seed": 18446744073709551616}', "seed holds the integer 18446744073709551616, beyond"),
        (b'{"custom_id": "a", "url": "/v1/chat/completions", "body": {"n": [1, -9223372036854775809]}}',
         "body.n[1] holds the integer -9223372036854775809"),
        ({"prompt": "a", "temperature": math.nan}, "temperature is nan, which JSON cannot carry"),
        ({"prompt": "a", "x": {"y": object()}}, "x.y cannot be encoded as JSON"),
    ],
)  # fmt: skip
def test_a_batch_line_that_cannot_be_sent_as_written_stops_the_run(line: Any, reason: str) -> None:
    with pytest.raises(BatchInputError) as info:
        list(read_requests([b'{"prompt": "ok"}', line]))
    assert info.value.line == 2 and info.value.reason.startswith(reason), info.value.reason


@pytest.mark.parametrize(
    "line",
    [
        b'{"messages": [], "seed": 18446744073709551615}',  # the largest integer orjson reads exactly
        b'{"messages": [], "seed": -9223372036854775808}',
        b'{"messages": ["12345678901234567890123"], "top_p": 0.12345678901234567890}',  # long digits, nothing beyond
    ],
)
def test_long_digits_that_read_exactly_are_kept(line: bytes) -> None:
    (req,) = read_requests([line])
    assert req.body == orjson.loads(line) and orjson.dumps(req.body) == orjson.dumps(orjson.loads(line))
