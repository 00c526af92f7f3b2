"""fold_deltas (both twins): folding a list of deltas into a ChatAccumulator
gives exactly what ``add`` called on each delta gives, whatever the deltas
(random streams of every kind of delta, cut into random batches, by
hypothesis), and fails as ``add`` fails on what is not a delta. The iterated
chat client folds each batch before yielding it: a caller that stops
mid-batch finds in ``partial`` everything that arrived."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from _async_fixtures import anyio_backend  # noqa: F401 - every async test on asyncio and uvloop
from conftest import twin_module
from hypothesis import given, settings
from hypothesis import strategies as st

from turbosse import AsyncChatClient, ChatAccumulator, ChatClient, Delta, ToolCallDelta, Usage
from turbosse.testing import fake_text


@pytest.fixture(scope="session")
def mod(twin: str) -> ModuleType:
    return twin_module(twin, "fold")


texts = st.text(max_size=6)
maybe = lambda s: st.none() | s  # noqa: E731
tool_calls = st.lists(
    st.builds(ToolCallDelta, maybe(st.integers(0, 2)), maybe(st.sampled_from(["a", "b"])), maybe(st.sampled_from(["f", "g"])), maybe(texts)),
    min_size=1, max_size=2,
)  # fmt: skip
any_delta = st.builds(
    Delta, st.integers(0, 2), maybe(st.just("assistant")), maybe(texts), maybe(texts), maybe(texts),
    maybe(tool_calls), maybe(st.sampled_from(["stop", "length"])), maybe(st.builds(Usage, st.integers(0, 9))),
)  # fmt: skip
content_only = st.builds(lambda i, t: Delta(i, content=t), st.integers(0, 2), texts)
plain_tuple = content_only.map(tuple)  # an 8-tuple that is not a Delta folds the same
deltas = st.lists(st.one_of(content_only, content_only, any_delta, plain_tuple), max_size=40)


def by_add(items: list[Any]) -> Any:
    acc = ChatAccumulator(follow_arguments=True)
    for d in items:
        acc.add(d)
    return acc.result()


def folded(mod: ModuleType, items: list[Any], cuts: list[int]) -> Any:
    acc = ChatAccumulator(follow_arguments=True)
    start = 0
    for end in sorted(cuts) + [len(items)]:
        mod.fold_deltas(acc._choices, items[start:end], acc.add)
        start = max(start, end)
    return acc.result()


@settings(max_examples=400)
@given(deltas, st.lists(st.integers(0, 40), max_size=6))
def test_folding_batches_equals_adding_each_delta(mod: ModuleType, items: list[Any], cuts: list[int]) -> None:
    assert folded(mod, items, cuts) == by_add(items)


def test_a_content_only_delta_of_a_new_choice_starts_it(mod: ModuleType) -> None:
    acc = ChatAccumulator()
    mod.fold_deltas(acc._choices, [Delta(1, content="a"), Delta(1, content="b"), Delta(0, content="c")], acc.add)
    result = acc.result()
    assert [(c.index, c.content) for c in result.choices] == [(0, "c"), (1, "ab")]


def test_extend_folds_lists_and_any_iterable_alike() -> None:
    items = [Delta(0, role="assistant", content=""), Delta(0, content="Hel"), Delta(0, content="lo"), Delta(0, finish_reason="stop")]
    a, b = ChatAccumulator(), ChatAccumulator()
    a.extend(items)
    b.extend(iter(items))
    assert a.result() == b.result() and a.result().content == "Hello" and a.result().finish_reason == "stop"


@pytest.mark.parametrize(
    "bad, error",
    [
        (None, TypeError),  # not a delta at all
        ("content", ValueError),  # a sequence of the wrong length
        ((0, None, "x"), ValueError),
        (([], None, "x", None, None, None, None, None), TypeError),  # an unhashable index
    ],
)
def test_what_is_not_a_delta_fails_as_add_fails(mod: ModuleType, bad: Any, error: type[Exception]) -> None:
    acc = ChatAccumulator()
    acc.add(Delta(0, content="a"))
    with pytest.raises(error):
        acc.add(bad)
    with pytest.raises(error):
        mod.fold_deltas(acc._choices, [Delta(0, content="b"), bad, Delta(0, content="c")], acc.add)
    assert acc.result().content == "ab"  # the deltas before it were folded, none after


STOP_AT = 12  # content deltas: past the first read, whose deltas are delivered (not passed through)
FAKE = {"tokens": 40, "events_per_write": 5, "tokens_per_second": 400}  # a read brings five deltas


def test_stopping_mid_batch_keeps_what_arrived_in_partial(server) -> None:
    with ChatClient(base_url=server.base_url, model="m", api_key="k") as client:
        with client.stream([{"role": "user", "content": "hi"}], fake=FAKE) as stream:
            seen: list[str] = []
            for d in stream:
                if _took_enough(seen, d):
                    break
            partial = stream.partial.content or ""
    _check(seen, partial)


@pytest.mark.anyio
async def test_stopping_mid_batch_keeps_what_arrived_in_partial_async(server) -> None:
    async with AsyncChatClient(base_url=server.base_url, model="m", api_key="k") as client:
        async with client.stream([{"role": "user", "content": "hi"}], fake=FAKE) as stream:
            seen: list[str] = []
            async for d in stream:
                if _took_enough(seen, d):
                    break
            partial = stream.partial.content or ""
    _check(seen, partial)


def _took_enough(seen: list[str], d: Delta) -> bool:
    """Note ``d``'s text; True once STOP_AT texts were seen."""
    if d.content:
        seen.append(d.content)
    return len(seen) == STOP_AT


def _check(seen: list[str], partial: str) -> None:
    text = "".join(seen)
    assert fake_text(FAKE["tokens"]).startswith(partial) and partial.startswith(text)
    assert len(partial) > len(text)  # the rest of the read that brought the last one came too
