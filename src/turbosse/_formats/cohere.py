"""Cohere v2 chat (``cohere``) mapped onto Delta."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._delta import Delta, ToolCallDelta
from ._common import int_or_none, put_text, text_or_none, usage

if TYPE_CHECKING:
    from ._state import FormatState

COHERE_FINISH = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR": "error",
    "TIMEOUT": "error",
}


def decode(st: FormatState, event_type: str, obj: dict[str, Any], out: list[Any]) -> None:
    t = obj.get("type")
    d = obj.get("delta")
    msg = d.get("message") if isinstance(d, dict) else None
    if not isinstance(msg, dict):
        msg = {}
    if t == "content-delta":
        c = msg.get("content")
        put_text(out, c.get("text") if isinstance(c, dict) else None)
    elif t == "tool-plan-delta":
        # the model's plan before calling tools: reasoning, not answer
        put_text(out, msg.get("tool_plan"), "reasoning")
    elif t in ("tool-call-start", "tool-call-delta"):
        call = msg.get("tool_calls")
        if isinstance(call, dict):
            fn = call.get("function")
            fn = fn if isinstance(fn, dict) else {}
            args = fn.get("arguments")
            tc = ToolCallDelta(int_or_none(obj.get("index")), text_or_none(call.get("id")),
                               text_or_none(fn.get("name")),
                               args if type(args) is str and args else None)
            if tc.id is not None or tc.name is not None or tc.arguments is not None:
                out.append(Delta(0, tool_calls=(tc,)))
    elif t == "message-start":
        st.meta(None, obj.get("id"))
        role = text_or_none(msg.get("role"))
        if role is not None:
            out.append(Delta(0, role=role))
    elif t == "message-end":
        st.done = True
        d = d if isinstance(d, dict) else {}
        finish = st.finish(0, d.get("finish_reason"), COHERE_FINISH)
        u = d.get("usage")
        counts = None
        if isinstance(u, dict):
            tokens = u.get("tokens")
            if not isinstance(tokens, dict):
                tokens = u.get("billed_units")
            if isinstance(tokens, dict):
                counts = usage(int_or_none(tokens.get("input_tokens")),
                               int_or_none(tokens.get("output_tokens")))
        if finish is not None or counts is not None:
            out.append(Delta(0, finish_reason=finish, usage=counts))
