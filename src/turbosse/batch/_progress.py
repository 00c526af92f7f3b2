"""The live progress line of ``turbosse batch``: requests done and failed,
output tokens/s and ETA, drawn with tqdm when installed (the ``progress``
extra), else a plain line rewritten in place; shown only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import IO, Any

__all__ = ["Progress"]


class Progress:
    """Call :meth:`update` per row and :meth:`close` at the end.

    :param total: requests expected (None: unknown, no ETA).
    :param enabled: None: only when ``stream`` is a terminal.
    """

    def __init__(self, total: int | None, *, enabled: bool | None = None, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = total
        self.done = 0
        self.failed = 0
        self.tokens = 0
        self._start = time.monotonic()
        self._drawn = 0.0
        self._bar: Any = None
        if self.enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self._bar = tqdm(total=total, unit="req", file=self.stream, dynamic_ncols=True)

    def update(self, row: dict[str, Any]) -> None:
        self.done += 1
        self.failed += row.get("error") is not None
        self.tokens += (row.get("metrics") or {}).get("output_tokens") or 0
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn < 0.2 and (self.total is None or self.done < self.total):
            if self._bar is not None:
                self._bar.update(1)
            return
        self._drawn = now
        rate = self.tokens / max(now - self._start, 1e-9)
        if self._bar is not None:
            self._bar.set_postfix(failed=self.failed, tok_s=f"{rate:.0f}", refresh=False)
            self._bar.update(1)
            return
        eta = ""
        if self.total:
            per = (now - self._start) / self.done
            eta = f", ETA {per * (self.total - self.done):.0f} s"
        of = f"/{self.total}" if self.total is not None else ""
        self.stream.write(f"\r{self.done}{of} requests, {self.failed} failed, {rate:.0f} tokens/s{eta}  ")
        self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()
