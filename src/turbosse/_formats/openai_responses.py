"""The OpenAI Responses API (``openai-responses``) mapped onto Delta."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._delta import Delta, ToolCallDelta, Usage
from ._common import int_or_none, make_stream_error, put_text, text_or_none

if TYPE_CHECKING:
    from ._state import FormatState

RESPONSES_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}
_TEXT_KINDS = {
    "response.output_text.delta": "content",
    "response.reasoning_summary_text.delta": "reasoning",
    "response.reasoning_text.delta": "reasoning",
    "response.refusal.delta": "refusal",
}


def decode(st: FormatState, event_type: str, obj: dict[str, Any], out: list[Any]) -> None:
    t = obj.get("type")
    kind = _TEXT_KINDS.get(t) if type(t) is str else None
    if kind is not None:
        put_text(out, obj.get("delta"), kind)
    elif t == "response.function_call_arguments.delta":
        args = obj.get("delta")
        if type(args) is str and args:
            tc = ToolCallDelta(int_or_none(obj.get("output_index")), None, None, args)
            out.append(Delta(0, tool_calls=(tc,)))
    elif t == "response.output_item.added":
        item = obj.get("item")
        if not isinstance(item, dict):
            return
        itype = item.get("type")
        if itype == "message":
            role = text_or_none(item.get("role"))
            if role is not None:
                out.append(Delta(0, role=role))
        elif itype == "function_call":
            # the call's id for the reply is call_id (id is the item's id)
            st.saw_tool = True
            args = item.get("arguments")
            tc = ToolCallDelta(
                int_or_none(obj.get("output_index")),
                text_or_none(item.get("call_id")) or text_or_none(item.get("id")),
                text_or_none(item.get("name")),
                args if type(args) is str and args else None,
            )
            out.append(Delta(0, tool_calls=(tc,)))
    elif t in ("response.created", "response.in_progress"):
        resp = obj.get("response")
        if isinstance(resp, dict):
            st.meta(resp.get("model"), resp.get("id"))
    elif t in ("response.completed", "response.incomplete", "response.failed"):
        _end(st, t, obj, out)


def _end(st: FormatState, t: str, obj: dict[str, Any], out: list[Any]) -> None:
    resp = obj.get("response")
    if not isinstance(resp, dict):
        resp = {}
    st.meta(resp.get("model"), resp.get("id"))
    st.done = True
    if t == "response.failed":
        raise make_stream_error(resp if resp.get("error") else obj, [])
    status = resp.get("status")
    if t == "response.completed":
        finish: str | None = "tool_calls" if st.saw_tool else "stop"
        st.stop_reasons[0] = status if type(status) is str and status else "completed"
    else:
        details = resp.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        finish = "length"
        if type(reason) is str:
            finish = st.finish(0, reason, RESPONSES_INCOMPLETE)
        else:
            st.stop_reasons[0] = status if type(status) is str and status else "incomplete"
    u = resp.get("usage")
    counts = None
    if isinstance(u, dict):
        counts = Usage(int_or_none(u.get("input_tokens")), int_or_none(u.get("output_tokens")),
                       int_or_none(u.get("total_tokens")))
    out.append(Delta(0, finish_reason=finish, usage=counts))
