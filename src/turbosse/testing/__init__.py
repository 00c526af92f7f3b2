"""A fake OpenAI/Anthropic-compatible streaming server for tests and benchmarks.

:class:`FakeLLMServer` is a real HTTP/1.1 server on 127.0.0.1 (a free port by
default). It serves ``POST /v1/chat/completions``, ``POST /v1/responses``
(the OpenAI Responses API) and ``POST /v1/messages`` (Anthropic), each
streaming and not, with deterministic token text (:func:`fake_text`), so a
test can assert exactly what a client received.

Every request can choose how the server behaves, through a ``"fake"`` member in
the JSON body (``extra_body={"fake": {...}}`` with the openai SDK, or any extra
parameter with turbosse's clients) or an ``x-fake`` header holding JSON; the
server's constructor sets the defaults. The options, with their defaults, are
in :data:`OPTIONS`:

- The stream: ``tokens`` (the request's ``max_tokens``,
  ``max_completion_tokens`` or ``max_output_tokens``, else 32),
  ``tokens_per_second`` (0: as fast as the socket takes them), ``ttft``
  (seconds before the first event), ``events_per_write`` (1), ``crlf`` line
  endings, ``reasoning_tokens``, ``tool_calls`` (a number of parallel calls,
  after the content; ``tool_arg_chunks`` fragments each), ``usage`` (None: as
  the request's ``stream_options.include_usage`` asks), ``replay`` (a corpus
  file served verbatim).
- The HTTP response: ``framing`` (``"chunked"``, ``"content-length"``, or
  ``"close"``: neither, the body ends when the connection closes), ``gzip``
  (Content-Encoding, flushed per write), ``gzip_bomb`` (N MiB of
  ``gzip_bomb_fill``, ``"\n"`` by default, before the first event: a small
  body that expands to many MB), ``content_type`` (sent as given),
  ``header_line_bytes`` (one response header line of N bytes),
  ``response_body`` (a 200 that is not an event stream: a string, sent as
  HTML unless ``content_type`` says otherwise, or a JSON value),
  ``idle_close_ms`` (close a keep-alive connection when no request follows
  within N ms). A request with ``Expect: 100-continue`` gets
  ``100 Continue`` before its body is read.
- Faults: ``fail_status`` (e.g. 429 or 503, with ``retry_after`` seconds or
  ``"date:N"`` for an HTTP-date N seconds ahead, ``retry_after_ms``, and
  ``error_shape``: ``"openai"`` (default), ``"anthropic"`` or ``"detail"``
  (FastAPI); ``error_type`` names the error). Counted in delta events:
  ``disconnect_after`` (drop the connection), ``end_after`` (end the body
  cleanly: no end marker, no finish reason, whatever the ``framing``),
  ``malformed_after``, ``error_after`` (an in-band error event, then the
  response ends; ``error_type``), ``stall_after`` (no bytes for ``stall``
  seconds) and ``invalid_chunk_after`` (a chunk size line that is not hex,
  then close). And: ``hang_after_done`` (after the end marker, ``[DONE]``,
  ``message_stop`` or ``response.completed``, the body stays open: ``true``
  for ever, or N seconds), ``trickle_ms`` (the body one byte per write every N
  ms; the first ``trickle_bytes`` then the rest at once, or, when that is
  None, for ever: blank lines once the stream is out), ``endless_headers``
  (header lines for ever, never a body), ``respond_before_body`` (given in the
  ``x-fake`` header: the response, then close, before the request body is
  read). A fault applies to every request, or with ``fail_times=N`` to the
  first N requests sharing a ``fail_key``: "429 twice, then success".

Responses are rendered to bytes once per request shape and cached, and served
from timer callbacks on one event loop, so the server is cheap; for benchmarks
run it in its own process with ``FakeLLMServer(process=True)`` (or
``turbosse serve``) so that its CPU time is not counted against the client.

Every server stops itself: when its ``lifetime`` (seconds, default 600) runs
out, when the context manager exits, and, for a server process, when the parent
process goes away.

Use it as a context manager::

    with FakeLLMServer() as server:
        client = turbosse.ChatClient(base_url=server.base_url, model="gpt-fake")

or, in pytest, add ``pytest_plugins = ["turbosse.testing"]`` to a conftest (or
import :func:`fake_llm_server` into it) and take the ``fake_llm_server``
fixture, one server per test session.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from ._content import fake_text, fake_token, tool_arguments
from ._fake_llm_server import FakeLLMServer
from ._options import OPTION_DEFAULTS

__all__ = ["OPTIONS", "FakeLLMServer", "fake_llm_server", "fake_text", "fake_token", "tool_arguments"]

#: The per-request options and their defaults (read-only copy).
OPTIONS: dict[str, Any] = dict(OPTION_DEFAULTS)


if "pytest" in sys.modules:  # only under pytest: importing it elsewhere costs time
    import pytest

    @pytest.fixture(scope="session")
    def fake_llm_server() -> Iterator[FakeLLMServer]:
        """A FakeLLMServer (thread mode) shared by the test session."""
        with FakeLLMServer(lifetime=1800.0) as server:
            yield server
