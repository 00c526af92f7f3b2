"""Output rows: one JSON object per request, in the OpenAI Batch API output
shape plus turbosse's fields.

A row is ``{"id", "custom_id", "response", "error", "metrics"}``:

- ``response`` (on success): ``{"status_code": 200, "request_id", "body"}``,
  ``body`` a ``chat.completion`` object assembled from the stream (message
  content, ``reasoning_content``, ``refusal``, ``tool_calls``, finish reason,
  usage), whatever API the request used; null on failure;
- ``error`` (on failure): ``{"type", "message", "status", "code", "partial"}``:
  the exception's class name and text, the HTTP status when the server sent
  one, the provider's error code for an in-band error, and ``partial``, the
  result received before the failure (same shape as ``body``; null when
  nothing arrived); null on success;
- ``metrics``, named and defined as ``vllm bench serve`` does (seconds):
  ``ttft`` (request sent to first token), ``itl`` (the gaps between
  successive token-bearing chunks), ``tpot`` (``(e2el - ttft) /
  (output_tokens - 1)``, 0 for one token), ``e2el`` (request sent to last
  byte), ``output_tokens`` (usage's count, else the chunks counted),
  ``prompt_len`` (usage's, else null), ``attempts`` (HTTP requests made,
  retries and reissues included) and ``bytes`` (response bytes received by
  the last attempt; null unless the client came from ``make_client``).
"""

from __future__ import annotations

from typing import Any

from .. import APIStatusError, ChatResult, StreamError

__all__ = ["error_info", "error_row", "ok_row", "result_body"]


def result_body(result: ChatResult) -> dict[str, Any]:
    """A ChatResult as a ``chat.completion`` object."""
    choices = []
    for c in result.choices:
        message: dict[str, Any] = {"role": c.role or "assistant", "content": c.content}
        if c.reasoning is not None:
            message["reasoning_content"] = c.reasoning
        if c.refusal is not None:
            message["refusal"] = c.refusal
        if c.tool_calls:
            message["tool_calls"] = [
                {"id": t.id, "type": "function", "function": {"name": t.name, "arguments": t.arguments}}
                for t in c.tool_calls
            ]
        choices.append({"index": c.index, "message": message, "finish_reason": c.finish_reason})
    usage = None if result.usage is None else result.usage._asdict()
    return {"id": result.id, "object": "chat.completion", "model": result.model, "choices": choices, "usage": usage}


def ok_row(custom_id: str, result: ChatResult, metrics: dict[str, Any], request_id: str | None) -> dict[str, Any]:
    return {
        "id": f"batch_req_{custom_id}",
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": request_id, "body": result_body(result)},
        "error": None,
        "metrics": metrics,
    }


def error_info(exc: BaseException) -> dict[str, Any]:
    """The ``error`` member of a failed request's row."""
    partial = getattr(exc, "partial", None)
    body = result_body(partial) if isinstance(partial, ChatResult) and partial.choices else None
    status = exc.status_code if isinstance(exc, APIStatusError) else None
    code = None
    if isinstance(exc, StreamError):
        code = exc.code if exc.code is not None else exc.type
    return {"type": type(exc).__name__, "message": str(exc), "status": status, "code": code, "partial": body}


def error_row(custom_id: str, exc: BaseException, metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"batch_req_{custom_id}",
        "custom_id": custom_id,
        "response": None,
        "error": error_info(exc),
        "metrics": metrics,
    }
