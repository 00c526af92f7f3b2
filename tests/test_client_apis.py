"""The chat clients speak each API they decode (OpenAI chat completions,
OpenAI Responses, Anthropic Messages), chosen by ``format``, and their status
errors say what the provider said: sync and async, both twins, against the
real fake server."""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import httpx
import pytest
from _client_helpers import Complete, complete_fixture

from turbosse import APIStatusError, ChatClient, StreamError
from turbosse._http import error_fields
from turbosse.testing import FakeLLMServer, fake_text


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(lifetime=300) as srv:
        yield srv


complete = complete_fixture()


# -- one parameter chooses the API ------------------------------------------------------------


def test_openai_chat_is_the_default(complete: Complete, server: FakeLLMServer) -> None:
    server.reset()
    assert complete(client={"api_key": "sk-x"}, max_tokens=3).content == fake_text(3)
    req = server.requests[-1]
    assert req["path"] == "/v1/chat/completions" and req["headers"]["authorization"] == "Bearer sk-x"
    assert req["json"]["stream_options"] == {"include_usage": True} and req["json"]["messages"][0]["content"] == "hi"


def test_openai_responses(complete: Complete, server: FakeLLMServer) -> None:
    server.reset()
    result = complete(client={"format": "openai-responses", "api_key": "sk-x"}, max_output_tokens=3)
    assert result.content == fake_text(3) and result.finish_reason == "stop"
    req = server.requests[-1]
    assert req["path"] == "/v1/responses" and req["headers"]["authorization"] == "Bearer sk-x"
    assert req["json"]["input"] == [{"role": "user", "content": "hi"}] and req["json"]["stream"] is True
    assert "messages" not in req["json"] and "stream_options" not in req["json"]


def test_anthropic_messages(complete: Complete, server: FakeLLMServer) -> None:
    server.reset()
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    result = complete(client={"format": "anthropic", "api_key": "sk-ant"}, messages=messages, max_tokens=3)
    assert result.content == fake_text(3) and result.usage is not None
    req = server.requests[-1]
    assert req["path"] == "/v1/messages"
    assert req["headers"]["x-api-key"] == "sk-ant" and req["headers"]["anthropic-version"] == "2023-06-01"
    assert "authorization" not in req["headers"]
    body = req["json"]
    assert body["system"] == "Be brief." and body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["max_tokens"] == 3 and body["stream"] is True and "stream_options" not in body


def test_anthropic_urls_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    assert ChatClient(format="anthropic").url == "https://api.anthropic.com/v1/messages"
    assert ChatClient(format="anthropic", base_url="http://h/v1/").url == "http://h/v1/messages"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-env")
    c = ChatClient(format="anthropic", model="claude")
    assert c._settings.headers["x-api-key"] == "from-env"
    assert b'"max_tokens":4096' in c._settings.body([{"role": "user", "content": "x"}], None, {})


def test_a_format_the_clients_cannot_request_is_refused() -> None:
    with pytest.raises(ValueError, match="format='gemini'"):
        ChatClient(format="gemini")


# -- status errors say what the provider said -------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "status", "message", "type_"),
    [
        ("openai", 429, "Rate limit reached for requests", "rate_limit_error"),
        ("anthropic", 529, "Overloaded", "overloaded_error"),
        ("detail", 404, "fake error 404", None),
    ],
)
def test_status_error_fields_and_str(complete: Complete, server: FakeLLMServer, shape: str, status: int,
                                     message: str, type_: str | None) -> None:
    with pytest.raises(APIStatusError) as info:
        complete(fake={"fail_status": status, "error_shape": shape})
    exc = info.value
    assert (exc.status_code, exc.message, exc.type) == (status, message, type_)
    assert exc.url == server.base_url + "/chat/completions"
    text = str(exc)
    assert text.startswith(f"HTTP {status}") and f"from {exc.url}: {message}" in text
    assert "\n" not in text and "{" not in text  # the message, not the raw body
    again = pickle.loads(pickle.dumps(exc))
    assert (again.message, again.type, again.url, str(again)) == (exc.message, exc.type, exc.url, text)


def test_a_missing_v1_says_which_url(complete: Complete, server: FakeLLMServer) -> None:
    with pytest.raises(APIStatusError) as info:
        complete(client={"base_url": server.base_url.removesuffix("/v1") + "/nope"})
    assert info.value.status_code == 404 and info.value.url is not None and info.value.url.endswith("/nope/chat/completions")
    assert info.value.url in str(info.value)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (b'{"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}}',
         ("bad key", "invalid_request_error", "invalid_api_key")),
        (b'{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
         ("Overloaded", "overloaded_error", None)),
        (b'{"error": "model \\"x\\" not found"}', ('model "x" not found', None, None)),
        (b'{"detail": "Not Found"}', ("Not Found", None, None)),
        (b'{"detail": [{"loc": ["body", "model"], "msg": "field required", "type": "missing"}]}',
         ("body.model: field required", "missing", None)),
        (b'{"message": "Too many requests", "code": 429}', ("Too many requests", None, 429)),
        (b"<html>502 Bad Gateway</html>", (None, None, None)),
        (b'["not", "an", "object"]', (None, None, None)),
        (b'{"error": {"message": "cut', (None, None, None)),
    ],
)
def test_error_fields(body: bytes, fields: tuple[object, object, object]) -> None:
    assert error_fields(body) == fields


def test_str_without_a_json_message_is_one_line() -> None:
    exc = APIStatusError(502, "<html>\n  502 Bad Gateway\n</html>", reason="Bad Gateway", url="http://h/v1/x")
    assert str(exc) == "HTTP 502 Bad Gateway from http://h/v1/x: <html> 502 Bad Gateway </html>"


def test_a_servers_error_text_cannot_drive_a_terminal() -> None:
    # str() is one line with control characters escaped; the attributes
    # keep what the server sent
    body = "boom \x1b[2J\x1b[H\n\tgone\x07"
    exc = APIStatusError(500, body, reason="Internal Server Error")
    assert str(exc) == "HTTP 500 Internal Server Error: boom \\x1b[2J\\x1b[H gone\\x07" and exc.body == body
    exc = APIStatusError(400, "{}", message="bad\r\nkey \x1b]0;title\x07")
    assert str(exc) == "HTTP 400: bad key \\x1b]0;title\\x07" and exc.message == "bad\r\nkey \x1b]0;title\x07"
    err = StreamError("overloaded \x1b[31m", type="overloaded_error")
    assert str(err) == "overloaded \\x1b[31m (type='overloaded_error')" and err.message == "overloaded \x1b[31m"


def test_status_error_of_a_response_without_request() -> None:
    from turbosse._http import status_error

    exc = status_error(httpx.Response(500, content=b'{"error": {"message": "boom"}}'), b'{"error": {"message": "boom"}}')
    assert exc.url is None and exc.message == "boom" and str(exc) == "HTTP 500 Internal Server Error: boom"
