"""ChatAccumulator: the cases where the openai SDK's accumulator goes wrong,
and linear time. Deltas are built by hand here; test_golden.py runs the real
streams through both decoder twins."""

from __future__ import annotations

import gc
import pickle
import time
from types import ModuleType

import orjson
import pytest

from turbosse._accumulator import ChatAccumulator, ChatResult, ChoiceResult, ToolCall
from turbosse._delta import Delta, ToolCallDelta, Usage


def acc_of(*deltas: Delta) -> ChatResult:
    acc = ChatAccumulator()
    acc.extend(deltas)
    return acc.result()


def tc(index: int | None, id: str | None = None, name: str | None = None, args: str | None = None) -> Delta:
    return Delta(0, tool_calls=(ToolCallDelta(index, id, name, args),))


def test_text_role_finish() -> None:
    r = acc_of(Delta(0, role="assistant"), Delta(0, content="a"), Delta(0, reasoning="r"),
               Delta(0, content="b", finish_reason="stop"))
    assert r.choices == [ChoiceResult(0, "assistant", "ab", "r", None, [], "stop")]
    assert (r.content, r.reasoning, r.finish_reason, r.tool_calls) == ("ab", "r", "stop", [])


def test_empty_result() -> None:
    r = ChatAccumulator().result()
    assert r == ChatResult() and r.content is None and r.tool_calls == [] and r.finish_reason is None
    assert r.to_dict() == {"id": None, "model": None, "choices": [], "usage": None}


def test_role_repeated_is_never_concatenated() -> None:
    r = acc_of(*[Delta(0, role="assistant", content=c) for c in "abc"])
    assert r.choices[0].role == "assistant" and r.content == "abc"


def test_first_tool_call_at_index_1() -> None:
    r = acc_of(Delta(0, content="Reading it."), tc(1, "toolu_1", "read_file", ""), tc(1, None, None, ""),
               tc(1, None, None, '{"pa'), tc(1, None, None, 'th": "a.txt"}'), Delta(0, finish_reason="tool_calls"))
    assert r.tool_calls == [ToolCall("toolu_1", "read_file", '{"path": "a.txt"}')]
    assert r.tool_calls[0].json() == {"path": "a.txt"}


def test_parallel_tool_calls_interleaved() -> None:
    r = acc_of(tc(0, "a", "f", "{"), tc(1, "b", "g", "["), tc(0, args="}"), tc(1, args="]"))
    assert r.tool_calls == [ToolCall("a", "f", "{}"), ToolCall("b", "g", "[]")]


def test_id_and_name_taken_once() -> None:
    # OpenRouter/Novita kimi-k2: the whole call header sent twice
    r = acc_of(tc(0, "0", "llm_version", ""), tc(0, "0", "llm_version", "{}"))
    assert r.tool_calls == [ToolCall("0", "llm_version", "{}")]


def test_no_index_new_id_starts_new_call() -> None:
    r = acc_of(tc(None, "c1", "f", '{"a":'), tc(None, None, None, "1}"), tc(None, "c2", "g", "{}"),
               tc(None, "c2", None, ""))
    assert r.tool_calls == [ToolCall("c1", "f", '{"a":1}'), ToolCall("c2", "g", "{}")]


def test_no_index_no_id_second_name_starts_new_call() -> None:
    r = acc_of(tc(None, None, "f", "{}"), tc(None, None, "f", '{"x":1}'))
    assert r.tool_calls == [ToolCall(None, "f", "{}"), ToolCall(None, "f", '{"x":1}')]


def test_no_index_same_id_other_name_starts_new_call() -> None:
    # a server giving every call of a response one id: the second name is a second call
    r = acc_of(tc(None, "c0", "get_weather", '{"city":"Paris"}'), tc(None, "c0", "get_time", '{"tz":"CET"}'))
    assert r.tool_calls == [ToolCall("c0", "get_weather", '{"city":"Paris"}'), ToolCall("c0", "get_time", '{"tz":"CET"}')]
    # the header sent again with each fragment continues the call
    r = acc_of(tc(None, "c0", "f", '{"a":'), tc(None, "c0", "f", "1}"))
    assert r.tool_calls == [ToolCall("c0", "f", '{"a":1}')]


def test_index_reused_with_new_id_is_a_new_call() -> None:
    r = acc_of(tc(0, "a", "f", "{}"), tc(0, "b", "g", "{}"))
    assert r.tool_calls == [ToolCall("a", "f", "{}"), ToolCall("b", "g", "{}")]


def test_incomplete_tool_calls_are_reported() -> None:
    r = acc_of(tc(0, None, None, '{"a": 1}'), tc(1, "x", None, "{}"), tc(2, "y", "h", '{"trunc'))
    calls = r.tool_calls
    assert [c.complete for c in calls] == [False, False, True]
    assert r.choices[0].incomplete_tool_calls == calls[:2]
    with pytest.raises(orjson.JSONDecodeError):
        calls[2].json()
    assert ToolCall("i", "n", "").json() == {}


def test_usage_never_overwritten_by_absence() -> None:
    acc = ChatAccumulator()
    acc.add(Delta(0, content="x", usage=Usage(1, 2, 3)))
    acc.add(Delta(0, content="y"))
    assert acc.result().usage == Usage(1, 2, 3)
    acc.add(Delta(0, usage=Usage(1, 5, 6)))  # a later usage does replace it
    assert acc.result().usage == Usage(1, 5, 6)


def test_usage_only_delta_creates_no_choice() -> None:
    r = acc_of(Delta(0, usage=Usage(1, 2, 3)))
    assert r.choices == [] and r.usage == Usage(1, 2, 3)


def test_n_choices_interleaved() -> None:
    r = acc_of(Delta(2, content="c"), Delta(0, content="a"), Delta(1, content="b"),
               Delta(0, content="A", finish_reason="stop"), Delta(2, tool_calls=(ToolCallDelta(0, "t", "f", "{}"),)),
               Delta(1, finish_reason="length"))
    assert [(c.index, c.content, c.finish_reason) for c in r.choices] == [
        (0, "aA", "stop"), (1, "b", "length"), (2, "c", None)]
    assert r.choices[2].tool_calls == [ToolCall("t", "f", "{}")]


def test_refusal_and_later_finish_wins() -> None:
    r = acc_of(Delta(0, refusal="I can"), Delta(0, refusal="'t"), Delta(0, finish_reason="length"),
               Delta(0, finish_reason="stop"))
    assert r.choices[0].refusal == "I can't" and r.finish_reason == "stop" and r.content is None


def test_result_does_not_consume_and_model_id() -> None:
    acc = ChatAccumulator(model="m", id="i")
    acc.add(Delta(0, content="a"))
    first = acc.result()
    acc.add(Delta(0, content="b"))
    assert first.content == "a" and acc.result().content == "ab"
    assert (acc.result().model, acc.result().id) == ("m", "i")


def test_completed_tool_calls_are_drained_once() -> None:
    acc = ChatAccumulator()
    acc.extend([tc(0, "a", "f", "{"), tc(0, args="}")])
    assert acc._drain_completed() == []  # still open
    acc.add(tc(1, "b", "g", "{}"))  # a new call closes the previous one
    assert acc._drain_completed() == [(0, ToolCall("a", "f", "{}"))]
    acc.add(Delta(0, finish_reason="tool_calls"))  # the finish closes the rest
    assert acc._drain_completed() == [(0, ToolCall("b", "g", "{}"))]
    assert acc._drain_completed(final=True) == []


def test_types_pickle_and_to_dict() -> None:
    r = acc_of(Delta(0, role="assistant", content="x", usage=Usage(1, 1, 2)), tc(0, "a", "f", "{}"))
    assert pickle.loads(pickle.dumps(r)) == r
    assert r.to_dict() == {
        "id": None, "model": None, "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        "choices": [{"index": 0, "role": "assistant", "content": "x", "reasoning": None, "refusal": None,
                     "tool_calls": [{"id": "a", "name": "f", "arguments": "{}"}], "finish_reason": None,
                     "stop_reason": None}]}
    assert repr(ToolCall("a", "f", "{}")) == "ToolCall(id='a', name='f', arguments='{}')"


def _time(fn) -> float:  # type: ignore[no-untyped-def]
    # GC off while timing: after the rest of the suite the heap is large, and a
    # full collection triggered by the objects built here walks all of it,
    # which is not the accumulator's cost
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def test_linear_time_many_deltas() -> None:
    # 100k content deltas and 100k tool-argument fragments
    deltas = [Delta(0, content="tok ") for _ in range(100_000)]
    calls = [tc(0, "a", "f", "x")] + [tc(0, args="xxxxxxxxxx") for _ in range(100_000)]
    acc = ChatAccumulator()
    elapsed = _time(lambda: (acc.extend(deltas), acc.extend(calls), acc.result()))
    r = acc.result()
    assert len(r.content) == 400_000 and len(r.tool_calls[0].arguments) == 1_000_001
    assert elapsed < 5  # about 0.2 s here; quadratic joining would take minutes


def test_linear_time_10mb_arguments() -> None:
    # 10 MB of tool arguments: doubling the size must not quadruple the time
    def run(n_fragments: int) -> float:
        frag = "y" * 1000
        deltas = [tc(0, "a", "f", "")] + [tc(0, args=frag) for _ in range(n_fragments)]
        acc = ChatAccumulator()
        return _time(lambda: (acc.extend(deltas), acc.result()))

    small = min(run(5_000) for _ in range(3))
    big = min(run(10_000) for _ in range(3))  # 10 MB
    assert big < 4 * small + 0.05


def test_linear_time_interleaved_calls() -> None:
    # two calls by index whose fragments alternate (the first is not whole
    # when the second begins, so each of its fragments is checked): doubling
    # the fragments must not quadruple the time
    def run(n: int) -> float:
        frag = '{} } ] \\" x' * 20  # in a string, characters that end JSON elsewhere
        deltas = [tc(0, "a", "f", '{"k": "'), tc(1, "b", "g", '{"k": "')]
        for _ in range(n):
            deltas += [tc(0, args=frag), tc(1, args=frag)]
        deltas += [tc(0, args='"}'), tc(1, args='"}')]
        acc = ChatAccumulator()
        elapsed = _time(lambda: (acc.extend(deltas), acc._drain_completed()))
        assert [c.complete for c in acc.result().tool_calls] == [True, True]
        return elapsed

    small = min(run(2_000) for _ in range(3))
    big = min(run(8_000) for _ in range(3))
    assert big < 8 * small + 0.05  # 4x the fragments; quadratic would be 16x


def test_linear_time_calls_with_repeated_finish_reason() -> None:
    # each chunk opens a tool call and repeats finish_reason: 8x the chunks
    # must not take 64x the time (it walked every call per finish)
    def run(n: int) -> float:
        deltas = [Delta(0, tool_calls=(ToolCallDelta(i, f"id{i}", "f", "{}"),), finish_reason="tool_calls")
                  for i in range(n)]
        acc = ChatAccumulator()
        elapsed = _time(lambda: (acc.extend(deltas), acc._drain_completed(final=True)))
        assert len(acc.result().tool_calls) == n
        return elapsed

    small = min(run(2_000) for _ in range(3))
    big = min(run(16_000) for _ in range(3))
    assert big < 24 * small + 0.05  # 8x the chunks; quadratic would be 64x (57 s at 40k)


def test_decoded_stream_accumulates(decoder_mod: ModuleType) -> None:
    body = b"".join(
        b"data: " + orjson.dumps({"choices": [{"index": 0, "delta": d, "finish_reason": f}]}) + b"\n\n"
        for d, f in [({"role": "assistant", "content": ""}, None), ({"content": "Hi"}, None),
                     ({"tool_calls": [{"index": 1, "id": "c", "function": {"name": "f", "arguments": "{}"}}]}, None),
                     ({}, "tool_calls")]
    )
    acc = ChatAccumulator()
    acc.extend(decoder_mod.ChatDecoder().feed(body))
    assert acc.result().choices == [ChoiceResult(0, "assistant", "Hi", None, None, [ToolCall("c", "f", "{}")],
                                                 "tool_calls")]
