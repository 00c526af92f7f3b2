"""The fake server's per-request options: their defaults, and merging the layers a request gives.

Options come in layers, merged in order: the server's defaults (its
constructor), the request body's ``"fake"`` member, then an ``x-fake`` header
holding a JSON object. An unknown name is an :class:`OptionError`, answered
with a 400, so that a typo does not pass silently.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["FAULTS", "OPTION_DEFAULTS", "OptionError", "merge_options", "request_max_tokens"]

#: Every per-request option and its default. Times are in seconds unless
#: the name ends in ``_ms``.
OPTION_DEFAULTS: dict[str, Any] = {
    # the stream itself
    "tokens": None,  # content tokens; None: max_tokens of the request, else 32
    "tokens_per_second": 0.0,  # pacing; 0 sends as fast as the socket takes it
    "ttft": 0.0,  # delay before the first event (headers go out at once)
    "events_per_write": 1,  # events per HTTP chunk (and per paced write)
    "crlf": False,  # CRLF line endings instead of LF
    "reasoning_tokens": 0,  # reasoning deltas before the content (reasoning_content / thinking / summary)
    "tool_calls": 0,  # parallel tool calls streamed after the content
    "tool_arg_chunks": 4,  # argument fragments per tool call
    "usage": None,  # usage chunk; None follows stream_options.include_usage
    "replay": None,  # name of a corpus file (or a path) to serve verbatim
    # the HTTP response
    "framing": "chunked",  # "chunked", "content-length" or "close" (no length, ended by closing)
    "gzip": False,  # Content-Encoding: gzip (flushed per write)
    "gzip_bomb": None,  # MiB of `gzip_bomb_fill` before the first event (implies gzip)
    "gzip_bomb_fill": "\n",  # the text the bomb repeats (blank lines; e.g. ": ping\n" for comments)
    "content_type": None,  # override the response Content-Type (e.g. "Text/Event-Stream")
    "header_line_bytes": None,  # add one response header line of this many bytes
    "response_body": None,  # a 200 response that is not an event stream: a string or a JSON value
    "idle_close_ms": None,  # close the connection when no request follows within N ms
    # faults; each applies to the first `fail_times` requests with `fail_key`
    "fail_status": None,  # e.g. 429 or 503: an error response instead of a stream
    "error_shape": None,  # that response's body: "openai", "anthropic" or "detail" (FastAPI)
    "retry_after": None,  # Retry-After: seconds, or "date:N" for an HTTP-date N s ahead
    "retry_after_ms": None,  # retry-after-ms header
    "disconnect_after": None,  # close the connection after N delta events
    "end_after": None,  # end the body cleanly after N delta events (no end marker)
    "malformed_after": None,  # a broken JSON event after N delta events
    "error_after": None,  # an in-band error event after N delta events, then end
    "error_type": None,  # type of that error (provider-specific default)
    "stall_after": None,  # stop sending for `stall` seconds after N delta events
    "stall": 30.0,
    "hang_after_done": None,  # after the end marker, keep the body open: true forever, N: seconds
    "trickle_ms": None,  # send the body one byte every N ms
    "trickle_bytes": None,  # ... for N bytes, then the rest at once; None: forever (then "\n" bytes)
    "invalid_chunk_after": None,  # a chunk with an invalid size line after N delta events, then close
    "endless_headers": None,  # true: header lines forever, never a body
    "respond_before_body": None,  # true (x-fake header): answer without reading the request body, then close
    "fail_times": None,  # None: every request; N: the first N requests per key
    "fail_key": None,  # counter key; default: the options themselves
}

#: The options that make a request a faulty one (counted by ``fail_times``).
FAULTS = (
    "fail_status", "disconnect_after", "end_after", "malformed_after", "error_after", "stall_after",
    "hang_after_done", "trickle_ms", "invalid_chunk_after", "endless_headers", "respond_before_body",
)  # fmt: skip

# Numbers: each must be a finite number from 0 to its bound (None: no bound);
# the bounds keep one request from tying up the server's loop or memory.
_LIMITS: dict[str, float | None] = {
    "gzip_bomb": 1024, "header_line_bytes": 64 * 1024 * 1024, "trickle_bytes": 64 * 1024 * 1024,
    "tokens": None, "tokens_per_second": None, "ttft": None, "reasoning_tokens": None, "tool_calls": None,
    "stall": None,
}  # fmt: skip
#: The request members that may give the number of tokens, first found first.
_MAX_TOKENS = ("max_completion_tokens", "max_tokens", "max_output_tokens")

_CHOICES = {
    "framing": ("chunked", "content-length", "close"),
    "error_shape": (None, "openai", "anthropic", "detail"),
}
_CHECKED = frozenset(_LIMITS) | frozenset(_CHOICES)


class OptionError(ValueError):
    """An unknown option, or an option value the server cannot serve."""


_NAMES = frozenset(OPTION_DEFAULTS)


def merge_options(*layers: dict[str, Any] | None, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The defaults (or ``base``, options merged before) updated by each layer
    in turn (None or empty layers are skipped)."""
    opts = dict(OPTION_DEFAULTS if base is None else base)
    for layer in layers:
        if not layer:
            continue
        if not isinstance(layer, dict):
            raise OptionError("fake options must be a JSON object")
        if not _NAMES.issuperset(layer):
            raise OptionError(f"unknown fake option(s): {', '.join(sorted(set(layer) - _NAMES))}")
        if not _CHECKED.isdisjoint(layer):
            for name in _CHECKED.intersection(layer):
                _check(name, layer[name])
        opts.update(layer)
    return opts


def request_max_tokens(request: dict[str, Any]) -> int | None:
    """The request's ``max_completion_tokens``, ``max_tokens`` or
    ``max_output_tokens`` (the first given), None when it gives none that is
    an integer; OptionError for one below 0."""
    for name in _MAX_TOKENS:
        if name in request:
            value = request[name]
            if not isinstance(value, int):
                return None
            if value < 0:
                raise OptionError(f"{name} must be >= 0, not {value}")
            return value
    return None


def _check(name: str, value: Any) -> None:
    if name in _LIMITS:
        limit = _LIMITS[name]
        if value is None:
            return
        if type(value) not in (int, float) or not (math.isfinite(value) and 0 <= value <= (math.inf if limit is None else limit)):
            rule = "a finite number >= 0" if limit is None else f"between 0 and {limit}"
            raise OptionError(f"fake option {name} must be {rule}, not {value!r}")
    elif value not in _CHOICES[name]:
        raise OptionError(f"fake option {name} must be one of {', '.join(map(repr, _CHOICES[name]))}, not {value!r}")
