"""Anthropic Messages (``anthropic``) mapped onto Delta."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._delta import Delta, ToolCallDelta, Usage
from ._common import int_or_none, json_text, put_text, text_or_none, usage

if TYPE_CHECKING:
    from ._state import FormatState

ANTHROPIC_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def decode(st: FormatState, event_type: str, obj: dict[str, Any], out: list[Any]) -> None:
    t = obj.get("type", event_type)
    if t == "content_block_delta":
        d = obj.get("delta")
        if not isinstance(d, dict):
            return
        dt = d.get("type")
        if dt == "text_delta":
            put_text(out, d.get("text"))
        elif dt == "thinking_delta":
            put_text(out, d.get("thinking"), "reasoning")
        elif dt == "input_json_delta":
            index = int_or_none(obj.get("index"))
            part = d.get("partial_json")
            # only client tool calls; server tools (web search, code
            # execution) ran on the server and are not the caller's to run
            if st.blocks.get(index) == "tool_use" and type(part) is str and part:
                st.empty_tools.discard(index)
                out.append(Delta(0, tool_calls=(ToolCallDelta(index, None, None, part),)))
        # signature_delta, citations_delta: metadata, not text
    elif t == "content_block_start":
        _block_start(st, obj, out)
    elif t == "content_block_stop":
        index = int_or_none(obj.get("index"))
        if index in st.empty_tools:
            # a tool that takes no arguments streams no JSON at all; its
            # input is the empty object, as the Messages API defines
            st.empty_tools.discard(index)
            out.append(Delta(0, tool_calls=(ToolCallDelta(index, None, None, "{}"),)))
    elif t == "message_start":
        msg = obj.get("message")
        if not isinstance(msg, dict):
            return
        st.meta(msg.get("model"), msg.get("id"))
        u = msg.get("usage")
        counts = _usage(st, u) if isinstance(u, dict) else None
        out.append(Delta(0, role=text_or_none(msg.get("role")) or "assistant", usage=counts))
    elif t == "message_delta":
        d = obj.get("delta")
        finish = None
        if isinstance(d, dict):
            finish = st.finish(0, d.get("stop_reason"), ANTHROPIC_FINISH)
        u = obj.get("usage")
        counts = _usage(st, u) if isinstance(u, dict) else None
        if finish is not None or counts is not None:
            out.append(Delta(0, finish_reason=finish, usage=counts))
    elif t == "message_stop":
        st.done = True


def _block_start(st: FormatState, obj: dict[str, Any], out: list[Any]) -> None:
    index = int_or_none(obj.get("index"))
    block = obj.get("content_block")
    if not isinstance(block, dict):
        return
    btype = block.get("type")
    st.blocks[index] = btype if type(btype) is str else ""
    if btype == "text":
        put_text(out, block.get("text"))
    elif btype == "thinking":
        put_text(out, block.get("thinking"), "reasoning")
    elif btype == "tool_use":
        given = block.get("input")
        # input is {} when it will be streamed; a non-empty object
        # means the server sent it whole
        args = json_text(given) if isinstance(given, dict) and given else None
        if args is None:
            st.empty_tools.add(index)
        tc = ToolCallDelta(index, text_or_none(block.get("id")),
                           text_or_none(block.get("name")), args)
        out.append(Delta(0, tool_calls=(tc,)))


def _usage(st: FormatState, u: dict[str, Any]) -> Usage:
    # message_delta's usage is cumulative but may omit input_tokens: keep
    # the ones message_start gave. Cache reads/writes count as input.
    start_in, start_out = st.start_usage
    inp = u.get("input_tokens")
    if type(inp) is int:
        inp = inp + (int_or_none(u.get("cache_read_input_tokens")) or 0) + (
            int_or_none(u.get("cache_creation_input_tokens")) or 0)
    else:
        inp = start_in
    outp = int_or_none(u.get("output_tokens"))
    if outp is None:
        outp = start_out
    st.start_usage = (inp, outp)
    return usage(inp, outp)
