"""Wire formats other than OpenAI chat, mapped onto Delta; shared by both twins.

OpenAI chat completions (and the legacy completions shape) is the hot path and
each decoder twin has its own copy of it. The other formats live here once, one
module per format family, each a function that :class:`FormatState` calls with
an already decoded JSON object (or, for Replicate, the raw text), so the twins cannot disagree on them: the
Responses API (``openai-responses``), Anthropic Messages (``anthropic``),
Gemini's native ``streamGenerateContent?alt=sse`` (``gemini``), the Gemini
Interactions API (``gemini-interactions``), Cohere v2 chat (``cohere``), IBM
watsonx text generation (``watsonx``) and Replicate predictions
(``replicate``). Each needs a little per-stream state (the model, the type of
each content block, usage seen at the start), kept here too.

Finish reasons are mapped to OpenAI's vocabulary (``stop``, ``length``,
``tool_calls``, ``content_filter``) so that one accumulator serves all;
values with no OpenAI equivalent pass through unchanged.

The package: ``_common`` (format names and codes, detection, provider errors,
shared helpers), ``_state`` (the per-stream state and the dispatch), and one
module per format family.
"""

from __future__ import annotations

from ._common import (
    AUTO,
    FORMAT_NAMES,
    FORMATS,
    OPENAI,
    REPLICATE,
    detect,
    is_error,
    json_text,
    make_stream_error,
    text_or_none,
)
from ._state import FormatState

__all__ = ["AUTO", "OPENAI", "REPLICATE", "FORMATS", "FORMAT_NAMES", "FormatState", "detect", "is_error", "json_text",
           "make_stream_error", "text_or_none"]
