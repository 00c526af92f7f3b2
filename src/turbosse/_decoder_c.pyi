"""Type stubs and documentation of the compiled ChatDecoder (``_decoder_c.pyx``).

It behaves exactly like ``turbosse._decoder_py.ChatDecoder``; see that class
for the full documentation of formats, errors and end-of-stream rules.
"""

from ._delta import Delta

class ChatDecoder:
    """Incremental decoder: raw ``text/event-stream`` bytes of an LLM response
    in, Delta tuples out; framing, orjson decoding and delta building fused in
    one pass per ``feed()``.

    :param format: ``"auto"`` (default), ``"openai-chat"``,
        ``"openai-completions"``, ``"openai-responses"``, ``"anthropic"``,
        ``"gemini"``, ``"cohere"`` or ``"watsonx"``.
    :param on_malformed: ``"raise"`` (MalformedChunk) or ``"skip"`` (counted
        in :attr:`skipped`).
    :param max_event_bytes: the SSEParser limit (None for none).
    """

    def __init__(
        self,
        format: str = "auto",
        *,
        on_malformed: str = "raise",
        max_event_bytes: int | None = ...,
    ) -> None: ...
    @property
    def format(self) -> str: ...
    @property
    def done(self) -> bool: ...
    @property
    def skipped(self) -> int: ...
    @property
    def events(self) -> int: ...
    @property
    def model(self) -> str | None: ...
    @property
    def id(self) -> str | None: ...
    def feed(self, data: bytes | bytearray | memoryview) -> list[Delta]: ...
    def close(self) -> list[Delta]: ...
