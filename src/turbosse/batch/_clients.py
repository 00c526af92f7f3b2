"""The clients of a batch, one per API: a request's ``url`` picks the API
(chat completions, Responses, Anthropic Messages), and each API is spoken by
an :class:`turbosse.AsyncChatClient` of the matching ``format``. Clients the
caller passes are used as they are; the ones made here (for a base URL) are
made on first use and closed at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .. import SSEError
from ._input import api_for_path
from ._transport import aclose_client, make_client

__all__ = ["FORMATS", "ClientSet"]

#: The client ``format`` that speaks each API.
FORMATS = {"chat.completions": "auto", "responses": "openai-responses", "messages": "anthropic"}


def client_api(client: Any) -> str | None:
    """The API a client posts to, read from its endpoint URL."""
    try:
        return api_for_path(urlsplit(client.url).path)
    except (AttributeError, ValueError):
        return None


class ClientSet:
    """``get(api)`` -> the client for that API.

    :param client: an AsyncChatClient (for the API its URL names), or a
        mapping from API name (``"chat.completions"``, ``"responses"``,
        ``"messages"``) to clients; None: make clients for ``base_url``.
    :param options: for :func:`make_client` (model, concurrency, transport,
        retries, ...).
    """

    def __init__(self, client: Any = None, base_url: str | None = None, **options: Any) -> None:
        self._given: dict[str, Any] = {}
        if isinstance(client, Mapping):
            unknown = set(client) - set(FORMATS)
            if unknown:
                raise ValueError(f"unknown API name(s) {sorted(unknown)}: use {', '.join(FORMATS)}")
            self._given = dict(client)
        elif client is not None:
            self._given = {client_api(client) or "chat.completions": client}
        elif base_url is None:
            raise ValueError("pass client= or base_url=")
        self.base_url = base_url if client is None else None
        self.options = options
        self._made: dict[str, Any] = {}

    def get(self, api: str) -> Any:
        client = self._given.get(api) or self._made.get(api)
        if client is not None:
            return client
        if self.base_url is None:
            have = ", ".join(sorted(self._given))
            raise SSEError(f"no client for the {api} API (the batch was given clients for: {have})")
        client = self._made[api] = make_client(self.base_url, format=FORMATS[api], **self.options)
        return client

    async def aclose(self) -> None:
        made, self._made = self._made, {}
        for client in made.values():
            await aclose_client(client)
