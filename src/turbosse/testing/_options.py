"""The fake server's per-request options: their defaults, and merging the layers a request gives.

Options come in layers, merged in order: the server's defaults (its
constructor), the request body's ``"fake"`` member, then an ``x-fake`` header
holding a JSON object. An unknown name is an :class:`OptionError`, answered
with a 400, so that a typo does not pass silently.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FAULTS", "OPTION_DEFAULTS", "OptionError", "merge_options"]

#: Every per-request option and its default. Times are in seconds.
OPTION_DEFAULTS: dict[str, Any] = {
    # the stream itself
    "tokens": None,  # content tokens; None: max_tokens of the request, else 32
    "tokens_per_second": 0.0,  # pacing; 0 sends as fast as the socket takes it
    "ttft": 0.0,  # delay before the first event (headers go out at once)
    "events_per_write": 1,  # events per HTTP chunk (and per paced write)
    "crlf": False,  # CRLF line endings instead of LF
    "reasoning_tokens": 0,  # reasoning deltas before the content (reasoning_content / thinking)
    "tool_calls": 0,  # parallel tool calls streamed after the content
    "tool_arg_chunks": 4,  # argument fragments per tool call
    "usage": None,  # usage chunk; None follows stream_options.include_usage
    "replay": None,  # name of a corpus file (or a path) to serve verbatim
    "gzip": False,  # Content-Encoding: gzip (flushed per write)
    "content_type": None,  # override the response Content-Type
    # faults; each applies to the first `fail_times` requests with `fail_key`
    "fail_status": None,  # e.g. 429 or 503: an error response instead of a stream
    "retry_after": None,  # Retry-After: seconds, or "date:N" for an HTTP-date N s ahead
    "retry_after_ms": None,  # retry-after-ms header
    "disconnect_after": None,  # close the connection after N delta events
    "malformed_after": None,  # a broken JSON event after N delta events
    "error_after": None,  # an in-band error event after N delta events, then end
    "error_type": None,  # type of that error (provider-specific default)
    "stall_after": None,  # stop sending for `stall` seconds after N delta events
    "stall": 30.0,
    "fail_times": None,  # None: every request; N: the first N requests per key
    "fail_key": None,  # counter key; default: the options themselves
}

#: The options that make a request a faulty one (counted by ``fail_times``).
FAULTS = ("fail_status", "disconnect_after", "malformed_after", "error_after", "stall_after")


class OptionError(ValueError):
    """An unknown option, or an option value the server cannot serve."""


def merge_options(*layers: dict[str, Any] | None) -> dict[str, Any]:
    """The defaults updated by each layer in turn (None or empty layers are skipped)."""
    opts = dict(OPTION_DEFAULTS)
    for layer in layers:
        if not layer:
            continue
        if not isinstance(layer, dict):
            raise OptionError("fake options must be a JSON object")
        unknown = sorted(set(layer) - set(OPTION_DEFAULTS))
        if unknown:
            raise OptionError(f"unknown fake option(s): {', '.join(unknown)}")
        opts.update(layer)
    return opts
