"""The deadline thread of the synchronous clients: deadlines run in time
order, once, unless cancelled; from any number of threads; one thread for
all of them (also in a forked child); and a synchronous client starts no
thread per request."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from turbosse import ChatClient
from turbosse._deadlines import call_later
from turbosse.testing import FakeLLMServer, fake_text


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_deadlines_run_in_time_order_once_unless_cancelled() -> None:
    ran: list[str] = []
    start = time.monotonic()
    call_later(0.15, lambda: ran.append("late"))
    call_later(0.05, lambda: ran.append("early"))  # scheduled later, due sooner
    call_later(0.10, lambda: ran.append("middle"))
    call_later(0.08, lambda: ran.append("cancelled")).cancel()
    _wait_for(lambda: len(ran) == 3)
    assert ran == ["early", "middle", "late"]
    assert time.monotonic() - start >= 0.15
    time.sleep(0.05)
    assert ran == ["early", "middle", "late"]  # once each; the cancelled one never


def test_deadlines_from_many_threads() -> None:
    ran: list[int] = []
    lock = threading.Lock()

    def schedule(k: int) -> None:
        for i in range(50):
            def action(n: int = k * 50 + i) -> None:
                with lock:
                    ran.append(n)

            handle = call_later(0.001 * (i % 7), action)
            if i % 5 == 0:
                handle.cancel()

    threads = [threading.Thread(target=schedule, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = {k * 50 + i for k in range(8) for i in range(50) if i % 5}
    _wait_for(lambda: len(ran) >= len(expected))
    time.sleep(0.05)
    assert sorted(ran) == sorted(expected)


def test_one_thread_serves_every_deadline() -> None:
    call_later(0, lambda: None)
    _wait_for(lambda: any(t.name == "turbosse-deadlines" for t in threading.enumerate()))
    before = threading.active_count()
    done = threading.Event()
    for _ in range(200):
        call_later(0.01, lambda: None)
    call_later(0.02, done.set)
    assert threading.active_count() == before
    assert done.wait(5)
    assert [t.name for t in threading.enumerate()].count("turbosse-deadlines") == 1


def test_the_thread_ends_when_idle_and_starts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from turbosse import _deadlines

    monkeypatch.setattr(_deadlines, "IDLE_EXIT", 0.05)

    def ours() -> int:
        return [t.name for t in threading.enumerate()].count("turbosse-deadlines")

    ran = threading.Event()
    call_later(0.01, ran.set)
    assert ran.wait(5) and ours() == 1
    _wait_for(lambda: ours() == 0)  # nothing left to wait for: gone
    again = threading.Event()
    call_later(0.01, again.set)
    assert again.wait(5) and ours() == 1


_FORKED = """
import os, threading
from turbosse._deadlines import call_later
started = threading.Event()
call_later(0, started.set)  # the parent's deadline thread is running
assert started.wait(5)
read, write = os.pipe()
pid = os.fork()
if pid == 0:  # the child has no deadline thread until it schedules a deadline
    ran = threading.Event()
    call_later(0.01, ran.set)
    os.write(write, b"1" if ran.wait(5) else b"0")
    os._exit(0)
os.close(write)
print(os.read(read, 1).decode())
os.waitpid(pid, 0)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_deadlines_run_in_a_forked_child() -> None:
    # in a process of its own: forking a process with threads warns on 3.12+
    out = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "-c", _FORKED],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_a_sync_client_starts_no_thread_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    real_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        started.append(self.name)
        real_start(self)

    with FakeLLMServer() as server, ChatClient(base_url=server.base_url, model="m", transport="httpx") as client:
        client.complete([{"role": "user", "content": "hi"}], fake={"tokens": 2})  # the deadline thread, if not yet
        monkeypatch.setattr(threading.Thread, "start", start)
        for _ in range(20):
            assert client.complete([{"role": "user", "content": "hi"}], fake={"tokens": 2}).content == fake_text(2)
    assert started == [], started
