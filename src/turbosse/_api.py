"""The chat APIs the clients speak: for each, the endpoint, the
authentication headers and the streaming request body.

- OpenAI chat completions (``format="auto"`` or ``"openai-chat"``):
  ``POST {base_url}/chat/completions``, ``Authorization: Bearer``, body with
  ``messages``, ``stream: true`` and ``stream_options.include_usage``;
- OpenAI Responses (``"openai-responses"``): ``POST {base_url}/responses``,
  ``Authorization: Bearer``, body with ``input`` (the messages) and
  ``stream: true``;
- Anthropic Messages (``"anthropic"``): ``POST {base_url}/v1/messages`` (or
  ``{base_url}/messages`` when ``base_url`` already ends in ``/v1``),
  ``x-api-key`` and ``anthropic-version``, body with ``messages``,
  ``max_tokens`` (default 4096; the API requires it), ``stream: true`` and
  the system messages moved to ``system``.

Every other keyword goes into the body unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from . import _exactjson

__all__ = ["API", "ANTHROPIC_VERSION", "api_for"]

ANTHROPIC_VERSION = "2023-06-01"
ANTHROPIC_DEFAULT_MAX_TOKENS = 4096


@dataclass(frozen=True)
class API:
    """One chat API: its name, where it lives and how it authenticates."""

    name: str  # "openai-chat", "openai-responses" or "anthropic"
    default_base_url: str
    base_url_env: str
    api_key_env: str

    def url(self, base_url: str | None) -> str:
        base = (base_url or os.environ.get(self.base_url_env) or self.default_base_url).rstrip("/")
        if self.name == "anthropic":
            return base + ("/messages" if base.endswith("/v1") else "/v1/messages")
        return base + ("/responses" if self.name == "openai-responses" else "/chat/completions")

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        key = api_key if api_key is not None else os.environ.get(self.api_key_env)
        if self.name == "anthropic":
            headers = {"anthropic-version": ANTHROPIC_VERSION}
            if key:
                headers["x-api-key"] = key
            return headers
        return {"authorization": f"Bearer {key}"} if key else {}

    def body(self, messages: Any, model: str, params: dict[str, Any]) -> bytes:
        """The JSON request body; ``params`` (the caller's keywords) is not
        modified. A value JSON cannot carry is a ValueError or TypeError that
        names its place (:func:`turbosse._exactjson.dumps`)."""
        params = dict(params)
        if params.pop("stream", True) is not True:
            raise ValueError("a chat client always streams; use .complete() for a single result")
        body: dict[str, Any] = {"model": model}
        if self.name == "openai-chat":
            body["messages"] = messages
            options = {"include_usage": True}
            options.update(params.pop("stream_options", None) or {})
            body["stream_options"] = options
        elif self.name == "openai-responses":
            body["input"] = messages
        else:
            system = [m for m in messages if isinstance(m, dict) and m.get("role") == "system"]
            if system and "system" not in params:
                body["system"] = "\n\n".join(_text(m.get("content")) for m in system)
                messages = [m for m in messages if not (isinstance(m, dict) and m.get("role") == "system")]
            body["messages"] = messages
            body["max_tokens"] = params.pop("max_tokens", ANTHROPIC_DEFAULT_MAX_TOKENS)
        body["stream"] = True
        body.update(params)
        return _exactjson.dumps(body)


def _text(content: Any) -> str:
    """A system message's text (a string, or OpenAI's list of text parts)."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


_OPENAI_CHAT = API("openai-chat", "https://api.openai.com/v1", "OPENAI_BASE_URL", "OPENAI_API_KEY")
_APIS = {
    "auto": _OPENAI_CHAT,
    "openai-chat": _OPENAI_CHAT,
    "openai-responses": API("openai-responses", "https://api.openai.com/v1", "OPENAI_BASE_URL", "OPENAI_API_KEY"),
    "anthropic": API("anthropic", "https://api.anthropic.com", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"),
}


def api_for(format: str) -> API:
    """The API a client with this ``format`` requests; ValueError for a
    format the clients decode but cannot request."""
    api = _APIS.get(format)
    if api is None:
        raise ValueError(
            f"the chat clients request the OpenAI chat, OpenAI Responses and Anthropic Messages APIs "
            f"(format 'auto', 'openai-chat', 'openai-responses' or 'anthropic'), not format={format!r}; "
            "to decode another API, send the request yourself and pass its bytes to turbosse.accumulate"
        )
    return api
