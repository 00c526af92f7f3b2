"""Proof that the compiled twin is the one in use (unless opted out)."""

import os

import turbosse
from turbosse import _parser


def test_compiled_twin_is_loaded() -> None:
    if os.environ.get("TURBOSSE_NO_EXTENSIONS"):
        assert turbosse.IMPLEMENTATION == "python"
        assert turbosse.SSEParser.__module__ == "turbosse._parser_py"
    else:
        from turbosse import _parser_c

        assert turbosse.IMPLEMENTATION == "cython"
        assert turbosse.SSEParser is _parser_c.SSEParser
        assert turbosse.ServerSentEvent is _parser_c.ServerSentEvent
        assert _parser_c.__file__.endswith((".so", ".pyd"))
    assert _parser.IMPLEMENTATION == turbosse.IMPLEMENTATION
