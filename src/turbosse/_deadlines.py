"""One daemon thread that runs the synchronous clients' deadlines.

A synchronous stream that has seen its format's end marker reads on for a
short grace period, then cuts the socket if the server keeps the body open
(see ``_http.finish_body``). A ``threading.Timer`` per stream would start and
stop a thread for every request, about 140 µs of CPU each; here every
deadline of the process waits in one heap, served by one thread started on
first use, gone after a second with nothing to wait for (a process that
stops streaming, or forks, is left no thread of ours), and started again
when needed (also in a child after ``fork``). Cancelling is a flag: a
cancelled deadline is dropped when its time comes, unrun.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections.abc import Callable

__all__ = ["Deadline", "call_later"]

#: Seconds the thread waits with no deadline before it ends.
IDLE_EXIT = 1.0


class Deadline:
    """A scheduled action; :meth:`cancel` keeps it from running."""

    __slots__ = ("when", "action", "cancelled")

    def __init__(self, when: float, action: Callable[[], None]) -> None:
        self.when = when
        self.action = action
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class _Deadlines:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()  # ties run in the order scheduled
        self._thread: threading.Thread | None = None

    def call_later(self, delay: float, action: Callable[[], None]) -> Deadline:
        deadline = Deadline(time.monotonic() + delay, action)
        with self._cond:
            sooner = not self._heap or deadline.when < self._heap[0][0]
            heapq.heappush(self._heap, (deadline.when, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="turbosse-deadlines", daemon=True)
                self._thread.start()
            elif sooner:
                self._cond.notify()
        return deadline

    def _run(self) -> None:
        cond, heap = self._cond, self._heap
        with cond:
            while True:
                if not heap:
                    if not cond.wait(IDLE_EXIT) and not heap:
                        self._thread = None  # decided under the lock: call_later starts another
                        return
                    continue
                when, _, deadline = heap[0]
                wait = when - time.monotonic()
                if wait > 0 and not deadline.cancelled:
                    cond.wait(wait)
                    continue
                heapq.heappop(heap)
                if deadline.cancelled:
                    continue
                cond.release()
                try:
                    deadline.action()
                except Exception:  # pragma: no cover - an action's failure must not stop the others
                    pass
                finally:
                    cond.acquire()

    def _after_fork(self) -> None:
        """In a forked child: the parent's thread is not there, nor its lock's state."""
        self.__init__()  # type: ignore[misc]


_DEADLINES = _Deadlines()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_DEADLINES._after_fork)


def call_later(delay: float, action: Callable[[], None]) -> Deadline:
    """Run ``action()`` on the deadline thread in ``delay`` seconds, unless
    cancelled first. Actions must be short and must not raise."""
    return _DEADLINES.call_later(delay, action)
