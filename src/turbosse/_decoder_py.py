"""Pure-Python ChatDecoder: the reference twin of ``_decoder_c.pyx``.

Bytes in, :class:`~turbosse.Delta` tuples out. Framing is the Python
SSEParser's ``_feed_raw`` (event type plus undecoded data bytes), payloads go
to ``orjson.loads`` straight from bytes, and OpenAI chat chunks are mapped
here; the other wire formats are mapped by the shared ``_formats`` module.
The compiled twin must produce equal deltas for every input.
"""

from __future__ import annotations

from typing import Any, cast

from orjson import JSONDecodeError, loads

from ._decoder_common import (
    FAILED_MESSAGE,
    chat_error,
    check_options,
    details_text,
    parts_text,
    snippet,
)
from ._delta import Delta, ToolCallDelta, Usage
from ._errors import EventTooLarge, MalformedChunk, SSEError
from ._formats import (
    AUTO,
    FORMAT_NAMES,
    OPENAI,
    REPLICATE,
    FormatState,
    detect,
    is_error,
    json_text,
    make_stream_error,
)
from ._parser_common import DEFAULT_MAX_EVENT_BYTES
from ._parser_py import SSEParser
from ._shape_py import Shapes

__all__ = ["ChatDecoder"]

def openai_usage(u: Any) -> Usage | None:
    if type(u) is not dict:
        return None
    p, c, t = u.get("prompt_tokens"), u.get("completion_tokens"), u.get("total_tokens")
    if p is None and c is None and t is None:
        return None  # {} or a usage object of some other shape
    return tuple.__new__(Usage, (p if type(p) is int else None, c if type(c) is int else None,
                                 t if type(t) is int else None))


def tool_call_delta(tc: Any) -> ToolCallDelta | None:
    if type(tc) is not dict:
        return None
    index = tc.get("index")
    id_ = tc.get("id")
    fn = tc.get("function")
    name = args = None
    if type(fn) is dict:
        name = fn.get("name")
        args = fn.get("arguments")
        if args is not None and type(args) is not str:
            args = json_text(args)  # a server that sends the object itself
    return tuple.__new__(ToolCallDelta, (
        index if type(index) is int else None,
        id_ if type(id_) is str and id_ else None,
        name if type(name) is str and name else None,
        args,
    ))


def openai_chunk(obj: dict[str, Any], out: list[Any], st: FormatState) -> None:
    """Map one chat.completion.chunk (or legacy text_completion) object. The
    decoder's state (choices started and finished, model, id) changes only
    once the whole chunk is mapped: a chunk that fails part way (and is
    skipped) leaves no trace."""
    start = len(out)
    marks = []  # (index, finished) of each choice, noted at the end
    choices = obj.get("choices")
    finished = True  # no choices, or one finished: look for x_groq usage
    if type(choices) is list:
        finished = not choices
        pos = -1
        for ch in choices:
            pos += 1
            if type(ch) is not dict:
                continue
            index = ch.get("index")
            if type(index) is not int:
                index = pos
            role = content = reasoning = refusal = tool_calls = None
            d = ch.get("delta")
            if type(d) is dict:
                role = d.get("role")
                content = d.get("content")
                if type(content) is list:
                    content, reasoning = parts_text(content)
                reasoning = d.get("reasoning_content") or d.get("reasoning") or reasoning
                if reasoning is None and "reasoning_details" in d:
                    reasoning = details_text(d["reasoning_details"])
                refusal = d.get("refusal")
                tcs = d.get("tool_calls")
                if type(tcs) is list and tcs:
                    tool_calls = tuple([t for t in map(tool_call_delta, tcs) if t is not None]) or None
                else:
                    fc = d.get("function_call")  # the deprecated functions API
                    if type(fc) is dict:
                        tool_calls = (tool_call_delta({"index": 0, "function": fc}),)  # type: ignore[assignment]
            else:
                content = ch.get("text")  # legacy completions: choices[].text
            finish = ch.get("finish_reason")
            # empty strings carry nothing: no delta for them (see Delta docs)
            if type(role) is not str or not role:
                role = None
            if type(content) is not str or not content:
                content = None
            if type(reasoning) is not str or not reasoning:
                reasoning = None
            if type(refusal) is not str or not refusal:
                refusal = None
            if type(finish) is not str or not finish:
                finish = None
            else:
                finished = True
            marks.append((index, finish is not None))
            if (role is not None or content is not None or reasoning is not None
                    or refusal is not None or tool_calls is not None or finish is not None):
                out.append(tuple.__new__(Delta, (index, role, content, reasoning, refusal,
                                                 tool_calls, finish, None)))
    u = obj.get("usage")
    if u is None and finished:
        xg = obj.get("x_groq")  # older Groq: usage inside x_groq on the finish chunk
        if type(xg) is dict:
            u = xg.get("usage")
    if u is not None:
        usage = openai_usage(u)
        if usage is not None:
            if len(out) > start:
                out[-1] = out[-1]._replace(usage=usage)
            else:
                out.append(tuple.__new__(Delta, (0, None, None, None, None, None, None, usage)))
    for index, ended in marks:
        st.started.add(index)
        if ended:
            st.finished.add(index)
    if st.model is None or st.id is None:
        st.meta(obj.get("model"), obj.get("id"))


def _probe(event_type: str, payload: bytes) -> list[Any] | None:
    """The full path's deltas for an OpenAI payload, with no effect on any
    decoder (None for an invalid chunk or an in-band error): what a learned
    chunk shape is checked against (see _shape_common)."""
    try:
        obj = loads(payload)
    except JSONDecodeError:
        return None
    if type(obj) is not dict or chat_error(event_type, obj):
        return None
    out: list[Any] = []
    openai_chunk(obj, out, FormatState())
    return out


class ChatDecoder:
    """Incremental decoder: raw ``text/event-stream`` bytes of an LLM
    response in, :class:`Delta` tuples out. Sans-IO.

    :param format: the wire format: ``"openai-chat"``, ``"openai-completions"``
        (same code path: ``choices[].delta`` or ``choices[].text``),
        ``"openai-responses"``, ``"anthropic"``, ``"gemini"`` (native
        ``streamGenerateContent?alt=sse``), ``"gemini-interactions"``,
        ``"cohere"``, ``"watsonx"``, ``"replicate"``, or ``"auto"`` (default):
        decided from the first event.
    :param on_malformed: ``"raise"`` (default) raises :class:`MalformedChunk`
        for an event whose data is not a JSON object (or, in ``"auto"``, of no
        known format); ``"skip"`` skips it and counts it in :attr:`skipped`.
    :param max_event_bytes: passed to the SSEParser (None for no limit).

    ``data: [DONE]`` ends the stream (compared as bytes); so do Anthropic's
    ``message_stop``, the Responses API's ``response.completed``/``failed``/
    ``incomplete``, Cohere's ``message-end``, the Interactions API's
    ``interaction.completed`` and Replicate's ``done``; then :attr:`done` is
    true and later input is ignored. An in-band provider error raises
    :class:`StreamError`. After any exception the decoder refuses more input.
    """

    def __init__(
        self,
        format: str = "auto",
        *,
        on_malformed: str = "raise",
        max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self._format = check_options(format, on_malformed)
        self._skip = on_malformed == "skip"
        self._parser = SSEParser(max_event_bytes=max_event_bytes, sentinel=b"[DONE]")
        self._state = FormatState()
        self._shapes = Shapes()  # OpenAI chunks that differ only in their text skip orjson
        self._events = 0
        self._mark = 0  # len(out) when the event being decoded began
        self._skipped = 0
        self._failed = False

    @property
    def format(self) -> str:
        """The format in use: the one given, or the detected one (``"auto"``
        until the first event decides)."""
        return FORMAT_NAMES.get(self._format, "auto")

    @property
    def done(self) -> bool:
        """The stream reached its format's natural end ([DONE], message_stop,
        response.completed, ...). Some servers send none (llama.cpp without
        --send-done, TGI, Writer, Gemini): then it stays false."""
        return self._state.done or self._parser.done

    @property
    def _shape_hits(self) -> int:
        # payloads decoded by the learned chunk shape, with no JSON parse (for tests)
        return self._shapes.hits

    @property
    def skipped(self) -> int:
        """Events skipped as malformed (with ``on_malformed="skip"``)."""
        return self._skipped

    @property
    def events(self) -> int:
        """Events dispatched so far (the numbering MalformedChunk uses)."""
        return self._events

    @property
    def model(self) -> str | None:
        """The first non-empty model name the stream reported."""
        return self._state.model

    @property
    def id(self) -> str | None:
        """The first non-empty response id the stream reported."""
        return self._state.id

    @property
    def stop_reasons(self) -> dict[int, str]:
        """The provider's own finish word per choice index, for the formats whose
        words ``finish_reason`` normalises (Anthropic ``stop_reason``, Responses
        status or ``incomplete_details.reason``, Gemini ``finishReason``, Cohere
        ``finish_reason``, watsonx ``stop_reason``, Interactions status); empty
        for OpenAI chat, whose ``finish_reason`` is already the server's word."""
        return dict(self._state.stop_reasons)

    @property
    def complete(self) -> bool:
        """The stream is complete: the format's end marker was seen (see
        :attr:`done`), or some choice started and every choice that started
        has a finish reason. A body that ends while this is false was cut
        short (the clients and ``accumulate`` raise :class:`StreamInterrupted`
        then); an empty body is never complete.

        End markers: ``data: [DONE]`` (OpenAI chat and completions, Azure,
        vLLM, DeepSeek, Groq, Mistral, Ollama, OpenRouter, Together, llama.cpp
        with ``--send-done``), Anthropic's ``message_stop``, the Responses
        API's ``response.completed``/``incomplete``/``failed`` (OpenAI, Azure,
        xAI, DeepSeek, OpenRouter, Bedrock), Cohere's ``message-end``, the
        Interactions API's ``interaction.completed`` and Replicate's ``done``.
        Servers that send none, complete by their finish reasons: Gemini
        native, watsonx, TGI, Writer, Perplexity, llama.cpp without
        ``--send-done``. Some servers end the last event without its blank
        line (``data: [DONE]\\n``): that event is discarded (see
        :attr:`unterminated`), and such a stream is complete by its finish
        reasons."""
        return self._state.done or self._parser.done or self._state.all_finished()

    @property
    def unterminated(self) -> bool:
        """After :meth:`close`: the body ended inside an event (a line with
        no line end, or field lines with no blank line after them), whose
        bytes were discarded as the standard requires. False before close()
        and after the end marker."""
        return self._parser.unterminated

    def feed(self, data: bytes | bytearray | memoryview) -> list[Delta]:
        """Decode the next chunk of bytes; return the deltas it completed."""
        if self._failed:
            raise SSEError(FAILED_MESSAGE)
        if self._state.done:
            return []
        out: list[Any] = []
        try:
            # the parser's default_event is "message": every type is a str
            events = cast("list[tuple[str, bytes]]", self._parser._feed_raw(data))
        except EventTooLarge as exc:
            # decode what the parser completed before the limit, keep it on
            # the exception: nothing already received is lost
            self._failed = True
            exc.deltas = out  # type: ignore[attr-defined]
            self._decode_all(exc.events, out)
            raise
        self._decode_all(events, out)
        return out

    def close(self) -> list[Delta]:
        """End of input. An event not followed by its blank line is discarded
        (WHATWG) and reported by :attr:`unterminated`; returns [] (every
        event is decoded as soon as it completes). Check :attr:`complete`
        afterwards to tell a finished stream from a truncated one."""
        self._parser.close()
        return []

    def _decode_all(self, events: list[tuple[str, bytes]], out: list[Any]) -> None:
        """_decode, with a failure of the mapping itself (a value too deeply
        nested for orjson to re-encode, Python's recursion limit) turned into
        MalformedChunk for that event, so that the caller sees an SSEError
        carrying the deltas decoded before it (or, with on_malformed="skip",
        the event is skipped and decoding goes on)."""
        pos = 0
        while True:
            first = self._events
            try:
                self._decode(events if pos == 0 else events[pos:], out)
                return
            except (TypeError, RecursionError) as exc:
                bad = pos + self._events - first - 1
                del out[self._mark :]  # what the failing event had produced
                self._malformed(events[bad][1], f"could not be decoded ({type(exc).__name__}: {exc})",
                                out, exc)
                pos = bad + 1

    def _decode(self, events: list[tuple[str, bytes]], out: list[Any]) -> None:
        st = self._state
        shapes = self._shapes
        for event_type, payload in events:
            self._events += 1
            self._mark = len(out)
            if self._format == OPENAI:
                text = shapes.match(event_type, payload)
                if text is not None:  # the learned chunk with another text: its delta, no parse
                    d = list(shapes.base)
                    d[shapes.field] = text
                    out.append(tuple.__new__(Delta, d))
                    continue
            if self._format == REPLICATE or (self._format == AUTO and event_type == "output"):
                # Replicate's output events are plain text, not JSON
                self._format = REPLICATE
                try:
                    st.replicate(event_type, payload, out)
                except SSEError:
                    self._failed = True
                    raise
                if st.done:
                    return
                continue
            try:
                obj = loads(payload)
            except JSONDecodeError:
                if event_type == "error":  # a provider's error as plain text: still its error
                    self._fail_with({"error": payload.decode("utf-8", "replace")}, out)
                self._malformed(payload, "invalid JSON", out)
                continue
            if type(obj) is not dict:
                if event_type == "error":
                    self._fail_with({"error": obj}, out)
                self._malformed(payload, "not a JSON object", out)
                continue
            fmt = self._format
            if fmt == AUTO:
                fmt = detect(event_type, obj)
                if fmt == AUTO:
                    if is_error(event_type, obj):
                        self._fail_with(obj, out)
                    self._malformed(payload, "not a chunk of any known format", out)
                    continue
                self._format = fmt
            if fmt == OPENAI:
                openai_chunk(obj, out, st)
                if chat_error(event_type, obj):
                    self._fail_with(obj, out)
                if len(out) == self._mark + 1:
                    shapes.observe(event_type, payload, out[-1], _probe)
                continue
            try:
                st.decode(fmt, event_type, obj, out)
            except SSEError as exc:  # response.failed
                self._failed = True
                exc.deltas[:0] = out  # type: ignore[attr-defined]
                raise
            if is_error(event_type, obj):
                self._fail_with(obj, out)
            if st.done:
                return  # the format's end marker: later events are ignored

    def _fail_with(self, obj: dict[str, Any], out: list[Any]) -> None:
        self._failed = True
        raise make_stream_error(obj, out)

    def _malformed(
        self, payload: bytes, reason: str, out: list[Any], cause: BaseException | None = None
    ) -> None:
        if self._skip:
            self._skipped += 1
            return
        self._failed = True
        error = MalformedChunk(self._events, snippet(payload), reason, out)
        if cause is not None:
            raise error from cause
        raise error
