"""Type stubs and documentation of the compiled ChatDecoder (``_decoder_c.pyx``).

It has the same public names, signatures and docstrings as the Python twin,
_decoder_py.py, whose docstrings are the source; tests/test_stubs.py checks
that this stub and the compiled module's help() stay in step with it.
"""

from ._delta import Delta

class ChatDecoder:
    """Incremental decoder: raw ``text/event-stream`` bytes of an LLM
    response in, :class:`Delta` tuples out. Sans-IO.

    :param format: the wire format: ``"openai-chat"``, ``"openai-completions"``
        (same code path: ``choices[].delta`` or ``choices[].text``),
        ``"openai-responses"``, ``"anthropic"``, ``"gemini"`` (native
        ``streamGenerateContent?alt=sse``), ``"gemini-interactions"``,
        ``"cohere"``, ``"watsonx"``, ``"replicate"``, or ``"auto"`` (default):
        decided from the first event.
    :param on_malformed: ``"raise"`` (default) raises :class:`MalformedChunk`
        for an event whose data is not a JSON object (or, in ``"auto"``, of no
        known format); ``"skip"`` skips it and counts it in :attr:`skipped`.
    :param max_event_bytes: passed to the SSEParser (None for no limit).

    ``data: [DONE]`` ends the stream (compared as bytes); so do Anthropic's
    ``message_stop``, the Responses API's ``response.completed``/``failed``/
    ``incomplete``, Cohere's ``message-end``, the Interactions API's
    ``interaction.completed`` and Replicate's ``done``; then :attr:`done` is
    true and later input is ignored. An in-band provider error raises
    :class:`StreamError`. After any exception the decoder refuses more input.
    """

    def __init__(
        self,
        format: str = "auto",
        *,
        on_malformed: str = "raise",
        max_event_bytes: int | None = ...,
    ) -> None: ...
    @property
    def format(self) -> str:
        """The format in use: the one given, or the detected one (``"auto"``
        until the first event decides)."""
    @property
    def done(self) -> bool:
        """The stream reached its format's natural end ([DONE], message_stop,
        response.completed, ...). Some servers send none (llama.cpp without
        --send-done, TGI, Writer, Gemini): then it stays false."""
    @property
    def skipped(self) -> int:
        """Events skipped as malformed (with ``on_malformed="skip"``)."""
    @property
    def events(self) -> int:
        """Events dispatched so far (the numbering MalformedChunk uses)."""
    @property
    def model(self) -> str | None:
        """The first non-empty model name the stream reported."""
    @property
    def id(self) -> str | None:
        """The first non-empty response id the stream reported."""
    @property
    def stop_reasons(self) -> dict[int, str]:
        """The provider's own finish word per choice index, for the formats whose
        words ``finish_reason`` normalises (Anthropic ``stop_reason``, Responses
        status or ``incomplete_details.reason``, Gemini ``finishReason``, Cohere
        ``finish_reason``, watsonx ``stop_reason``, Interactions status); empty
        for OpenAI chat, whose ``finish_reason`` is already the server's word."""
    def feed(self, data: bytes | bytearray | memoryview) -> list[Delta]:
        """Decode the next chunk of bytes; return the deltas it completed."""
    @property
    def complete(self) -> bool:
        """The stream is complete: the format's end marker was seen (see
        :attr:`done`), or some choice started and every choice that started
        has a finish reason. A body that ends while this is false was cut
        short (the clients and ``accumulate`` raise :class:`StreamInterrupted`
        then); an empty body is never complete.

        End markers: ``data: [DONE]`` (OpenAI chat and completions, Azure,
        vLLM, DeepSeek, Groq, Mistral, Ollama, OpenRouter, Together, llama.cpp
        with ``--send-done``), Anthropic's ``message_stop``, the Responses
        API's ``response.completed``/``incomplete``/``failed`` (OpenAI, Azure,
        xAI, DeepSeek, OpenRouter, Bedrock), Cohere's ``message-end``, the
        Interactions API's ``interaction.completed`` and Replicate's ``done``.
        Servers that send none, complete by their finish reasons: Gemini
        native, watsonx, TGI, Writer, Perplexity, llama.cpp without
        ``--send-done``. Some servers end the last event without its blank
        line (``data: [DONE]\\n``): that event is discarded (see
        :attr:`unterminated`), and such a stream is complete by its finish
        reasons."""
    @property
    def unterminated(self) -> bool:
        """After :meth:`close`: the body ended inside an event (a line with
        no line end, or field lines with no blank line after them), whose
        bytes were discarded as the standard requires. False before close()
        and after the end marker."""
    def close(self) -> list[Delta]:
        """End of input. An event not followed by its blank line is discarded
        (WHATWG) and reported by :attr:`unterminated`; returns [] (every
        event is decoded as soon as it completes). Check :attr:`complete`
        afterwards to tell a finished stream from a truncated one."""
