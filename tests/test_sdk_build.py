"""ModelBuilder: the SDK's own objects, equal to what the SDK's
``construct_type`` builds, for any JSON value, on the SDKs' real stream
types and on models written here to reach every branch (aliases, unions
that fail validation, floats, dates, defaults, extras, odd values).
"""

from __future__ import annotations

import datetime
from typing import Any, Literal, Optional

import pytest
from _sdk_helpers import anthropic, assert_same, openai
from anthropic import _models as amodels
from anthropic.types import RawMessageStreamEvent
from hypothesis import given, settings
from hypothesis import strategies as st
from openai import _models as omodels
from openai.types import Completion
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent
from pydantic import ConfigDict, Field

from turbosse._sdk._build import ModelBuilder

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic serializer warnings on odd values

OPENAI = ModelBuilder(omodels)
ANTHROPIC = ModelBuilder(amodels)


class Inner(omodels.BaseModel):
    name: str
    score: Optional[float] = None  # noqa: UP045  (typing.Union, as the SDKs write it)
    tags: list[str] = []  # noqa: RUF012  (a pydantic field: copied per instance)


class Other(omodels.BaseModel):
    type: Literal["other"]
    value: int


class Tagged(omodels.BaseModel):
    type: Literal["tagged"]
    inner: Inner


class Outer(omodels.BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    schema_: str | None = Field(default=None, alias="schema")
    ratio: float = 0.0
    when: datetime.datetime | None = None
    day: datetime.date | None = None
    inner: Inner | None = None
    inners: list[Inner] | None = None
    by_key: dict[str, Inner] | None = None
    either: Other | Tagged | None = None
    number: int | str | None = None
    items: list[Other | Tagged] = []  # noqa: RUF012
    anything: Any = None
    kind: Literal["a", "b"] | None = None


def check(builder: ModelBuilder, type_: Any, value: Any, models: Any = omodels) -> None:
    assert_same(builder.converter(type_)(value), models.construct_type(type_=type_, value=value))


@pytest.mark.parametrize("value", [
    {"id": "x"},
    {"id": "x", "schema": "s", "ratio": 2, "kind": "a", "number": 5},
    {"id": "x", "schema_": "by name"},  # populate_by_name
    {"id": "x", "ratio": 2.5, "inner": {"name": "n", "score": 1}},  # validated: 1 -> 1.0
    {"id": "x", "inner": {"score": "high"}},  # fails validation: constructed
    {"id": "x", "inner": "not a dict", "inners": "nor a list"},
    {"id": "x", "inners": [{"name": "a"}, {"name": 5}], "by_key": {"k": {"name": "b"}}},
    {"id": "x", "either": {"type": "tagged", "inner": {"name": "t"}}},
    {"id": "x", "either": {"type": "other", "value": "not an int"}},
    {"id": "x", "either": {"type": "neither"}, "items": [{"type": "other", "value": 1}, 3, {"type": "?"}]},
    {"id": "x", "when": "2024-05-01T12:00:00Z", "day": "2024-05-01"},
    {"id": "x", "when": "garbage", "day": 17},
    {"id": "x", "number": True, "kind": "c", "anything": {"deep": [1, {"x": None}]}},
    {"id": "x", "ratio": 10**30, "extra_field": {"kept": True}, "another": [1, 2]},
    {"id": 5, "ratio": None, "inner": None, "tags": None},
    {"_private_looking": 1, "id": "x"},
])
def test_branches_equal_construct_type(value: dict[str, Any]) -> None:
    check(OPENAI, Outer, value)


def test_mutable_defaults_are_not_shared() -> None:
    build = OPENAI.converter(Inner)
    a, b = build({"name": "a"}), build({"name": "b"})
    a.tags.append("x")
    assert b.tags == []


def test_lists_and_non_dicts_where_a_model_is_expected() -> None:
    check(OPENAI, Inner, [{"name": "a"}, "b", None])
    check(OPENAI, Inner, "plain")
    check(OPENAI, list[Inner], [{"name": "a"}, 7])
    check(OPENAI, Optional[list[Inner]], [{"name": "a"}])  # noqa: UP045  (typing.Union, as the SDKs write it)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)

_CHUNK_KEYS = ["id", "choices", "created", "model", "object", "usage", "service_tier", "system_fingerprint"]
_CHOICE_KEYS = ["index", "delta", "finish_reason", "logprobs"]
_DELTA_KEYS = ["content", "role", "tool_calls", "refusal", "function_call", "reasoning_content"]


def _shaped(keys: list[str], inner: Any) -> Any:
    return st.dictionaries(st.sampled_from(keys), inner, max_size=len(keys))


_delta = _shaped(_DELTA_KEYS, _json | st.lists(_shaped(["index", "id", "type", "function"], _json), max_size=2))
_choice = _shaped(_CHOICE_KEYS, _json | _delta)
_chunk = _shaped(_CHUNK_KEYS, _json | st.lists(_choice, max_size=2) | _shaped(["prompt_tokens", "total_tokens"], _json))


@settings(max_examples=120)
@given(value=_chunk)
def test_any_chat_chunk_shape(value: dict[str, Any]) -> None:
    check(OPENAI, ChatCompletionChunk, value)
    check(OPENAI, Completion, value)


_EVENT_TYPES = ["response.output_text.delta", "response.created", "response.completed", "error",
                "message_start", "content_block_delta", "content_block_start", "message_delta", "ping"]
_event = st.fixed_dictionaries({"type": st.sampled_from(_EVENT_TYPES)}, optional={
    "delta": _json | _shaped(["type", "text", "partial_json", "stop_reason"], _json),
    "index": _json, "item_id": _json, "output_index": _json, "content_index": _json, "sequence_number": _json,
    "message": _json | _shaped(["id", "type", "role", "content", "model", "usage"], _json),
    "content_block": _shaped(["type", "text", "id", "name", "input"], _json),
    "usage": _shaped(["input_tokens", "output_tokens"], _json), "logprobs": _json,
})


@settings(max_examples=120)
@given(value=_event)
def test_any_union_event_shape(value: dict[str, Any]) -> None:
    check(OPENAI, ResponseStreamEvent, value)
    check(ANTHROPIC, RawMessageStreamEvent, value, amodels)


def test_sdks_present() -> None:
    assert openai.__version__ and anthropic.__version__
