"""Faults of the fake server: which requests get one, the error responses, and where a fault sits in a stream.

A fault applies to every request that asks for one, or with ``fail_times=N``
to the first N requests sharing a ``fail_key`` (default: the options
themselves), so that "429 twice, then success" is one set of options.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any, NamedTuple

import orjson

from ._events import Events, error_event, malformed_event
from ._http1 import json_response
from ._options import FAULTS

__all__ = ["Item", "error_status", "fault_applies", "place_faults"]


class Item(NamedTuple):
    """One piece of a stream in order: ``delta`` is the number of delta events
    sent once it is out (it drives pacing); ``kind`` is ``""`` for a stream
    event, or ``"break"``/``"error"`` (an injected event), ``"stall"`` or
    ``"cut"``, ``"end"`` or ``"bad_chunk"`` (no bytes: pause, drop the
    connection, end the body cleanly, or send an invalid chunk size)."""

    delta: int
    data: bytes
    kind: str


def fault_applies(opts: dict[str, Any], counts: dict[str, int]) -> bool:
    """Whether this request gets its fault (``counts`` is updated)."""
    for k in FAULTS:
        if opts[k] is not None:
            break
    else:
        return False
    if opts["fail_times"] is None:
        return True
    key = str(opts["fail_key"] if opts["fail_key"] is not None else orjson.dumps(opts, option=orjson.OPT_SORT_KEYS))
    seen = counts.get(key, 0)
    counts[key] = seen + 1
    return seen < int(opts["fail_times"])


_KINDS = {
    "openai": {429: ("rate_limit_error", "Rate limit reached for requests"), 503: ("server_error", "The server is overloaded")},
    "anthropic": {
        400: ("invalid_request_error", "Invalid request"), 401: ("authentication_error", "Invalid API key"),
        429: ("rate_limit_error", "Rate limit reached"), 500: ("api_error", "Internal server error"),
        529: ("overloaded_error", "Overloaded"),
    },
}  # fmt: skip


def error_body(status: int, shape: str | None, error_type: str | None) -> dict[str, Any]:
    """The JSON body of an error response in a provider's shape: ``openai``
    (the default), ``anthropic``, or ``detail`` (FastAPI servers)."""
    shape = shape or "openai"
    fallback = ("invalid_request_error" if status < 500 else ("api_error" if shape == "anthropic" else "server_error"), f"fake error {status}")
    kind, message = _KINDS.get(shape, _KINDS["openai"]).get(status, fallback)
    kind = error_type or kind
    if shape == "detail":
        return {"detail": message}
    if shape == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def error_status(opts: dict[str, Any]) -> bytes:
    """The ``fail_status`` response, with its Retry-After headers."""
    status = int(opts["fail_status"])
    headers: dict[str, str] = {}
    ra = opts["retry_after"]
    if ra is not None:
        if isinstance(ra, str) and ra.startswith("date:"):
            headers["retry-after"] = email.utils.formatdate(time.time() + float(ra[5:]), usegmt=True)
        else:
            headers["retry-after"] = str(ra)
    if opts["retry_after_ms"] is not None:
        headers["retry-after-ms"] = str(opts["retry_after_ms"])
    return json_response(status, error_body(status, opts["error_shape"], opts["error_type"]), headers)


def place_faults(opts: dict[str, Any], events: Events, *, api: str, nl: bytes, fault: bool) -> list[Item]:
    """The stream as items, with the faults (when ``fault``) at their positions, counted in delta events."""
    pre, deltas, trailer = events
    ndeltas = len(deltas)
    stall_at = malformed_at = error_at = None
    stops: dict[int, str] = {}  # where the stream stops early, and how
    if fault:

        def pos(key: str) -> int | None:
            v = opts[key]
            return None if v is None else max(0, min(int(v), ndeltas))

        stall_at, malformed_at, error_at = pos("stall_after"), pos("malformed_after"), pos("error_after")
        for key, how in (("invalid_chunk_after", "bad_chunk"), ("end_after", "end"), ("disconnect_after", "cut")):
            at = pos(key)
            if at is not None and at not in stops:
                stops[at] = how
    cut_at = min(stops) if stops else None

    items = [Item(0, e, "") for e in pre]
    for i, e in enumerate(deltas):
        if i == malformed_at:
            items.append(Item(i, malformed_event(api, nl), "break"))
        if i == error_at:
            items.append(Item(i, error_event(api, opts["error_type"], nl), "error"))
            return items
        if i == cut_at:
            items.append(Item(i, b"", stops[i]))
            return items
        if i == stall_at:
            items.append(Item(i, b"", "stall"))
        items.append(Item(i + 1, e, ""))
    if malformed_at == ndeltas:
        items.append(Item(ndeltas, malformed_event(api, nl), "break"))
    if error_at == ndeltas:
        items.append(Item(ndeltas, error_event(api, opts["error_type"], nl), "error"))
    elif cut_at == ndeltas:
        items.append(Item(ndeltas, b"", stops[ndeltas]))
    else:
        if stall_at == ndeltas:
            items.append(Item(ndeltas, b"", "stall"))
        items.extend(Item(ndeltas, e, "") for e in trailer)
    return items
