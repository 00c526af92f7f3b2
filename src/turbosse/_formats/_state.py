"""The per-stream state of the decoder for the non-OpenAI formats, and the
dispatch of one decoded object to its format's mapping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import anthropic, cohere, gemini, openai_responses, replicate, watsonx
from ._common import ANTHROPIC, COHERE, GEMINI, INTERACTIONS, RESPONSES, WATSONX

_DECODERS: dict[int, Callable[[FormatState, str, dict[str, Any], list[Any]], None]] = {
    RESPONSES: openai_responses.decode,
    ANTHROPIC: anthropic.decode,
    GEMINI: gemini.decode,
    COHERE: cohere.decode,
    WATSONX: watsonx.decode,
    INTERACTIONS: gemini.decode_interactions,
}


class FormatState:
    """Per-stream state of the decoder: metadata and what the typed-event
    formats need to remember between events."""

    __slots__ = ("model", "id", "done", "start_usage", "saw_tool", "gemini_calls",
                 "_blocks", "_empty_tools", "_steps", "_started", "_finished", "_stop_reasons")

    def __init__(self) -> None:
        self.model: str | None = None
        self.id: str | None = None
        self.done = False  # the format's own end marker was seen
        self.start_usage: tuple[int | None, int | None] = (None, None)
        self.saw_tool = False  # Responses: a function call was streamed
        self.gemini_calls = 0  # Gemini: function calls seen, to number them
        # The containers below are made on first use: most streams need few
        # of them, and every object a stream keeps is one more for the garbage
        # collector to scan while thousands of streams are in flight.
        self._blocks: dict[int | None, str] | None = None
        self._empty_tools: set[int | None] | None = None
        self._steps: dict[Any, Any] | None = None
        self._started: set[Any] | None = None
        self._finished: set[Any] | None = None
        self._stop_reasons: dict[int, str] | None = None

    @property
    def blocks(self) -> dict[int | None, str]:
        """Anthropic: content block index -> block type."""
        if self._blocks is None:
            self._blocks = {}
        return self._blocks

    @property
    def empty_tools(self) -> set[int | None]:
        """Anthropic: the tool_use blocks with no input yet."""
        if self._empty_tools is None:
            self._empty_tools = set()
        return self._empty_tools

    @property
    def steps(self) -> dict[Any, Any]:
        """Gemini Interactions: step index -> step type."""
        if self._steps is None:
            self._steps = {}
        return self._steps

    @property
    def started(self) -> set[Any]:
        """The choice indices that produced a delta (the stream is complete
        when every started choice finished)."""
        if self._started is None:
            self._started = set()
        return self._started

    @property
    def finished(self) -> set[Any]:
        """The choice indices that got a finish reason."""
        if self._finished is None:
            self._finished = set()
        return self._finished

    @property
    def stop_reasons(self) -> dict[int, str]:
        """Choice index -> the provider's own finish word, before normalising."""
        if self._stop_reasons is None:
            self._stop_reasons = {}
        return self._stop_reasons

    def all_finished(self) -> bool:
        """Some choice started, and every one that did has a finish reason."""
        started = self._started
        return started is not None and bool(started) and started <= self.finished

    def track(self, out: list[Any], start: int) -> None:
        """Note the choices the deltas ``out[start:]`` start or finish (a
        delta carrying only usage starts nothing)."""
        for i in range(start, len(out)):
            d = out[i]
            if d.finish_reason is not None:
                self.started.add(d.index)
                self.finished.add(d.index)
            elif not (d.usage is not None and d.role is None and d.content is None
                      and d.reasoning is None and d.refusal is None and d.tool_calls is None):
                self.started.add(d.index)

    def finish(self, index: int, word: Any, table: dict[str, str]) -> str | None:
        """The normalised finish reason for the provider's ``word`` (None if
        it is not a string); the word itself is kept in ``stop_reasons``."""
        if type(word) is not str:
            return None
        self.stop_reasons[index] = word
        return table.get(word, word)

    def meta(self, model: Any, id_: Any) -> None:
        if self.model is None and type(model) is str and model:
            self.model = model
        if self.id is None and type(id_) is str and id_:
            self.id = id_

    def decode(self, fmt: int, event_type: str, obj: dict[str, Any], out: list[Any]) -> None:
        """Map one decoded object of format ``fmt`` onto deltas in ``out``.
        The choices its deltas start or finish are noted after it is mapped,
        also when it ends the stream with the provider's error; not when the
        mapping itself fails (the caller drops, or skips, the event)."""
        start = len(out)
        decoder = _DECODERS.get(fmt)
        try:
            if decoder is not None:
                decoder(self, event_type, obj, out)
        except (TypeError, RecursionError):
            raise
        except BaseException:
            self.track(out, start)
            raise
        self.track(out, start)

    def replicate(self, event_type: str, payload: bytes, out: list[Any]) -> None:
        """Map one Replicate event (raw text, not JSON) onto deltas in ``out``."""
        replicate.decode(self, event_type, payload, out)
