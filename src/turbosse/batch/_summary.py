"""The end-of-batch summary, fed one row at a time: requests, errors by type,
tokens, wall time, client CPU per token, whether the offered rate was held,
TTFT / TPOT / ITL / E2EL (mean, median, p90, p99) and goodput against SLOs.

Names and definitions are ``vllm bench serve``'s (``mean_ttft_ms``,
``median_itl_ms``, ``p99_e2el_ms``, ``request_goodput``, ...) so numbers can be
compared side by side: latency statistics over the successful requests,
percentiles by linear interpolation (numpy's default), goodput the successful
requests per second that met every SLO given.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from typing import Any

__all__ = ["METRICS", "Summary", "format_summary", "parse_slo", "percentile"]

METRICS = ("ttft", "tpot", "itl", "e2el")


def percentile(values: Any, q: float) -> float:
    """The q-th percentile (0-100) of sorted ``values``, interpolated linearly."""
    n = len(values)
    if n == 0:
        return math.nan
    pos = (n - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, n - 1)
    return float(values[lo] + (values[hi] - values[lo]) * (pos - lo))


def parse_slo(text: str) -> dict[str, float]:
    """``"ttft=500,tpot=50"`` (milliseconds, any of ttft/tpot/e2el) as a dict;
    ValueError naming what is wrong."""
    slo: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            name, sep, value = part.partition(":")  # vllm's --goodput spelling
        name = name.strip().lower()
        if name not in ("ttft", "tpot", "e2el"):
            raise ValueError(f"unknown SLO {name!r}: use ttft, tpot or e2el (milliseconds)")
        try:
            slo[name] = float(value)
        except ValueError:
            raise ValueError(f"SLO {name} needs a number of milliseconds, not {value!r}") from None
        if not math.isfinite(slo[name]) or slo[name] <= 0:
            raise ValueError(f"SLO {name} must be > 0 ms and finite, not {value.strip()}")
    return slo


class Summary:
    """Statistics over the rows of a batch.

    :param slo: milliseconds per metric (``{"ttft": 500, "tpot": 50}``) for
        goodput; empty: no goodput.
    """

    def __init__(self, slo: dict[str, float] | None = None) -> None:
        self.slo = dict(slo or {})
        self.completed = 0
        self.errors: Counter[str] = Counter()
        self.input_tokens = 0
        self.output_tokens = 0
        self.good = 0
        self.values = {name: array("d") for name in METRICS}

    @property
    def requests(self) -> int:
        return self.completed + sum(self.errors.values())

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def add(self, row: dict[str, Any]) -> None:
        m = row.get("metrics") or {}
        out = m.get("output_tokens") or 0
        self.output_tokens += out
        self.input_tokens += m.get("prompt_len") or 0
        error = row.get("error")
        if error is not None:
            self.errors[error.get("type") or "error"] += 1
            return
        self.completed += 1
        v = self.values
        ttft = m.get("ttft")
        if ttft is not None:
            v["ttft"].append(ttft)
        if out > 1:
            v["tpot"].append(m.get("tpot") or 0.0)
        v["itl"].extend(m.get("itl") or ())
        e2el = m.get("e2el") or 0.0
        v["e2el"].append(e2el)
        if self.slo:
            got = {"ttft": ttft if ttft is not None else math.inf, "tpot": m.get("tpot") or 0.0, "e2el": e2el}
            if all(got[k] * 1000.0 <= limit for k, limit in self.slo.items()):
                self.good += 1

    def result(
        self,
        duration: float,
        cpu_seconds: float | None = None,
        offered_rate: float | None = None,
        schedule: tuple[float, float] | None = None,
    ) -> dict[str, Any]:
        """The summary as a dict of plain numbers.

        :param duration: wall seconds of the batch.
        :param cpu_seconds: the client's CPU time (all its processes).
        :param offered_rate: the requests/s asked for.
        :param schedule: (seconds the arrival schedule spanned, seconds the
            starts actually spanned): the offered rate counts as held when
            the starts took at most 5% (and 50 ms) longer.
        """
        d = max(duration, 1e-9)
        out: dict[str, Any] = {
            "completed": self.completed,
            "failed": self.failed,
            "errors": dict(sorted(self.errors.items())),
            "duration": duration,
            "total_input_tokens": self.input_tokens,
            "total_output_tokens": self.output_tokens,
            "request_throughput": self.requests / d,
            "output_throughput": self.output_tokens / d,
            "total_token_throughput": (self.input_tokens + self.output_tokens) / d,
            "client_cpu_s": cpu_seconds,
            "client_cpu_us_per_token": (
                None if cpu_seconds is None or not self.output_tokens else cpu_seconds * 1e6 / self.output_tokens
            ),
            "offered_request_rate": offered_rate,
            "offered_rate_held": None,
        }
        if offered_rate is not None and schedule is not None:
            planned, actual = schedule
            out["offered_rate_held"] = actual <= planned * 1.05 + 0.05
        for name in METRICS:
            values = sorted(self.values[name])
            n = len(values)
            out[f"mean_{name}_ms"] = sum(values) * 1000.0 / n if n else math.nan
            for label, q in (("median", 50), ("p90", 90), ("p99", 99)):
                out[f"{label}_{name}_ms"] = percentile(values, q) * 1000.0
        if self.slo:
            out["slo_ms"] = dict(self.slo)
            out["request_goodput"] = self.good / d
        return out


def format_summary(s: dict[str, Any]) -> str:
    """The summary as the text ``turbosse batch`` prints."""
    lines = [
        f"requests: {s['completed'] + s['failed']} ({s['completed']} ok, {s['failed']} failed)",
    ]
    if s["errors"]:
        lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in s["errors"].items()))
    lines.append(f"tokens: {s['total_input_tokens']} in, {s['total_output_tokens']} out")
    lines.append(
        f"wall time: {s['duration']:.2f} s, {s['request_throughput']:.1f} requests/s, "
        f"{s['output_throughput']:.0f} output tokens/s"
    )
    if s["client_cpu_s"] is not None:
        per = s["client_cpu_us_per_token"]
        lines.append(f"client CPU: {s['client_cpu_s']:.2f} s" + (f", {per:.1f} us per output token" if per else ""))
    if s["offered_request_rate"] is not None:
        held = {True: "held", False: "NOT held (the client or the limits fell behind)", None: "unknown"}
        lines.append(f"offered rate: {s['offered_request_rate']:g} requests/s, {held[s['offered_rate_held']]}")
    if s["completed"]:
        lines.append(f"{'(ms)':6} {'mean':>10} {'median':>10} {'p90':>10} {'p99':>10}")
        for name in METRICS:
            cells = [s[f"{k}_{name}_ms"] for k in ("mean", "median", "p90", "p99")]
            lines.append(f"{name.upper():6} " + " ".join(f"{c:10.2f}" for c in cells))
    if s.get("coalesce_ms"):
        lines.append(f"(reads coalesced every {s['coalesce_ms']:g} ms: TTFT and ITL are coarser by up to that much)")
    if "request_goodput" in s:
        slo = ", ".join(f"{k}<={v:g}ms" for k, v in s["slo_ms"].items())
        lines.append(f"goodput: {s['request_goodput']:.2f} requests/s meeting {slo}")
    return "\n".join(lines)
