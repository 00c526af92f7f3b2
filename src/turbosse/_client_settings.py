"""What a chat client knows and decides: the API it speaks, where it sends,
its timeouts and limits, and its retry policy (which failures are retried,
and after how long)."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from . import DEFAULT_MAX_EVENT_BYTES
from ._accumulator import ChatResult
from ._api import api_for
from ._errors import (
    APIStatusError,
    DeadlineExceeded,
    IdleTimeout,
    SSEError,
    StreamError,
    StreamInterrupted,
)
from ._impl import ChatDecoder
from ._version import __version__

__all__ = ["DEFAULT_LIMITS", "DEFAULT_MAX_BYTES_WITHOUT_EVENT", "DEFAULT_MAX_RETRIES", "DEFAULT_TIMEOUT", "Settings", "check_api_key"]

DEFAULT_TIMEOUT = 600.0
DEFAULT_MAX_RETRIES = 2
# Room for a thousand-stream batch and its stragglers; the turbosse transport
# keeps as many idle, httpx at most HTTPX_MAX_KEEPALIVE (see _transport.choose).
DEFAULT_LIMITS = httpx.Limits(max_connections=2048, max_keepalive_connections=100)
RETRY_STATUSES = frozenset({408, 409, 429})
# An in-band error whose type or code contains one of these is transient.
_TRANSIENT_MARKERS = ("overload", "server_error", "rate_limit", "internal", "unavailable", "timeout", "api_error", "capacity")
# Transport failures worth another attempt (not ProxyError, UnsupportedProtocol, ...).
_RETRY_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def is_transient_stream_error(exc: StreamError) -> bool:
    text = f"{exc.type or ''} {exc.code or ''}".lower()
    return any(marker in text for marker in _TRANSIENT_MARKERS)


class Settings:
    """What a client knows: which API, where to send, how to retry, the limits."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        model: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        idle_timeout: float | None,
        deadline: float | None,
        max_bytes_without_event: int | None,
        headers: dict[str, str] | None,
        format: str,
        on_malformed: str,
        backoff_initial: float,
        backoff_max: float,
        retry_after_max: float,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, not {max_retries}")
        idle_timeout = _limit("idle_timeout", idle_timeout)
        deadline = _limit("deadline", deadline)
        max_bytes_without_event = _limit("max_bytes_without_event", max_bytes_without_event)
        if isinstance(timeout, tuple):  # (connect, read, write, pool), as httpx takes it
            timeout = httpx.Timeout(timeout)
        if isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(**{part: _limit(f"timeout.{part}", getattr(timeout, part))
                                       for part in ("connect", "read", "write", "pool")})
        else:
            timeout = _limit("timeout", timeout)
        self.api = api_for(format)
        self.url = self.api.url(base_url)
        try:  # a URL no request can go to is said now, not at the first request
            self._http_url: httpx.URL | None = httpx.URL(self.url)
        except httpx.InvalidURL as exc:
            raise ValueError(f"base_url: {self.url!r} is not a valid URL: {exc}") from None
        self.model = model
        self.max_retries = max_retries
        self.idle_timeout = idle_timeout
        self.deadline = deadline
        self.max_bytes_without_event = max_bytes_without_event if max_bytes_without_event is not None else _NO_LIMIT
        self.format = format
        self.on_malformed = on_malformed
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        #: Called with the error of each attempt that is to be retried.
        self.on_retry: Callable[[BaseException], None] | None = None
        base = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        # idle_timeout is the read timeout: httpx applies it to every read.
        self.timeout = base if idle_timeout is None else httpx.Timeout(
            connect=base.connect, read=idle_timeout, write=base.write, pool=base.pool
        )
        hdrs = {
            "content-type": "application/json",
            "accept": "text/event-stream",
            "user-agent": f"turbosse/{__version__}",
        }
        auth = self.api.auth_headers(api_key)
        extra = {k.lower(): v for k, v in (headers or {}).items()}
        hdrs.update(auth)
        hdrs.update(extra)
        for name, value in extra.items():
            if auth.get(name) != value:
                _check_header(value, f"header {name!r}")
        # the key, from api_key= or the environment, unless a header replaced it
        _check_key({k: v for k, v in auth.items() if extra.get(k, v) == v}, _key_name(self.api))
        self.headers = hdrs

    @property
    def http_url(self) -> httpx.URL:
        """``url`` parsed once: httpx parses a ``str`` URL again for every
        request (half of building one)."""
        url = self._http_url
        if url is None:
            url = self._http_url = httpx.URL(self.url)
        return url

    def body(self, messages: Any, model: str | None, params: dict[str, Any]) -> bytes:
        model = model or self.model
        if not model:
            raise ValueError("no model: pass model= to the client or to the call")
        return self.api.body(messages, model, params)

    def deadline_at(self) -> float:
        """The monotonic time by which a response starting now must end."""
        return time.monotonic() + self.deadline if self.deadline is not None else math.inf

    def request_timeout(self, deadline_at: float) -> httpx.Timeout:
        """The httpx timeout, each part cut to the time left before the deadline."""
        if deadline_at == math.inf:
            return self.timeout
        left = max(0.001, deadline_at - time.monotonic())
        t = self.timeout
        return httpx.Timeout(
            connect=_at_most(t.connect, left), read=_at_most(t.read, left),
            write=_at_most(t.write, left), pool=_at_most(t.pool, left),
        )  # fmt: skip

    def delay(self, error: BaseException, delivered: bool, attempt: int, deadline_at: float) -> float | None:
        """Seconds to wait before another attempt, or None: do not retry."""
        if delivered or attempt >= self.max_retries:
            return None
        requested: float | None = None
        if isinstance(error, APIStatusError):
            if error.status_code not in RETRY_STATUSES and not 500 <= error.status_code < 600:
                return None
            requested = error.retry_after
        elif isinstance(error, StreamError):
            if not is_transient_stream_error(error):
                return None
        elif not isinstance(error, _RETRY_TRANSPORT) or time.monotonic() >= deadline_at:
            return None
        if requested is not None:
            wait = float(requested)
            if wait > self.retry_after_max:
                return None
        else:
            wait = min(self.backoff_max, self.backoff_initial * 2.0**attempt) * (1.0 - 0.25 * random.random())
        if time.monotonic() + wait >= deadline_at:
            return None
        if self.on_retry is not None:
            self.on_retry(error)
        return wait

    def interrupted(self, error: BaseException, partial: ChatResult, deadline_at: float) -> SSEError:
        """The error for a failed transport, carrying the partial result."""
        if isinstance(error, httpx.TimeoutException) and time.monotonic() >= deadline_at - 0.001:
            return DeadlineExceeded(self.deadline if self.deadline is not None else math.inf, partial)
        if isinstance(error, httpx.ReadTimeout):
            read = self.timeout.read
            return IdleTimeout(read if read is not None else math.inf, error, partial)
        return StreamInterrupted(error, partial)

    def decoder(self) -> Any:
        return ChatDecoder(self.format, on_malformed=self.on_malformed)


#: max_bytes_without_event=None: no limit.
_NO_LIMIT = 2**63
#: The default max_bytes_without_event: four events of the decoder's largest.
DEFAULT_MAX_BYTES_WITHOUT_EVENT = 4 * DEFAULT_MAX_EVENT_BYTES


def check_api_key(api_key: str | None, format: str = "auto", name: str = "api_key") -> None:
    """The ValueError a client would raise for ``api_key`` (None: the API's
    environment variable), said before any client is made; ``name`` is the
    key's in the message (``--api-key (or $OPENAI_API_KEY) holds ...``)."""
    api = api_for(format)
    _check_key(api.auth_headers(api_key), _key_name(api, name))


def _key_name(api: Any, name: str = "api_key") -> str:
    return f"{name} (or ${api.api_key_env})"


def _check_key(auth: dict[str, str], what: str) -> None:
    for value in auth.values():
        _check_header(value.removeprefix("Bearer "), what)


def _limit(name: str, value: Any) -> Any:
    """A limit given as a number (seconds, bytes): None or infinity is no
    limit (None); NaN, zero and below are a ValueError."""
    if value is None or value == math.inf:
        return None
    if math.isnan(value) or value <= 0:
        raise ValueError(f"{name} must be > 0 or None, not {value}")
    return value


def _check_header(value: str, what: str) -> None:
    """A ValueError now, naming the character, for a header every transport
    would refuse later with a bare UnicodeEncodeError (httpx sends header
    text as ASCII): typically a quote or space pasted with an API key."""
    if isinstance(value, bytes):
        return  # already octets: sent as they are
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if not value.isascii():
        pos, char = next((i, c) for i, c in enumerate(value) if not c.isascii())
        raise ValueError(f"{what} holds {char!r} at position {pos}, which an HTTP header cannot carry "
                         f"(only ASCII): a character pasted with it by mistake?")  # fmt: skip
    if "\r" in value or "\n" in value:
        raise ValueError(f"{what} holds a line break, which an HTTP header cannot carry")


def _at_most(value: float | None, limit: float) -> float:
    return limit if value is None else min(value, limit)
