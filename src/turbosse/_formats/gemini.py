"""Google's formats mapped onto Delta: Gemini's native
``streamGenerateContent?alt=sse`` (``gemini``) and the Gemini Interactions API
(``gemini-interactions``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._delta import Delta, ToolCallDelta, Usage
from ._common import add, attach_usage, int_or_none, json_text, put_text, text_or_none

if TYPE_CHECKING:
    from ._state import FormatState

GEMINI_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "MALFORMED_FUNCTION_CALL": "tool_calls",
}

_INTERACTIONS_FINISH = {"completed": "stop"}


def decode(st: FormatState, event_type: str, obj: dict[str, Any], out: list[Any]) -> None:
    st.meta(obj.get("modelVersion"), obj.get("responseId"))
    start = len(out)
    candidates = obj.get("candidates")
    for pos, cand in enumerate(candidates if type(candidates) is list else ()):
        if isinstance(cand, dict):
            _candidate(st, pos, cand, out)
    u = obj.get("usageMetadata")
    if isinstance(u, dict):
        completion = add(int_or_none(u.get("candidatesTokenCount")),
                         int_or_none(u.get("thoughtsTokenCount")))
        attach_usage(out, start, Usage(int_or_none(u.get("promptTokenCount")), completion,
                                       int_or_none(u.get("totalTokenCount"))))


def _candidate(st: FormatState, pos: int, cand: dict[str, Any], out: list[Any]) -> None:
    index = int_or_none(cand.get("index"))
    if index is None:
        index = pos
    content = cand.get("content")
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCallDelta] = []
    role = None
    if isinstance(content, dict):
        role = "assistant" if content.get("role") == "model" else text_or_none(content.get("role"))
        parts = content.get("parts")
        for part in parts if type(parts) is list else ():
            if not isinstance(part, dict):
                continue
            text = text_or_none(part.get("text"))
            if text is not None:
                (thoughts if part.get("thought") is True else texts).append(text)
            call = part.get("functionCall")
            if isinstance(call, dict):
                # Gemini sends each call whole; number them so that two calls
                # of one function stay two calls
                args = call.get("args")
                calls.append(ToolCallDelta(
                    st.gemini_calls, text_or_none(call.get("id")),
                    text_or_none(call.get("name")),
                    json_text(args if args is not None else {})))
                st.gemini_calls += 1
    finish = st.finish(index, cand.get("finishReason"), GEMINI_FINISH)
    if texts or thoughts or calls or finish is not None or role is not None:
        out.append(Delta(index, role, "".join(texts) or None, "".join(thoughts) or None,
                         None, tuple(calls) or None, finish, None))


def decode_interactions(st: FormatState, event_type: str, obj: dict[str, Any],
                        out: list[Any]) -> None:
    t = obj.get("event_type")
    start = len(out)
    if t == "step.delta":
        d = obj.get("delta")
        if isinstance(d, dict):
            text = d.get("text")
            if text is None:  # thought steps: {"content": {"text": ...}}
                c = d.get("content")
                text = c.get("text") if isinstance(c, dict) else None
            thought = st.steps.get(int_or_none(obj.get("index"))) == "thought"
            put_text(out, text, "reasoning" if thought else "content")
    elif t == "step.start":
        step = obj.get("step")
        st.steps[int_or_none(obj.get("index"))] = step.get("type") if isinstance(step, dict) else None
    elif t in ("interaction.created", "interaction.completed"):
        inter = obj.get("interaction")
        if isinstance(inter, dict):
            st.meta(inter.get("model"), inter.get("id"))
            if t == "interaction.completed":
                st.done = True
                status = inter.get("status")
                out.append(Delta(0, finish_reason=st.finish(0, status, _INTERACTIONS_FINISH)
                                 if type(status) is str else status))
                _interactions_usage(inter.get("usage"), out, start)
                return
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        _interactions_usage(meta.get("usage"), out, start)


def _interactions_usage(u: Any, out: list[Any], start: int) -> None:
    if isinstance(u, dict):
        completion = add(int_or_none(u.get("total_output_tokens")),
                         int_or_none(u.get("total_thought_tokens")))
        attach_usage(out, start, Usage(int_or_none(u.get("total_input_tokens")), completion,
                                       int_or_none(u.get("total_tokens"))))
