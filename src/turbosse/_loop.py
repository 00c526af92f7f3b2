"""A new event loop of the kind asked for: uvloop or asyncio's own, the one
place the library, the fake server, the batch runner and the benchmarks make
their loops."""

from __future__ import annotations

import asyncio

__all__ = ["new_event_loop"]


def new_event_loop(loop: str | bool = "auto") -> asyncio.AbstractEventLoop:
    """``"asyncio"`` (or False): asyncio's loop; ``"uvloop"``: uvloop's, and
    ImportError when it is not installed; ``"auto"`` (or True): uvloop when it
    is installed, else asyncio's."""
    if loop is not False and loop != "asyncio":
        try:
            import uvloop
        except ImportError:
            if loop == "uvloop":
                raise
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()
