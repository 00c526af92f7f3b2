"""Event loops: a new one of the kind asked for (uvloop or asyncio's own),
the one place the library, the fake server, the batch runner and the
benchmarks make their loops; and running a coroutine on one so that SIGINT
and SIGTERM stop it cleanly."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["Interrupted", "new_event_loop", "run_until_signal"]

T = TypeVar("T")


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


class Interrupted(KeyboardInterrupt):
    """The coroutine given to :func:`run_until_signal` was cancelled by a
    signal; ``signum`` says which (exit with ``128 + signum``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def run_until_signal(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on ``loop`` (from the main thread) until it returns; on
    SIGINT or SIGTERM cancel it, let its cleanup run, and raise
    :class:`Interrupted`.

    Without this, Ctrl-C raises KeyboardInterrupt wherever Python happens to
    be, which may be inside a protocol callback: uvloop reports that as a
    fatal error of that one connection and runs on. A signal whose
    disposition was inherited as ignored (``cmd &`` in a script ignores
    SIGINT) stays ignored, as Python leaves it; a second signal while the
    cleanup runs raises KeyboardInterrupt at once."""
    task = loop.create_task(coro)
    caught: list[int] = []
    previous = {
        sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)
        if signal.getsignal(sig) not in (signal.SIG_IGN, None)  # None: a handler not set from Python
    }  # fmt: skip

    def restore() -> None:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            signal.signal(sig, handler)  # uvloop leaves its own handler behind

    def stop(signum: int) -> None:
        if not caught:
            caught.append(signum)
            restore()  # a second signal is not caught: it interrupts the cleanup
            task.cancel()

    for sig in previous:
        loop.add_signal_handler(sig, stop, sig)
    try:
        return loop.run_until_complete(task)
    except asyncio.CancelledError:
        if caught:
            raise Interrupted(caught[0]) from None
        raise
    finally:
        if not caught:
            restore()
