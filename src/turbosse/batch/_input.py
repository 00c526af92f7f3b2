"""Reading batch input: JSON lines in the OpenAI Batch API format
(``{"custom_id", "method", "url", "body"}``, as ``vllm run-batch`` reads them)
or plain request bodies (``{"messages": [...]}`` or ``{"prompt": "..."}``),
into :class:`BatchRequest` objects; and joining a line's ``url`` to a base URL.

A plain line's id is ``request-N``, N its line number, so the same input gives
the same ids on every run (resume depends on it); a plain line may carry its own
``custom_id``. A ``prompt`` becomes a single user message. Blank lines are
skipped, and so is a UTF-8 byte order mark at the start; ids must be unique.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from .. import _exactjson
from ._errors import BatchInputError

__all__ = ["API_PATHS", "BatchRequest", "api_for_path", "aread_requests", "join_url", "parse_line", "read_requests"]

#: The API each request path selects, by the path's ending.
API_PATHS = {
    "/chat/completions": "chat.completions",
    "/responses": "responses",
    "/messages": "messages",
}
DEFAULT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class BatchRequest:
    """One request of a batch: its ``custom_id``, the request ``path`` (as a
    Batch API line's ``url`` gives it), the ``api`` that path selects and the
    request ``body`` (the model, messages and every other parameter)."""

    custom_id: str
    body: dict[str, Any]
    path: str = DEFAULT_PATH
    api: str = field(default="chat.completions")

    def to_json(self) -> bytes:
        """The request as a Batch API input line (without the newline)."""
        return orjson.dumps({"custom_id": self.custom_id, "method": "POST", "url": self.path, "body": self.body})


def api_for_path(path: str) -> str:
    """``"/v1/chat/completions"`` -> ``"chat.completions"``; ValueError for a
    path no client speaks."""
    clean = path.split("?", 1)[0].rstrip("/")
    for suffix, api in API_PATHS.items():
        if clean.endswith(suffix):
            return api
    known = ", ".join(API_PATHS)
    raise ValueError(f"unsupported request url {path!r}: it must end with one of {known}")


def join_url(base_url: str, path: str) -> str:
    """Join a request path to a base URL without repeating the segments they
    share: ``join_url("http://h:8000/v1", "/v1/chat/completions")`` and
    ``join_url("http://h:8000", "/v1/chat/completions")`` are both
    ``http://h:8000/v1/chat/completions``."""
    parts = urlsplit(base_url)
    base = [s for s in parts.path.split("/") if s]
    rel = [s for s in path.split("?", 1)[0].split("/") if s]
    overlap = 0
    for n in range(min(len(base), len(rel)), 0, -1):
        if base[-n:] == rel[:n]:
            overlap = n
            break
    joined = "/" + "/".join(base + rel[overlap:])
    return urlunsplit((parts.scheme, parts.netloc, joined, "", ""))


def parse_line(data: bytes | str | dict[str, Any], line: int) -> BatchRequest:
    """One input line (bytes, text or an already decoded dict) as a request;
    :class:`BatchInputError` names the line and what is wrong."""
    if isinstance(data, dict):
        obj: Any = data
        _check_encodable(obj, line)
    else:
        try:
            obj = _exactjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise BatchInputError(line, f"not JSON ({exc})", _snippet(data)) from None
        if _exactjson.has_long_digits(data):  # what JSON text cannot be sent as: an integer beyond 64 bits
            _check_encodable(obj, line)
    if not isinstance(obj, dict):
        raise BatchInputError(line, f"expected a JSON object, got {type(obj).__name__}", _snippet(data))
    custom_id = obj.get("custom_id", f"request-{line}")
    if not isinstance(custom_id, str) or not custom_id:
        raise BatchInputError(line, "custom_id must be a non-empty string", _snippet(data))
    if "body" in obj or "url" in obj:  # a Batch API line
        method = obj.get("method", "POST")
        if method != "POST":
            raise BatchInputError(line, f"method must be POST, not {method!r}")
        body = obj.get("body")
        if not isinstance(body, dict):
            raise BatchInputError(line, "body must be a JSON object", _snippet(data))
        path = obj.get("url", DEFAULT_PATH)
        if not isinstance(path, str):
            raise BatchInputError(line, "url must be a string", _snippet(data))
        try:
            api = api_for_path(path)
        except ValueError as exc:
            raise BatchInputError(line, str(exc)) from None
        return BatchRequest(custom_id, dict(body), path, api)
    body = {k: v for k, v in obj.items() if k != "custom_id"}
    if "messages" not in body:
        prompt = body.pop("prompt", None)
        if not isinstance(prompt, str):
            raise BatchInputError(line, "a plain line needs messages or a prompt string", _snippet(data))
        body["messages"] = [{"role": "user", "content": prompt}]
    return BatchRequest(custom_id, body)


def read_requests(
    source: str | os.PathLike[str] | IO[bytes] | Iterable[bytes | str | dict[str, Any] | BatchRequest],
) -> Iterator[BatchRequest]:
    """The requests of a JSONL file (a path or a binary file object), or of
    an iterable of lines, dicts or BatchRequests, read lazily. A repeated
    custom_id raises :class:`BatchInputError`."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            yield from read_requests(fh)
        return
    lines = _Lines()
    for item in source:
        req = lines.take(item)
        if req is not None:
            yield req


async def aread_requests(
    source: AsyncIterable[bytes | str | dict[str, Any] | BatchRequest],
) -> AsyncIterator[BatchRequest]:
    """:func:`read_requests` of an async iterable: the same rules."""
    lines = _Lines()
    async for item in source:
        req = lines.take(item)
        if req is not None:
            yield req


class _Lines:
    """The rules every source is read by, one item at a time: numbered from
    1, a byte order mark skipped at the start, blank lines skipped, a
    repeated custom_id refused."""

    def __init__(self) -> None:
        self.n = 0
        self.seen: set[str] = set()

    def take(self, item: Any) -> BatchRequest | None:
        self.n = n = self.n + 1
        if n == 1 and isinstance(item, (bytes, str)):
            item = _without_bom(item)
        if isinstance(item, BatchRequest):
            req = item
        elif isinstance(item, dict) or item.strip():
            req = parse_line(item, n)
        else:
            return None  # blank
        if req.custom_id in self.seen:
            raise BatchInputError(n, f"custom_id {req.custom_id!r} repeats an earlier line's")
        self.seen.add(req.custom_id)
        return req


def _without_bom(line: bytes | str) -> bytes | str:
    """The first line less a UTF-8 byte order mark (editors on Windows save
    one at the start of a file; it is no part of the JSON)."""
    if isinstance(line, bytes):
        return line[3:] if line.startswith(b"\xef\xbb\xbf") else line
    return line[1:] if line.startswith("\ufeff") else line


def _check_encodable(obj: Any, line: int) -> None:
    """A line that cannot be sent as it was written (an integer beyond 64
    bits; in a dict given as a line, a NaN or a value of a type JSON lacks)
    stops the run here, not silently changed or failing at send time."""
    try:
        _exactjson.dumps(obj, "")
    except (ValueError, TypeError) as exc:
        raise BatchInputError(line, str(exc)) from None


def _snippet(data: Any) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    return text.strip()[:80]
