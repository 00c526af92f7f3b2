"""One call through either chat client, decoding with the twin under test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

import turbosse._client_settings
from turbosse import AsyncChatClient, ChatClient, ChatResult
from turbosse.testing import FakeLLMServer

MESSAGES = [{"role": "user", "content": "hi"}]

Complete = Callable[..., ChatResult]


def complete_fixture() -> Any:
    """A ``complete`` fixture, parametrized sync/async: ``complete(handler,
    client={...}, messages=..., **params)`` runs one ``.complete()`` through
    ChatClient or AsyncChatClient (on httpx's transport, and on turbosse's own,
    which decodes where it reads and, for ``complete()``, delivers there too)
    against the module's ``server`` fixture, the decoder being the twin under
    test."""

    @pytest.fixture(params=["sync", "async", "async-turbosse"])
    def complete(request: pytest.FixtureRequest, server: FakeLLMServer, decoder_mod: ModuleType,
                 monkeypatch: pytest.MonkeyPatch) -> Complete:
        monkeypatch.setattr(turbosse._client_settings, "ChatDecoder", decoder_mod.ChatDecoder)

        def call(handler: Any = None, client: dict[str, Any] | None = None, messages: Any = MESSAGES,
                 **params: Any) -> ChatResult:
            options = {"base_url": server.base_url, "model": "m", "max_retries": 0, **(client or {})}
            if request.param == "sync":
                with ChatClient(**options) as c:
                    return c.complete(messages, handler=handler, **params)

            async def main() -> ChatResult:
                transport = "turbosse" if request.param == "async-turbosse" else "httpx"
                async with AsyncChatClient(transport=transport, **options) as c:
                    return await c.complete(messages, handler=handler, **params)

            return asyncio.run(main())

        return call

    return complete
