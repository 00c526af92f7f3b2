"""The format registry and what every format module shares: format names and
codes, detection of a stream's format from its first object, provider error
objects, and the small value helpers the mappings are written with."""

from __future__ import annotations

from typing import Any

import orjson

from .._delta import Delta, Usage
from .._errors import StreamError

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

ANTHROPIC_TYPES = frozenset(
    ("message_start", "content_block_start", "content_block_delta", "content_block_stop",
     "message_delta", "message_stop", "ping")
)
COHERE_TYPES = frozenset(
    ("message-start", "content-start", "content-delta", "content-end", "tool-plan-delta",
     "tool-call-start", "tool-call-delta", "tool-call-end", "citation-start", "citation-end",
     "message-end")
)


def detect(event_type: str, obj: dict[str, Any]) -> int:
    """The format of a stream, from its first JSON object (AUTO if unknown)."""
    t = obj.get("type")
    if type(t) is str:
        if t.startswith("response."):
            return RESPONSES
        if t in ANTHROPIC_TYPES:
            return ANTHROPIC
        if t in COHERE_TYPES:
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
    if event_type in ANTHROPIC_TYPES:
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


def text_or_none(value: Any) -> str | None:
    """A text fragment, or None: an empty or non-string value carries nothing."""
    return value if type(value) is str and value else None


def int_or_none(value: Any) -> int | None:
    return value if type(value) is int else None


def add(a: int | None, b: int | None) -> int | None:
    """The sum of two counts, either of which may be missing."""
    if a is None:
        return b
    return a if b is None else a + b


def usage(prompt: int | None, completion: int | None) -> Usage:
    """Usage from input and output counts; the total only when both are known."""
    total = prompt + completion if prompt is not None and completion is not None else None
    return Usage(prompt, completion, total)


def put_text(out: list[Any], value: Any, kind: str = "content") -> None:
    """Append a delta of choice 0 whose ``kind`` field (content, reasoning or
    refusal) is ``value``, if that is a non-empty string."""
    text = text_or_none(value)
    if text is not None:
        out.append(Delta(0, None, text if kind == "content" else None,
                         text if kind == "reasoning" else None,
                         text if kind == "refusal" else None))


def attach_usage(out: list[Any], start: int, counts: Usage) -> None:
    """Put a chunk's usage on the last delta it produced, or on a delta of its
    own when it produced none (a usage-only chunk)."""
    if len(out) > start:
        out[-1] = out[-1]._replace(usage=counts)
    else:
        out.append(Delta(0, usage=counts))
