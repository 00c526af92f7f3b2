"""The sync and async code paths are twins: the async code, with its async
words replaced by their sync ones (httpcore's unasync substitutions), must be
the sync code. Compared as syntax trees without docstrings, so comments and
docstrings may differ, code may not."""

from __future__ import annotations

import ast
import difflib
import inspect
import re
import textwrap
from typing import Any

import pytest

import turbosse._client as client
import turbosse._handler as handler
import turbosse._http as http
import turbosse._stream as stream
import turbosse.httpx as facade

# (async spelling, sync spelling), applied in order at word boundaries.
SUBS = [
    ("AsyncByteStream", "SyncByteStream"),
    (r"AsyncGenerator\[(\w+), None\]", r"Generator[\1, None, None]"),
    ("Async([A-Z][A-Za-z0-9_]*)", r"\1"),
    ("async def", "def"),
    ("async with", "with"),
    ("async for", "for"),
    ("await ", ""),
    ("StopAsyncIteration", "StopIteration"),
    ("asynccontextmanager", "contextmanager"),
    ("__aenter__", "__enter__"),
    ("__aexit__", "__exit__"),
    ("__aiter__", "__iter__"),
    ("__anext__", "__next__"),
    ("anyio.sleep", "time.sleep"),
    ("aaccumulate", "accumulate"),
    ("aconnect_sse", "connect_sse"),
    ("aiter_sse", "iter_sse"),
    ("aiter_body", "iter_body"),
    ("aiter_raw", "iter_raw"),
    ("aiter_bytes", "iter_bytes"),
    ("aowned_body", "owned_body"),
    ("adecoded_body", "decoded_body"),
    ("_adecoded", "_decoded"),
    ("aread_snippet", "read_snippet"),
    ("aclose_body", "close_body"),
    ("afinish_body", "finish_body"),
    ("aclose", "close"),
    ("_aempty", "_empty"),
]


def unasync(source: str) -> str:
    for pattern, repl in SUBS:
        end = "" if pattern.endswith((" ", "]")) else r"(?!\w)"
        source = re.sub(rf"(?<!\w){pattern}{end}", repl, source)
    return source


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def normalised(source: str) -> str:
    return ast.unparse(_strip_docstrings(ast.parse(textwrap.dedent(source))))


TWINS: list[tuple[Any, Any]] = [
    (client.AsyncChatStream, client.ChatStream),
    (client.AsyncChatClient, client.ChatClient),
    (stream.AsyncDeltaStream, stream.DeltaStream),
    (stream._aempty, stream._empty),
    (handler.aaccumulate, handler.accumulate),
    (http.aiter_body, http.iter_body),
    (http.aowned_body, http.owned_body),
    (http.aclose_body, http.close_body),
    (http.adecoded_body, http.decoded_body),
    (http._adecoded, http._decoded),
    (http.aread_snippet, http.read_snippet),
    (facade.EventSource.aiter_sse, facade.EventSource.iter_sse),
    (facade.aconnect_sse.__wrapped__, facade.connect_sse.__wrapped__),
]


@pytest.mark.parametrize(("async_obj", "sync_obj"), TWINS, ids=lambda o: o.__qualname__)
def test_async_code_unasynced_is_the_sync_code(async_obj: Any, sync_obj: Any) -> None:
    got = normalised(unasync(inspect.getsource(async_obj)))
    want = normalised(inspect.getsource(sync_obj))
    diff = "\n".join(difflib.unified_diff(want.splitlines(), got.splitlines(), "sync", "unasync(async)", lineterm=""))
    assert got == want, diff


def test_the_check_sees_a_drift() -> None:
    # the comparison is not vacuous: one changed statement shows
    sync = "def f(x):\n    return g(x)\n"
    assert normalised(unasync("async def f(x):\n    return await g(x)\n")) == normalised(sync)
    assert normalised(unasync("async def f(x):\n    return await g(x, 1)\n")) != normalised(sync)
    assert normalised("def f():\n    '''doc'''\n    return 1\n") == normalised("def f():\n    return 1\n")
