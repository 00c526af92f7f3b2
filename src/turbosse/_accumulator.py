"""ChatAccumulator: deltas in, the final message of every choice out.

Right where the openai SDK's accumulator is not (the tests show each case on
real streams):

- tool calls are keyed by their index *as sent*, so a first call at index 1
  is one call, not a hole at 0; parallel calls stay apart;
- chunks with no tool-call index (Gemini's OpenAI layer, Mistral) continue
  the last call unless they bring a new id or a second name (another name, or
  any name without an id), which starts a new call;
- a call is complete (``on_tool_call``) when a later call of its choice
  begins and its arguments are whole JSON, when they become whole after that
  (servers may interleave parallel calls' fragments by index), or when its
  choice finishes or the stream ends;
- ``role``, a call's ``id`` and ``name`` are taken once, never concatenated
  (servers repeat them: "assistantassistant" is a bug, not a role);
- usage is only ever replaced by a later usage, never by its absence;
- n > 1 choices interleave freely.

Text is kept as lists of fragments and joined when a result is asked for, so
100k deltas or megabytes of tool arguments accumulate in linear time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import orjson

from ._delta import Delta, Usage
from ._errors import JSONStreamError
from ._impl import JSONStream, fold_deltas

__all__ = ["ChatAccumulator", "ChatResult", "ChoiceResult", "ToolCall"]


class ToolCall(tuple):  # type: ignore[type-arg]
    """A finished tool call: ``(id, name, arguments)``, arguments being the
    JSON text as the model wrote it. ``complete`` is false when the stream
    never gave the call an id or a name (it is reported, not dropped)."""

    __slots__ = ()
    _fields = ("id", "name", "arguments")

    def __new__(cls, id: str | None, name: str | None, arguments: str = "") -> ToolCall:
        return tuple.__new__(cls, (id, name, arguments))

    id = property(itemgetter(0), doc="The call id to reply with (None if never sent).")
    name = property(itemgetter(1), doc="The function name (None if never sent).")
    arguments = property(itemgetter(2), doc="The JSON argument text.")

    @property
    def complete(self) -> bool:
        return self[0] is not None and self[1] is not None

    def json(self) -> Any:
        """The arguments decoded (``{}`` for empty arguments); raises
        orjson.JSONDecodeError when they are truncated or invalid."""
        return orjson.loads(self[2]) if self[2] else {}

    def partial(self) -> Any:
        """The arguments as far as they go, for a call cut short (e.g. in an
        error's ``partial`` result): what :meth:`turbosse.JSONStream.value`
        shows for the text (``{}`` for empty arguments); raises
        :class:`turbosse.JSONStreamError` where the text stops being JSON."""
        if not self[2]:
            return {}
        stream = JSONStream(max_size=None)
        stream.feed(self[2])
        return stream.value()

    def __repr__(self) -> str:
        return f"ToolCall(id={self[0]!r}, name={self[1]!r}, arguments={self[2]!r})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)


@dataclass(frozen=True)
class ChoiceResult:
    """The assembled message of one choice. Text fields are None when the
    stream sent none of that kind."""

    index: int
    role: str | None = None
    content: str | None = None
    reasoning: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    #: the provider's own finish word where ``finish_reason`` is normalised
    #: (Anthropic ``stop_sequence`` -> ``stop``); None for OpenAI chat
    stop_reason: str | None = None

    @property
    def incomplete_tool_calls(self) -> list[ToolCall]:
        """Tool calls that never got an id or a name."""
        return [c for c in self.tool_calls if not c.complete]

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "role": self.role,
            "content": self.content,
            "reasoning": self.reasoning,
            "refusal": self.refusal,
            "tool_calls": [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ],
            "finish_reason": self.finish_reason,
            "stop_reason": self.stop_reason,
        }


@dataclass(frozen=True)
class ChatResult:
    """The final result of a stream: ``choices`` by index, ``usage``,
    ``model`` and ``id``. ``content``, ``reasoning``, ``tool_calls``,
    ``finish_reason`` and ``stop_reason`` are those of the first choice
    (None/[] if none)."""

    choices: list[ChoiceResult] = field(default_factory=list)
    usage: Usage | None = None
    model: str | None = None
    id: str | None = None

    @property
    def content(self) -> str | None:
        return self.choices[0].content if self.choices else None

    @property
    def reasoning(self) -> str | None:
        return self.choices[0].reasoning if self.choices else None

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self.choices[0].tool_calls if self.choices else []

    @property
    def finish_reason(self) -> str | None:
        return self.choices[0].finish_reason if self.choices else None

    @property
    def stop_reason(self) -> str | None:
        return self.choices[0].stop_reason if self.choices else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "choices": [c.to_dict() for c in self.choices],
            "usage": None if self.usage is None else self.usage._asdict(),
        }


class _Call:
    __slots__ = ("id", "name", "parts", "closed", "superseded", "watch", "position", "stream")

    def __init__(self, id: str | None, name: str | None, position: int, follow: bool) -> None:
        self.id = id
        self.name = name
        self.parts: list[str] = []
        self.closed = False
        # a later call of its choice began while its arguments were not yet
        # whole JSON: fragments by index may still come (servers interleave
        # parallel calls); it closes once they parse, or when the choice ends
        self.superseded = False
        self.watch: Any = None  # a superseded call's arguments parsed as they grow (not followed)
        self.position = position  # in its choice's tool_calls
        # the arguments parsed as they grow (follow_arguments); None once
        # they stop being JSON
        self.stream: Any = JSONStream(max_size=None) if follow else None

    def result(self) -> ToolCall:
        return ToolCall(self.id, self.name, "".join(self.parts))

    def supersede(self) -> bool:
        """A later call began: True if the arguments so far are a whole JSON
        value (the call is complete), else False and the fragments still to
        come are watched (:meth:`grew_whole`)."""
        text = "".join(self.parts)
        if self.stream is None:
            try:
                orjson.loads(text)
                return True
            except orjson.JSONDecodeError:
                pass
            watch = JSONStream(max_size=None)
            try:
                watch.feed(text)
                self.watch = watch
            except JSONStreamError:  # never JSON: complete when its choice finishes
                pass
        elif self.stream.done:
            return True
        self.superseded = True
        return False

    def grew_whole(self) -> bool:
        """After a fragment of a superseded call (its follower, if any, fed
        already): are the arguments whole JSON now?"""
        if self.stream is not None:
            return bool(self.stream.done)
        if self.watch is None:
            return False
        try:
            self.watch.feed(self.parts[-1])
        except JSONStreamError:
            self.watch = None
            return False
        return bool(self.watch.done)


class _Choice:
    __slots__ = ("index", "role", "content", "reasoning", "refusal", "calls", "open", "by_index",
                 "finish_reason")

    def __init__(self, index: int) -> None:
        self.index = index
        self.role: str | None = None
        self.content: list[str] = []
        self.reasoning: list[str] | None = None  # made on first use (most streams have none)
        self.refusal: list[str] | None = None
        self.calls: list[_Call] = []  # in order of first appearance
        self.open: dict[int, _Call] = {}  # those not complete yet, by position
        self.by_index: dict[int, _Call] = {}
        self.finish_reason: str | None = None

    def result(self, stop_reason: str | None) -> ChoiceResult:
        return ChoiceResult(
            self.index,
            self.role,
            "".join(self.content) if self.content else None,
            "".join(self.reasoning) if self.reasoning else None,
            "".join(self.refusal) if self.refusal else None,
            [c.result() for c in self.calls],
            self.finish_reason,
            stop_reason,
        )


class ChatAccumulator:
    """Collects :class:`Delta` tuples into a :class:`ChatResult`.

    >>> acc = ChatAccumulator(model="m")
    >>> acc.extend([Delta(0, role="assistant", content="Hel"), Delta(0, content="lo"),
    ...             Delta(0, role="assistant", finish_reason="stop")])
    >>> r = acc.result()
    >>> r.content, r.choices[0].role, r.finish_reason, r.model
    ('Hello', 'assistant', 'stop', 'm')

    ``model``, ``id`` and ``stop_reasons`` (the provider's own finish word
    per choice, which becomes ``ChoiceResult.stop_reason``) are not carried by
    deltas; set them from the decoder (``acc.model = decoder.model``,
    ``acc.stop_reasons = decoder.stop_reasons``) or let
    :func:`turbosse.accumulate` do it.

    With ``follow_arguments=True`` every tool call's arguments also go
    through a :class:`turbosse.JSONStream` as they arrive (linear time), for
    ``StreamHandler.on_tool_call_delta``; a call whose arguments stop being
    JSON is no longer followed (its text still accumulates in full).
    """

    def __init__(
        self, model: str | None = None, id: str | None = None, *, follow_arguments: bool = False
    ) -> None:
        self.model = model
        self.id = id
        # choice index -> provider's own finish word (decoder.stop_reasons)
        self.stop_reasons: dict[int, str] = {}
        self._follow = follow_arguments
        # followed calls' growth since the last drain: (choice, call, value, events)
        # made on first use, as most streams have no tool call: every object a
        # stream keeps is one more for the collector to scan at scale
        self._grown: list[tuple[int, _Call, Any, list[Any]]] | None = None
        self.usage: Usage | None = None
        self._choices: dict[int, _Choice] = {}
        self._closed: list[tuple[int, _Call]] | None = None  # calls finished since last drain

    def add(self, delta: Delta) -> None:
        """Fold one delta in."""
        index, role, content, reasoning, refusal, tool_calls, finish, usage = delta
        if usage is not None:
            self.usage = usage  # a later usage replaces; a missing one never does
            if (role is None and content is None and reasoning is None and refusal is None
                    and tool_calls is None and finish is None):
                return  # usage-only: no choice to create
        ch = self._choices.get(index)
        if ch is None:
            ch = self._choices[index] = _Choice(index)
        if role is not None and ch.role is None:
            ch.role = role
        if content is not None:
            ch.content.append(content)
        if reasoning is not None:
            if ch.reasoning is None:
                ch.reasoning = [reasoning]
            else:
                ch.reasoning.append(reasoning)
        if refusal is not None:
            if ch.refusal is None:
                ch.refusal = [refusal]
            else:
                ch.refusal.append(refusal)
        if tool_calls is not None:
            for tc in tool_calls:
                self._tool(ch, tc)
        if finish is not None:
            ch.finish_reason = finish
            self._close_all(ch)

    def extend(self, deltas: Any) -> None:
        """Fold in an iterable of deltas (e.g. what ``ChatDecoder.feed`` returned)."""
        if type(deltas) is list:  # the decoder's lists: content-only deltas skip add (compiled)
            fold_deltas(self._choices, deltas, self.add)
            return
        add = self.add
        for d in deltas:
            add(d)

    def _tool(self, ch: _Choice, tc: Any) -> None:
        index, id_, name, args = tc
        if index is not None:
            call = ch.by_index.get(index)
            if call is None or (id_ is not None and call.id is not None and id_ != call.id):
                # a new index, or a server reusing an index for a new call id
                call = self._new_call(ch, id_, name, indexed=True)
                ch.by_index[index] = call
        else:
            # no index (Gemini's OpenAI layer, Mistral): continue the last
            # call unless this fragment opens a new one: a new id, or a second
            # name (another name, or any name without an id)
            call = ch.calls[-1] if ch.calls else None
            if (call is None
                    or (id_ is not None and call.id is not None and id_ != call.id)
                    or (name is not None and call.name is not None and (id_ is None or name != call.name))):
                call = self._new_call(ch, id_, name, indexed=False)
        if call.id is None:
            call.id = id_
        if call.name is None:
            call.name = name
        if args:
            call.parts.append(args)
            if call.stream is not None:
                try:
                    events = call.stream.feed(args)
                except JSONStreamError:
                    call.stream = None  # not JSON: stop following
                else:
                    if self._grown is None:
                        self._grown = []
                    self._grown.append((ch.index, call, call.stream.value(), events))
            if call.superseded and not call.closed and call.grew_whole():
                self._close(ch, call)

    def _new_call(self, ch: _Choice, id_: str | None, name: str | None, *, indexed: bool) -> _Call:
        if ch.calls:
            last = ch.calls[-1]
            # a new call ends the previous one, unless calls go by index and
            # its arguments are not whole yet (more of them may follow)
            if not last.closed and (not indexed or last.supersede()):
                self._close(ch, last)
        call = _Call(id_, name, len(ch.calls), self._follow)
        ch.calls.append(call)
        ch.open[call.position] = call
        return call

    def _drain_grown(self) -> list[tuple[int, _Call, Any, list[Any]]]:
        """Followed calls whose arguments grew since the last drain: one
        entry per fragment, with the value after it and its JSONStream events."""
        grown, self._grown = self._grown, None
        return grown or []

    def _close_all(self, ch: _Choice) -> None:
        for call in list(ch.open.values()):  # in order of position
            self._close(ch, call)

    def _close(self, ch: _Choice, call: _Call) -> None:
        if not call.closed:
            call.closed = True
            call.watch = None
            del ch.open[call.position]
            if self._closed is None:
                self._closed = []
            self._closed.append((ch.index, call))

    def _drain_completed(self, final: bool = False) -> list[tuple[int, ToolCall]]:
        """Tool calls finished since the last drain (a later call started and
        its arguments are whole JSON, or the choice finished), in the order
        they finished; with ``final``, every call still open too."""
        if final:
            for ch in self._choices.values():
                self._close_all(ch)
        if not self._closed:
            return []
        done = [(i, c.result()) for i, c in self._closed]
        self._closed = None
        return done

    def result(self) -> ChatResult:
        """The result so far (call it at any time; it does not consume)."""
        return ChatResult(
            [self._choices[i].result(self.stop_reasons.get(i)) for i in sorted(self._choices)],
            self.usage,
            self.model,
            self.id,
        )
