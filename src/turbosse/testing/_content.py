"""The deterministic content of fake responses: token texts and tool-call arguments.

A test computes what a client must have received from these functions alone.
"""

from __future__ import annotations

import orjson

__all__ = ["CREATED", "fake_text", "fake_token", "tool_arguments"]

#: The ``created`` timestamp of every fake response.
CREATED = 1735689600

# Token texts cycle through this list: plain words plus what exercises a JSON
# decoder (escapes, non-ASCII, astral characters, a newline).
_WORDS = (
    "Hello", ",", " world", "!", " The", " quick", " brown", " fox", " jumps", " over",
    " the", " lazy", " dog", ".", " Caf\u00e9", " na\u00efve", " \u4f60\u597d", " \U0001f680",
    ' "quoted"', " tab\t", "\n", " back\\slash", " 42", " tokens",
)  # fmt: skip


def fake_token(i: int) -> str:
    """The text of content token ``i`` (0-based)."""
    return _WORDS[i % len(_WORDS)]


def fake_text(n: int) -> str:
    """The full content of a stream of ``n`` tokens."""
    return "".join(fake_token(i) for i in range(n))


def tool_arguments(i: int) -> str:
    """The complete JSON arguments of fake tool call ``i``."""
    return orjson.dumps({"location": "Paris", "unit": "celsius", "call": i}).decode()


def argument_pieces(i: int, pieces: int) -> list[str]:
    """Tool call ``i``'s arguments cut into at most ``pieces`` fragments."""
    args = tool_arguments(i)
    step = -(-len(args) // max(1, pieces))
    return [args[k : k + step] for k in range(0, len(args), step)]
