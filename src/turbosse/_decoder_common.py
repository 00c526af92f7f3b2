"""What both ChatDecoder twins share: option checks and the helpers of the
OpenAI chat mapping that are not on the measured hot path.

The compiled twin (``_decoder_c.pyx``) and the Python twin (``_decoder_py.py``)
each import from here and never from each other.
"""

from __future__ import annotations

from typing import Any

from ._formats import FORMATS

__all__ = [
    "FAILED_MESSAGE",
    "SNIPPET_BYTES",
    "chat_error",
    "check_options",
    "details_text",
    "parts_text",
    "snippet",
]

FAILED_MESSAGE = "this ChatDecoder failed earlier and cannot continue; use a new one"

SNIPPET_BYTES = 80  # how much of a bad payload an error message quotes


def check_options(format: str, on_malformed: str) -> int:
    """Validate the constructor options; shared by both twins."""
    fmt = FORMATS.get(format) if type(format) is str else None
    if fmt is None:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, not {format!r}")
    if on_malformed not in ("raise", "skip"):
        raise ValueError(f"on_malformed must be 'raise' or 'skip', not {on_malformed!r}")
    return fmt


def snippet(payload: bytes) -> str:
    return payload[:SNIPPET_BYTES].decode("utf-8", "replace")


def parts_text(parts: list[Any]) -> tuple[str | None, str | None]:
    """Mistral-style content arrays: text parts are content, thinking parts
    (themselves arrays of text parts) are reasoning."""
    texts: list[str] = []
    thoughts: list[str] = []
    for part in parts:
        if type(part) is not dict:
            continue
        ptype = part.get("type")
        if ptype == "text":
            t = part.get("text")
            if type(t) is str:
                texts.append(t)
        elif ptype == "thinking":
            inner = part.get("thinking")
            if type(inner) is str:
                thoughts.append(inner)
            elif type(inner) is list:
                for sub in inner:
                    if type(sub) is dict and type(sub.get("text")) is str:
                        thoughts.append(sub["text"])
    return "".join(texts) or None, "".join(thoughts) or None


def details_text(details: Any) -> str | None:
    """OpenRouter/Snowflake ``reasoning_details``: readable text or summary
    items (encrypted items carry no text)."""
    if type(details) is not list:
        return None
    texts = []
    for item in details:
        if type(item) is dict:
            t = item.get("text")
            if type(t) is not str:
                t = item.get("summary")
            if type(t) is str:
                texts.append(t)
    return "".join(texts) or None


def chat_error(event_type: str, obj: dict[str, Any]) -> bool:
    """An error in a chat stream: a top-level ``error`` (OpenAI, vLLM,
    OpenRouter: sometimes beside choices), ``event: error`` (Groq), or, in a
    payload with no ``choices``, ``type: error``."""
    return (obj.get("error") is not None or event_type == "error"
            or ("choices" not in obj and obj.get("type") == "error"))
