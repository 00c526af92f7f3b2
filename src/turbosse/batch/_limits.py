"""When a request may start: the offered arrival rate (Poisson or constant
intervals, as ``vllm bench serve --request-rate`` offers load) and the
requests-per-minute and tokens-per-minute limits (token buckets).

The schedule is fixed in advance: the n-th request is due at the sum of the
first n intervals, so a runner held back by its concurrency catches up instead
of drifting (``Summary`` reports whether the offered rate was held). A bucket
refills at ``limit / 60`` per second and holds one second's worth (at least
one request); a request whose token estimate exceeds that still goes once
the bucket is full, taking it below zero. Tokens are estimated before a
request (prompt characters / 4 plus its ``max_tokens``) and corrected by
:meth:`Admission.settle` once its usage is known.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

__all__ = ["Admission", "TokenBucket", "estimate_tokens"]

ARRIVALS = ("poisson", "constant")


class TokenBucket:
    """``per_minute`` units per minute, bursts of one second's worth."""

    def __init__(self, per_minute: float) -> None:
        if per_minute <= 0:
            raise ValueError(f"a per-minute limit must be > 0, not {per_minute}")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self._stamp = time.monotonic()

    def _refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self._stamp) * self.rate)
        self._stamp = now

    def delay(self, cost: float) -> float:
        """Seconds until ``cost`` can be taken (0: now)."""
        self._refill(time.monotonic())
        need = min(cost, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def take(self, cost: float) -> None:
        self.level -= cost

    def give(self, amount: float) -> None:
        """Return (or, negative, charge more of) what an estimate got wrong."""
        self._refill(time.monotonic())
        self.level = min(self.capacity, self.level + amount)


def estimate_tokens(body: dict[str, Any]) -> int:
    """A request's likely token count before it runs: its prompt's characters
    / 4 plus the most tokens it may generate."""
    prompt = body.get("messages", body.get("input", body.get("prompt", "")))
    chars = len(prompt) if isinstance(prompt, str) else len(repr(prompt))
    limit = body.get("max_tokens") or body.get("max_completion_tokens") or body.get("max_output_tokens") or 0
    return chars // 4 + (int(limit) if isinstance(limit, (int, float)) else 0)


class Admission:
    """The gate every request passes before it is sent.

    :param rate: requests per second offered (None: as fast as concurrency
        allows).
    :param arrival: ``"poisson"`` (exponential intervals, the default) or
        ``"constant"``.
    :param rpm, tpm: requests and tokens per minute, or None.
    :param seed: for the Poisson intervals (reproducible schedules).
    """

    def __init__(
        self,
        rate: float | None = None,
        arrival: str = "poisson",
        rpm: float | None = None,
        tpm: float | None = None,
        seed: int | None = None,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be > 0 requests/s, not {rate}")
        if arrival not in ARRIVALS:
            raise ValueError(f"arrival must be one of {', '.join(ARRIVALS)}, not {arrival!r}")
        self.rate = rate
        self.arrival = arrival
        self.rpm = None if rpm is None else TokenBucket(rpm)
        self.tpm = None if tpm is None else TokenBucket(tpm)
        self._random = random.Random(seed)
        self._due: float | None = None
        self.first_due: float | None = None
        self.last_due: float | None = None

    def _interval(self) -> float:
        assert self.rate is not None
        if self.arrival == "constant":
            return 1.0 / self.rate
        return self._random.expovariate(self.rate)

    async def wait(self, tokens: int) -> None:
        """Return once a request estimated at ``tokens`` may start."""
        if self.rate is not None:
            now = time.monotonic()
            if self._due is None:
                self._due = now
                self.first_due = now
            else:
                self._due += self._interval()
            self.last_due = self._due
            if self._due > now:
                await asyncio.sleep(self._due - now)
        for bucket, cost in ((self.rpm, 1.0), (self.tpm, float(tokens))):
            if bucket is None:
                continue
            while (pause := bucket.delay(cost)) > 0:
                await asyncio.sleep(pause)
            bucket.take(cost)

    def settle(self, estimated: int, actual: int | None) -> None:
        """Correct the token bucket once a request's real count is known."""
        if self.tpm is not None and actual is not None:
            self.tpm.give(float(estimated - actual))
