"""The end-to-end report: per-token figures, medians and ranges over the
rounds, round-by-round ratios, the tables and the one verdict line."""

from __future__ import annotations

import os
import sys
import textwrap
from typing import Any

from .clients import CLIENTS
from .parsing import paced_capacity
from .timing import median

__all__ = ["failed", "format_report", "round_ratio", "summarize", "verdict"]

WIDTH = 100


def _per_token(r: dict[str, Any]) -> dict[str, float]:
    """One run: tokens/s, CPU, user and system microseconds per token, and
    the other processes' load (CPUs) when known."""
    n = max(r["tokens"], 1)
    out = {"tok_s": r["tokens"] / r["wall"], "cpu": r["cpu"] / n * 1e6, "user": r["user"] / n * 1e6, "sys": r["sys"] / n * 1e6}
    if r.get("others") is not None:
        out["others"] = r["others"]
    return out


def _stats(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """Across a client's runs of one scenario: the median of each per-token
    figure, the least and most CPU per token, the number of runs, and the
    CPU per token of each round (the median of its runs)."""
    runs = (entry or {}).get("runs") or []
    if not runs:
        return None
    per = [_per_token(r) for r in runs]
    cpus = [p["cpu"] for p in per]
    out: dict[str, Any] = {k: median([p[k] for p in per]) for k in ("tok_s", "cpu", "user", "sys")}
    others = [p["others"] for p in per if "others" in p]
    out.update(lo=min(cpus), hi=max(cpus), n=len(per), others=median(others) if others else None)
    rounds: dict[int, list[float]] = {}
    for r, p in zip(runs, per):
        rounds.setdefault(r.get("round", 0), []).append(p["cpu"])
    out["by_round"] = {k: median(v) for k, v in rounds.items()}
    return out


def summarize(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per client and scenario (``unpaced``, ``paced``, ``lockstep``):
    ``<sc>`` (see :func:`_stats`: medians and spread), ``<sc>_ok`` (every
    stream's text was right), ``<sc>_parse`` (its parsing alone) and
    ``<sc>_transport`` (median CPU - parse)."""
    rows: dict[str, dict[str, Any]] = {}
    for name in CLIENTS:
        res = report["results"].get(name)
        if res is None:
            continue
        row: dict[str, Any] = {"skipped": res.get("skipped"), "error": res.get("error")}
        for sc in ("unpaced", "paced", "lockstep"):
            entry = res.get(sc)
            stats = _stats(entry)
            # lockstep reads the paced stream's bytes, one event per read
            parse = report.get("parse", {}).get("paced" if sc == "lockstep" else sc, {}).get(CLIENTS[name].parser)
            row[sc] = stats
            row[sc + "_ok"] = entry.get("ok") if entry else None
            row[sc + "_parse"] = parse
            row[sc + "_transport"] = (stats["cpu"] - parse) if (stats and parse is not None) else None
        rows[name] = row
    return rows


def failed(report: dict[str, Any]) -> list[str]:
    """The clients that failed or read the wrong text in some scenario."""
    out = []
    for name, row in summarize(report).items():
        if row["error"] or any(row.get(sc + "_ok") is False for sc in ("unpaced", "paced", "lockstep")):
            out.append(name)
    return out


def round_ratio(report: dict[str, Any], a: str, b: str, scenario: str = "paced") -> dict[str, Any] | None:
    """Client ``a``'s CPU per token over ``b``'s, compared round by round (the
    two ran in the same round, so the ratio is far steadier on a shared
    machine than a ratio of separately taken figures): ``median``, ``lo``,
    ``hi`` of the per-round ratios and ``n`` rounds; None without data."""
    rows = summarize(report)
    sa, sb = (rows.get(a) or {}).get(scenario), (rows.get(b) or {}).get(scenario)
    if not sa or not sb:
        return None
    pairs = [sa["by_round"][r] / sb["by_round"][r] for r in sorted(sa["by_round"]) if r in sb["by_round"] and sb["by_round"][r] > 0]
    if not pairs:
        return None
    return {"median": median(pairs), "lo": min(pairs), "hi": max(pairs), "n": len(pairs)}


def _times(ratio: float, label: str) -> str:
    """``ratio`` (turbosse's CPU over ``label``'s) in words."""
    if 1 / 1.05 <= ratio <= 1.05:
        return f"about as much as {label}"
    if ratio < 1:
        return f"{1 / ratio:.1f} times less than {label}"
    return f"{ratio:.1f} times more than {label}"


#: The client the verdict speaks of, first that ran: AsyncChatClient as it
#: comes (turbosse's transport when httptools is installed), else on httpx.
_VERDICT_CLIENTS = (("turbosse-transport", "turbosse's transport"), ("turbosse-async", "httpx"))


def verdict(report: dict[str, Any], scenario: str = "paced", mu: str = "\u00b5s") -> str:
    """One plain sentence: turbosse's async client's CPU per token (on its
    default transport when that ran, else on httpx), and how many times less
    that is than httpx-sse + json and the openai SDK on the same streams (the
    per-round ratio, median); empty without data."""
    rows = summarize(report)
    ran = [(name, on) for name, on in _VERDICT_CLIENTS if (rows.get(name) or {}).get(scenario)]
    if not ran:
        return ""
    name, transport = ran[0]
    mine = rows[name][scenario]
    parts = []
    for other, label in (("httpx-sse", "httpx-sse + json"), ("openai", "the openai SDK")):
        r = round_ratio(report, name, other, scenario)
        if r is not None and r["median"] > 0:
            parts.append(_times(r["median"], label))
    sc = {s["name"]: s for s in report["scenarios"]}[scenario]
    streams = f"{sc['streams']} {'paced ' if scenario == 'paced' else ''}streams"
    line = f"turbosse used {mine['cpu']:.1f} {mu} of CPU per token"
    if parts:
        line += ", " + " and ".join(parts)
    return line + f" on the same {streams} (AsyncChatClient on {transport}; medians of per-round ratios)."


def _table(rows: list[list[str]]) -> list[str]:
    """Rows under a header, the first column left-aligned; a first cell too
    long for the report's width is wrapped, the figures on its last line."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    room = WIDTH - 2 - sum(widths[1:]) - 2 * (len(widths) - 1)
    widths[0] = max(20, min(widths[0], room))
    out = []
    for i, r in enumerate(rows):
        *head, last = textwrap.wrap(r[0], widths[0], subsequent_indent="  ") or [""]
        out += ["  " + h for h in head]
        out.append("  " + "  ".join(last.ljust(widths[0]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r)).rstrip())
        if i == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    return out


def _wrap(text: str, indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ")


def format_report(report: dict[str, Any]) -> str:
    mu = "\u00b5s"
    try:
        mu.encode(sys.stdout.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        mu = "us"
    sc = {s["name"]: s for s in report["scenarios"]}
    up, pa = sc["unpaced"], sc["paced"]
    lines = ["turbosse end-to-end benchmark: client side, FakeLLMServer in its own process"]
    lines += _wrap(
        f"{report['rounds']} interleaved round(s), client order rotated each round ({up['repeats']} unpaced run(s) a round); "
        "CPU = process_time of the client process / tokens received; figures are medians over the rounds, with the "
        "least and most CPU per token (range); parse = the client's parsing alone on the same bytes; "
        "transport = CPU - parse (kernel = its system time)."
    )
    loop = report.get("loop")
    lines += _wrap(f"event loop: {'every async client on ' + loop if loop else 'each client its own (uvloop where its label says so, else asyncio)'}")
    lines += _wrap(f"{report['machine']}; {report['versions']}")

    def cell(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    def spread(st: dict[str, Any] | None) -> str:
        if not st or st["n"] < 2:
            return "-"
        return f"{st['lo']:.0f}-{st['hi']:.0f}" if st["lo"] >= 20 else f"{st['lo']:.1f}-{st['hi']:.1f}"

    capacity = paced_capacity(pa["streams"], pa["tokens"], pa["rate"]) if pa["rate"] else float("inf")
    rows = summarize(report)
    notes: list[str] = []
    lagging, others = [], []
    unpaced = [["client", "tok/s", f"CPU {mu}/tok", "range", "parse"]]
    paced = [["client", "tok/s", f"CPU {mu}/tok", "range", "parse", "transport", "kernel"]]
    for name, row in rows.items():
        label = CLIENTS[name].label
        if row["skipped"] or row["error"]:
            notes += _wrap(f"{label}: {row['skipped'] or 'error: ' + str(row['error'])}")
            continue
        u, p = row["unpaced"] or {}, row["paced"] or {}
        if p and p["tok_s"] < 0.85 * capacity:
            lagging.append(label)
        if p and p.get("others") is not None:
            others.append(p["others"])
        unpaced.append([label + ("" if row["unpaced_ok"] else " (WRONG OUTPUT)"), cell(u.get("tok_s"), ",.0f"),
                        cell(u.get("cpu"), ".1f"), spread(u), cell(row["unpaced_parse"], ".1f")])
        paced.append([label + ("" if row["paced_ok"] else " (WRONG OUTPUT)"), cell(p.get("tok_s"), ",.0f"),
                      cell(p.get("cpu"), ".1f"), spread(p), cell(row["paced_parse"], ".1f"),
                      cell(row["paced_transport"], ".1f"),
                      cell(p.get("sys") if p.get("user") or p.get("sys") else None, ".1f")])
    lines += ["", f"unpaced: 1 stream of {up['tokens']} tokens, as fast as the client reads", *_table(unpaced)]
    lines += ["", f"paced: {pa['streams']} concurrent streams x {pa['tokens']} tokens at {pa['rate']:g} tokens/s each",
              *_table(paced), *notes]
    if others:
        lines += _wrap(f"other processes kept a median {median(others):.2f} of the {os.cpu_count()} CPUs busy during "
                       "the paced runs (the more, the noisier the figures)")
    if lagging:
        lines += _wrap(f"read under 85% of the {capacity:,.0f} tokens/s a client that keeps up measures: "
                       f"{', '.join(lagging)}; a client (or a server) that falls behind reads several events per "
                       "wake-up, which lowers CPU per token")
    if "lockstep" in sc:
        ls = sc["lockstep"]
        lines += [""]
        lines += _wrap(
            f"lockstep: the paced workload without its clock ({ls['streams']} streams x {ls['tokens']} tokens). The "
            "server runs on the client's event loop and sends each stream's next event once every stream's last one "
            "was read: one event per read, the same work in every run however busy the machine; its own CPU is "
            f"measured and left out. Async clients only; median (range) of {report.get('lockstep_rounds', '?')} round(s).",
            indent="",
        )
        table = [["client", f"CPU {mu}/tok", "range", "tok/s"]]
        for name, row in rows.items():
            st = row.get("lockstep")
            if st:
                label = CLIENTS[name].label + ("" if row["lockstep_ok"] else " (WRONG OUTPUT)")
                table.append([label, f"{st['cpu']:.1f}", spread(st), f"{st['tok_s']:,.0f}"])
        lines += _table(table)
    line = verdict(report, "paced", mu)
    if line:
        lines += ["", *textwrap.wrap(line, WIDTH)]
    return "\n".join(lines)
