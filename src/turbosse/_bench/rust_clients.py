"""The Rust-backed contenders of ``turbosse bench``: OpenAI-style clients
written in Rust with a Python binding (today ``f3dx``), pointed at the same
fake server as every other contender so a user can compare what they might
pick instead. Registered in :data:`.clients.CLIENTS` like every other
contender, and skipped ("not installed") where the package is missing."""

from __future__ import annotations

from typing import Any

from .clients import API_KEY, Tick, client, request_body

__all__: list[str] = []


@client("f3dx", "f3dx OpenAI (Rust), sync, threads", needs=("f3dx",), sync=True, parser="none")
def f3dx_sync(url: str) -> Any:
    # no stubs nor py.typed: missing where it is not installed, untyped where it is
    import f3dx  # type: ignore[import-not-found,import-untyped,unused-ignore]

    # http2=False: the fake server (like most local servers) speaks HTTP/1.1
    # over plain TCP, and f3dx's default (HTTP/2 prior knowledge) fails there
    sdk = f3dx.OpenAI(api_key=API_KEY, base_url=url, timeout=120.0, http2=False)

    def one(fake: dict[str, Any], tick: Tick = None) -> tuple[int, str]:
        parts: list[str] = []
        # the request is a plain dict sent as the body, so the fake options ride along
        for chunk in sdk.chat_completions_create_stream(request_body(fake)):
            choices = chunk.get("choices")
            if choices:
                text = choices[0]["delta"].get("content")
                if text:
                    parts.append(text)
                    if tick is not None:
                        tick()
        return len(parts), "".join(parts)

    def close() -> None:  # f3dx's client has no close(); its pool goes with the object
        pass

    return one, close
