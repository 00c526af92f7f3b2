"""Wire formats other than OpenAI chat, mapped onto Delta; shared by both twins.

OpenAI chat completions (and the legacy completions shape) is the hot path and
each decoder twin has its own copy of it. The other formats live here once, as
methods of :class:`FormatState` that take an already decoded JSON object (or,
for Replicate, the raw text), so the twins cannot disagree on them: the
Responses API (``openai-responses``), Anthropic Messages (``anthropic``),
Gemini's native ``streamGenerateContent?alt=sse`` (``gemini``), the Gemini
Interactions API (``gemini-interactions``), Cohere v2 chat (``cohere``), IBM
watsonx text generation (``watsonx``) and Replicate predictions
(``replicate``). Each needs a little per-stream state (the model, the type of
each content block, usage seen at the start), kept here too.

Finish reasons are mapped to OpenAI's vocabulary (``stop``, ``length``,
``tool_calls``, ``content_filter``) so that one accumulator serves all;
values with no OpenAI equivalent pass through unchanged.
"""

from __future__ import annotations

from typing import Any

import orjson

from ._delta import Delta, ToolCallDelta, Usage
from ._errors import StreamError

__all__ = ["FORMATS", "FormatState", "detect", "make_stream_error", "text_or_none"]

# format name -> format code (the compiled twin switches on the int)
AUTO, OPENAI, RESPONSES, ANTHROPIC, GEMINI, COHERE, WATSONX, INTERACTIONS, REPLICATE = range(9)
FORMATS = {
    "auto": AUTO,
    "openai-chat": OPENAI,
    # legacy /v1/completions chunks (choices[].text) decode on the same path
    "openai-completions": OPENAI,
    "openai-responses": RESPONSES,
    "anthropic": ANTHROPIC,
    "gemini": GEMINI,
    "cohere": COHERE,
    "watsonx": WATSONX,
    "gemini-interactions": INTERACTIONS,
    "replicate": REPLICATE,
}
FORMAT_NAMES = {OPENAI: "openai-chat", RESPONSES: "openai-responses", ANTHROPIC: "anthropic",
              GEMINI: "gemini", COHERE: "cohere", WATSONX: "watsonx",
              INTERACTIONS: "gemini-interactions", REPLICATE: "replicate"}

_ANTHROPIC_TYPES = frozenset(
    ("message_start", "content_block_start", "content_block_delta", "content_block_stop",
     "message_delta", "message_stop", "ping")
)
_COHERE_TYPES = frozenset(
    ("message-start", "content-start", "content-delta", "content-end", "tool-plan-delta",
     "tool-call-start", "tool-call-delta", "tool-call-end", "citation-start", "citation-end",
     "message-end")
)

ANTHROPIC_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
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
COHERE_FINISH = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR": "error",
    "TIMEOUT": "error",
}
RESPONSES_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}
WATSONX_FINISH = {"eos_token": "stop", "stop_sequence": "stop", "max_tokens": "length",
                  "token_limit": "length", "time_limit": "length", "cancelled": "cancelled",
                  "error": "error"}


def text_or_none(value: Any) -> str | None:
    """A text fragment, or None: an empty or non-string value carries nothing."""
    return value if type(value) is str and value else None


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _add(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else a + b


def detect(event_type: str, obj: dict[str, Any]) -> int:
    """The format of a stream, from its first JSON object (AUTO if unknown)."""
    t = obj.get("type")
    if type(t) is str:
        if t.startswith("response."):
            return RESPONSES
        if t in _ANTHROPIC_TYPES:
            return ANTHROPIC
        if t in _COHERE_TYPES:
            return COHERE
    if "choices" in obj:
        return OPENAI
    if "candidates" in obj or "usageMetadata" in obj:
        return GEMINI
    if "results" in obj and "model_id" in obj:
        return WATSONX
    et = obj.get("event_type")
    if type(et) is str and et.startswith(("interaction.", "step.")):
        return INTERACTIONS
    if event_type in _ANTHROPIC_TYPES:
        return ANTHROPIC
    return AUTO


def is_error(event_type: str, obj: dict[str, Any]) -> bool:
    """A provider error object: top-level ``error`` (OpenAI, vLLM, OpenRouter,
    Gemini), ``event: error`` (Anthropic, Groq), ``type: error`` (Anthropic,
    Responses API)."""
    return obj.get("error") is not None or event_type == "error" or obj.get("type") == "error"


def make_stream_error(obj: dict[str, Any], deltas: list[Any]) -> StreamError:
    """StreamError from a provider error payload (any of the shapes above)."""
    err = obj.get("error")
    if err is None:
        err = obj  # Responses API "error" event: code/message at top level
    if isinstance(err, dict):
        message = err.get("message")
        if message is None:
            message = err.get("detail")  # FastAPI-style servers, Replicate
        etype = err.get("type") if err is not obj else None
        if etype is None:
            etype = err.get("status")  # Gemini: {"code": 400, "status": "INVALID_ARGUMENT"}
        code = err.get("code")
    else:
        message, etype, code = readable(err), None, None
    return StreamError(
        message if message is None or type(message) is str else readable(message),
        etype if etype is None or type(etype) is str else readable(etype),
        code if code is None or type(code) in (int, str) else readable(code),
        err,
        deltas,
    )


def readable(value: Any) -> str:
    """A JSON value of an error field as text: ``str()`` of it, or a
    placeholder for one nested too deeply for that (a hostile server's
    thousand-level list must not turn into a RecursionError)."""
    try:
        return str(value)
    except RecursionError:
        return f"<a {type(value).__name__} nested too deeply to show>"


def json_text(value: Any) -> str:
    """Arguments some servers send as a JSON object rather than a string."""
    return orjson.dumps(value).decode("utf-8")


class FormatState:
    """Per-stream state of the decoder: metadata and what the typed-event
    formats need to remember between events."""

    __slots__ = ("model", "id", "done", "start_usage", "blocks", "empty_tools", "saw_tool",
                 "gemini_calls", "steps", "started", "finished")

    def __init__(self) -> None:
        self.model: str | None = None
        self.id: str | None = None
        self.done = False  # the format's own end marker was seen
        self.start_usage: tuple[int | None, int | None] = (None, None)
        self.blocks: dict[int | None, str] = {}  # Anthropic content block index -> type
        self.empty_tools: set[int | None] = set()  # Anthropic tool_use blocks with no input yet
        self.saw_tool = False  # Responses: a function call was streamed
        self.gemini_calls = 0  # Gemini: function calls seen, to number them
        self.steps: dict[Any, Any] = {}  # Gemini Interactions: step index -> step type
        # choice indices that produced a delta, and those that got a finish
        # reason: the stream is complete when every started choice finished
        self.started: set[Any] = set()
        self.finished: set[Any] = set()

    def all_finished(self) -> bool:
        """Some choice started, and every one that did has a finish reason."""
        return bool(self.started) and self.started <= self.finished

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

    def meta(self, model: Any, id_: Any) -> None:
        if self.model is None and type(model) is str and model:
            self.model = model
        if self.id is None and type(id_) is str and id_:
            self.id = id_

    def decode(self, fmt: int, event_type: str, obj: dict[str, Any], out: list[Any]) -> None:
        start = len(out)
        try:
            self._decode(fmt, event_type, obj, out)
        finally:
            self.track(out, start)

    def _decode(self, fmt: int, event_type: str, obj: dict[str, Any], out: list[Any]) -> None:
        if fmt == RESPONSES:
            self.responses(obj, out)
        elif fmt == ANTHROPIC:
            self.anthropic(event_type, obj, out)
        elif fmt == GEMINI:
            self.gemini(obj, out)
        elif fmt == COHERE:
            self.cohere(obj, out)
        elif fmt == WATSONX:
            self.watsonx(obj, out)
        elif fmt == INTERACTIONS:
            self.interactions(obj, out)

    # -- OpenAI Responses API ------------------------------------------------

    def responses(self, obj: dict[str, Any], out: list[Any]) -> None:
        t = obj.get("type")
        if t == "response.output_text.delta":
            text = text_or_none(obj.get("delta"))
            if text is not None:
                out.append(Delta(0, content=text))
        elif t in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            text = text_or_none(obj.get("delta"))
            if text is not None:
                out.append(Delta(0, reasoning=text))
        elif t == "response.refusal.delta":
            text = text_or_none(obj.get("delta"))
            if text is not None:
                out.append(Delta(0, refusal=text))
        elif t == "response.function_call_arguments.delta":
            args = obj.get("delta")
            if type(args) is str and args:
                tc = ToolCallDelta(_int(obj.get("output_index")), None, None, args)
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
                self.saw_tool = True
                args = item.get("arguments")
                tc = ToolCallDelta(
                    _int(obj.get("output_index")),
                    text_or_none(item.get("call_id")) or text_or_none(item.get("id")),
                    text_or_none(item.get("name")),
                    args if type(args) is str and args else None,
                )
                out.append(Delta(0, tool_calls=(tc,)))
        elif t in ("response.created", "response.in_progress"):
            resp = obj.get("response")
            if isinstance(resp, dict):
                self.meta(resp.get("model"), resp.get("id"))
        elif t in ("response.completed", "response.incomplete", "response.failed"):
            resp = obj.get("response")
            if not isinstance(resp, dict):
                resp = {}
            self.meta(resp.get("model"), resp.get("id"))
            self.done = True
            if t == "response.failed":
                raise make_stream_error(resp if resp.get("error") else obj, [])
            if t == "response.completed":
                finish: str | None = "tool_calls" if self.saw_tool else "stop"
            else:
                details = resp.get("incomplete_details")
                reason = details.get("reason") if isinstance(details, dict) else None
                finish = "length"
                if type(reason) is str:
                    finish = RESPONSES_INCOMPLETE.get(reason, reason)
            u = resp.get("usage")
            usage = None
            if isinstance(u, dict):
                usage = Usage(_int(u.get("input_tokens")), _int(u.get("output_tokens")),
                              _int(u.get("total_tokens")))
            out.append(Delta(0, finish_reason=finish, usage=usage))

    # -- Anthropic Messages --------------------------------------------------

    def anthropic(self, event_type: str, obj: dict[str, Any], out: list[Any]) -> None:
        t = obj.get("type", event_type)
        if t == "content_block_delta":
            d = obj.get("delta")
            if not isinstance(d, dict):
                return
            dt = d.get("type")
            if dt == "text_delta":
                text = text_or_none(d.get("text"))
                if text is not None:
                    out.append(Delta(0, content=text))
            elif dt == "thinking_delta":
                text = text_or_none(d.get("thinking"))
                if text is not None:
                    out.append(Delta(0, reasoning=text))
            elif dt == "input_json_delta":
                index = _int(obj.get("index"))
                part = d.get("partial_json")
                # only client tool calls; server tools (web search, code
                # execution) ran on the server and are not the caller's to run
                if self.blocks.get(index) == "tool_use" and type(part) is str and part:
                    self.empty_tools.discard(index)
                    out.append(Delta(0, tool_calls=(ToolCallDelta(index, None, None, part),)))
            # signature_delta, citations_delta: metadata, not text
        elif t == "content_block_start":
            index = _int(obj.get("index"))
            block = obj.get("content_block")
            if not isinstance(block, dict):
                return
            btype = block.get("type")
            self.blocks[index] = btype if type(btype) is str else ""
            if btype == "text":
                text = text_or_none(block.get("text"))
                if text is not None:
                    out.append(Delta(0, content=text))
            elif btype == "thinking":
                text = text_or_none(block.get("thinking"))
                if text is not None:
                    out.append(Delta(0, reasoning=text))
            elif btype == "tool_use":
                given = block.get("input")
                # input is {} when it will be streamed; a non-empty object
                # means the server sent it whole
                args = json_text(given) if isinstance(given, dict) and given else None
                if args is None:
                    self.empty_tools.add(index)
                tc = ToolCallDelta(index, text_or_none(block.get("id")),
                                   text_or_none(block.get("name")), args)
                out.append(Delta(0, tool_calls=(tc,)))
        elif t == "content_block_stop":
            index = _int(obj.get("index"))
            if index in self.empty_tools:
                # a tool that takes no arguments streams no JSON at all; its
                # input is the empty object, as the Messages API defines
                self.empty_tools.discard(index)
                out.append(Delta(0, tool_calls=(ToolCallDelta(index, None, None, "{}"),)))
        elif t == "message_start":
            msg = obj.get("message")
            if not isinstance(msg, dict):
                return
            self.meta(msg.get("model"), msg.get("id"))
            u = msg.get("usage")
            usage = None
            if isinstance(u, dict):
                usage = self._anthropic_usage(u)
            out.append(Delta(0, role=text_or_none(msg.get("role")) or "assistant", usage=usage))
        elif t == "message_delta":
            d = obj.get("delta")
            finish = None
            if isinstance(d, dict):
                reason = d.get("stop_reason")
                if type(reason) is str:
                    finish = ANTHROPIC_FINISH.get(reason, reason)
            u = obj.get("usage")
            usage = self._anthropic_usage(u) if isinstance(u, dict) else None
            if finish is not None or usage is not None:
                out.append(Delta(0, finish_reason=finish, usage=usage))
        elif t == "message_stop":
            self.done = True

    def _anthropic_usage(self, u: dict[str, Any]) -> Usage:
        # message_delta's usage is cumulative but may omit input_tokens: keep
        # the ones message_start gave. Cache reads/writes count as input.
        start_in, start_out = self.start_usage
        inp = u.get("input_tokens")
        if type(inp) is int:
            inp = inp + (_int(u.get("cache_read_input_tokens")) or 0) + (
                _int(u.get("cache_creation_input_tokens")) or 0)
        else:
            inp = start_in
        out = _int(u.get("output_tokens"))
        if out is None:
            out = start_out
        self.start_usage = (inp, out)
        return Usage(inp, out, _add(inp, out) if inp is not None and out is not None else None)

    # -- Gemini native --------------------------------------------------------

    def gemini(self, obj: dict[str, Any], out: list[Any]) -> None:
        self.meta(obj.get("modelVersion"), obj.get("responseId"))
        start = len(out)
        candidates = obj.get("candidates")
        if type(candidates) is list:
            for pos, cand in enumerate(candidates):
                if not isinstance(cand, dict):
                    continue
                index = _int(cand.get("index"))
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
                            # Gemini sends each call whole; number them so
                            # that two calls of one function stay two calls
                            args = call.get("args")
                            calls.append(ToolCallDelta(
                                self.gemini_calls, text_or_none(call.get("id")),
                                text_or_none(call.get("name")),
                                json_text(args if args is not None else {})))
                            self.gemini_calls += 1
                reason = cand.get("finishReason")
                finish = GEMINI_FINISH.get(reason, reason) if type(reason) is str else None
                if texts or thoughts or calls or finish is not None or role is not None:
                    out.append(Delta(index, role, "".join(texts) or None, "".join(thoughts) or None,
                                     None, tuple(calls) or None, finish, None))
        u = obj.get("usageMetadata")
        if isinstance(u, dict):
            completion = _add(_int(u.get("candidatesTokenCount")), _int(u.get("thoughtsTokenCount")))
            usage = Usage(_int(u.get("promptTokenCount")), completion, _int(u.get("totalTokenCount")))
            _attach_usage(out, start, usage)

    # -- Cohere v2 chat -------------------------------------------------------

    def cohere(self, obj: dict[str, Any], out: list[Any]) -> None:
        t = obj.get("type")
        d = obj.get("delta")
        msg = d.get("message") if isinstance(d, dict) else None
        if not isinstance(msg, dict):
            msg = {}
        if t == "content-delta":
            c = msg.get("content")
            text = text_or_none(c.get("text")) if isinstance(c, dict) else None
            if text is not None:
                out.append(Delta(0, content=text))
        elif t == "tool-plan-delta":
            # the model's plan before calling tools: reasoning, not answer
            text = text_or_none(msg.get("tool_plan"))
            if text is not None:
                out.append(Delta(0, reasoning=text))
        elif t in ("tool-call-start", "tool-call-delta"):
            call = msg.get("tool_calls")
            if isinstance(call, dict):
                fn = call.get("function")
                fn = fn if isinstance(fn, dict) else {}
                args = fn.get("arguments")
                tc = ToolCallDelta(_int(obj.get("index")), text_or_none(call.get("id")),
                                   text_or_none(fn.get("name")),
                                   args if type(args) is str and args else None)
                if tc.id is not None or tc.name is not None or tc.arguments is not None:
                    out.append(Delta(0, tool_calls=(tc,)))
        elif t == "message-start":
            self.meta(None, obj.get("id"))
            role = text_or_none(msg.get("role"))
            if role is not None:
                out.append(Delta(0, role=role))
        elif t == "message-end":
            self.done = True
            d = d if isinstance(d, dict) else {}
            reason = d.get("finish_reason")
            finish = COHERE_FINISH.get(reason, reason) if type(reason) is str else None
            u = d.get("usage")
            usage = None
            if isinstance(u, dict):
                tokens = u.get("tokens")
                if not isinstance(tokens, dict):
                    tokens = u.get("billed_units")
                if isinstance(tokens, dict):
                    inp, outp = _int(tokens.get("input_tokens")), _int(tokens.get("output_tokens"))
                    usage = Usage(inp, outp, _add(inp, outp) if inp is not None and outp is not None else None)
            if finish is not None or usage is not None:
                out.append(Delta(0, finish_reason=finish, usage=usage))

    # -- IBM watsonx text generation ------------------------------------------

    def watsonx(self, obj: dict[str, Any], out: list[Any]) -> None:
        self.meta(obj.get("model_id"), None)
        results = obj.get("results")
        if type(results) is list and results and isinstance(results[0], dict):
            # input_token_count is only reported by the first event
            count = _int(results[0].get("input_token_count"))
            if count:
                self.start_usage = (count, None)
        for pos, res in enumerate(results if type(results) is list else ()):
            if not isinstance(res, dict):
                continue
            reason = res.get("stop_reason")
            finish = (WATSONX_FINISH.get(reason, reason)
                      if type(reason) is str and reason != "not_finished" else None)
            text = text_or_none(res.get("generated_text"))
            usage = None
            if finish is not None:
                inp, outp = self.start_usage[0], _int(res.get("generated_token_count"))
                usage = Usage(inp, outp, _add(inp, outp) if inp is not None and outp is not None else None)
            if text is not None or finish is not None:
                out.append(Delta(pos, None, text, None, None, None, finish, usage))


    # -- Gemini Interactions API ----------------------------------------------

    def interactions(self, obj: dict[str, Any], out: list[Any]) -> None:
        t = obj.get("event_type")
        start = len(out)
        if t == "step.delta":
            d = obj.get("delta")
            if isinstance(d, dict):
                text = d.get("text")
                if text is None:  # thought steps: {"content": {"text": ...}}
                    c = d.get("content")
                    text = c.get("text") if isinstance(c, dict) else None
                text = text_or_none(text)
                if text is not None:
                    if self.steps.get(_int(obj.get("index"))) == "thought":
                        out.append(Delta(0, reasoning=text))
                    else:
                        out.append(Delta(0, content=text))
        elif t == "step.start":
            step = obj.get("step")
            self.steps[_int(obj.get("index"))] = step.get("type") if isinstance(step, dict) else None
        elif t in ("interaction.created", "interaction.completed"):
            inter = obj.get("interaction")
            if isinstance(inter, dict):
                self.meta(inter.get("model"), inter.get("id"))
                if t == "interaction.completed":
                    self.done = True
                    status = inter.get("status")
                    out.append(Delta(0, finish_reason="stop" if status == "completed" else status))
                    self._interactions_usage(inter.get("usage"), out, start)
                    return
        meta = obj.get("metadata")
        if isinstance(meta, dict):
            self._interactions_usage(meta.get("usage"), out, start)

    def _interactions_usage(self, u: Any, out: list[Any], start: int) -> None:
        if isinstance(u, dict):
            completion = _add(_int(u.get("total_output_tokens")), _int(u.get("total_thought_tokens")))
            _attach_usage(out, start, Usage(_int(u.get("total_input_tokens")), completion,
                                            _int(u.get("total_tokens"))))

    # -- Replicate predictions (plain text, not JSON) -------------------------

    def replicate(self, event_type: str, payload: bytes, out: list[Any]) -> None:
        """``event: output`` carries raw text, ``event: done`` ends the stream,
        ``event: error`` carries the error (text or JSON)."""
        if event_type == "output":
            text = payload.decode("utf-8", "replace")
            if text:
                out.append(Delta(0, content=text))
                self.started.add(0)
        elif event_type == "done":
            self.done = True
        elif event_type == "error":
            text = payload.decode("utf-8", "replace")
            try:
                obj = orjson.loads(payload)
            except orjson.JSONDecodeError:
                obj = None
            if isinstance(obj, dict):
                raise make_stream_error(obj if "error" in obj else {"error": obj}, out)
            raise StreamError(text, None, None, text, out)


def _attach_usage(out: list[Any], start: int, usage: Usage) -> None:
    """Put a chunk's usage on the last delta it produced, or on a delta of its
    own when it produced none (a usage-only chunk)."""
    if len(out) > start:
        out[-1] = out[-1]._replace(usage=usage)
    else:
        out.append(Delta(0, usage=usage))
