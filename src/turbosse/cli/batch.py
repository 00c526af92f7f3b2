"""``turbosse batch``: a JSONL file of requests through an OpenAI-compatible
server, one JSON row per request appended to the output as it finishes, then
a summary. The work is :class:`turbosse.batch._job.BatchJob`'s; this module
reads the options and prints."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any

from ._loop import add_loop_option, use_uvloop
from ._numbers import number

__all__ = ["add_parser", "batch_command"]

#: turbosse.batch._transport.TRANSPORTS, which imports httpx (a test checks they agree)
TRANSPORTS = ("auto", "turbosse", "aiohttp", "httpx")
EXAMPLE = "turbosse batch requests.jsonl -o results.jsonl --url http://localhost:8000/v1 --model my-model"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    b: argparse.ArgumentParser = subparsers.add_parser(
        "batch",
        help="run a JSONL file of requests, writing one result row per request (resumable)",
        description=(
            "Send every request of INPUT (OpenAI Batch API lines {custom_id, method, url, body}, or "
            "plain {\"messages\": [...]} / {\"prompt\": \"...\"} lines) as a stream, and append one JSON "
            "row per request to OUTPUT as it finishes: the result or the error (with the partial "
            "result), and the metrics ttft, itl, tpot, e2el as vllm bench serve defines them. "
            "Rerunning the same command resumes: requests already in OUTPUT are skipped (with "
            "--retry-failed, those that failed run again). Without "
            "--url an embedded fake server answers. Exit status: 0 all requests succeeded, 1 some "
            "failed (their rows say why), 2 bad input or options, 130 interrupted (Ctrl-C), 143 "
            "stopped by SIGTERM; an interrupted run leaves only whole rows."
        ),
        epilog=f"example: {EXAMPLE}",
    )
    b.add_argument("input", metavar="INPUT.jsonl", help="the requests, one JSON object per line (- for stdin)")
    b.add_argument("-o", "--output", required=True, metavar="OUTPUT.jsonl", help="rows are appended here")
    b.add_argument("--url", help="base URL, e.g. http://localhost:8000/v1 (default: an embedded fake server)")
    b.add_argument("--model", help="model for requests that name none (default: gpt-fake without --url)")
    b.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")
    g = b.add_argument_group("load")
    g.add_argument("--concurrency", type=number(int), default=64, help="requests in flight at most (default 64)")
    g.add_argument("--rate", type=number(float), help="requests/s offered (default: as fast as --concurrency allows)")
    g.add_argument("--arrival", choices=("poisson", "constant"), default="poisson", help="intervals between arrivals with --rate (default poisson)")
    g.add_argument("--seed", type=int, help="seed of the Poisson schedule (any integer)")
    g.add_argument("--rpm", type=number(float), help="requests per minute at most (all workers together)")
    g.add_argument("--tpm", type=number(float), help="tokens per minute at most (estimated, then corrected by usage)")
    g.add_argument("--workers", type=number(int), default=1, help="client processes, each with its own event loop (default 1)")
    r = b.add_argument_group("failures")
    r.add_argument("--max-retries", type=number(int, 0, above=False), default=2, help="retries before any content arrived (429, 5xx, connection errors; default 2)")
    r.add_argument("--retry-interrupted", type=number(int, 0, above=False), default=0, metavar="N", help="reissue a stream that broke after content up to N times (default 0)")
    r.add_argument("--deadline", type=number(float), metavar="SECONDS", help="total time a request may take, retries included")
    r.add_argument("--idle-timeout", type=number(float), metavar="SECONDS", help="fail a stream when no byte arrives for this long")
    o = b.add_argument_group("output")
    o.add_argument("--overwrite", action="store_true", help="start OUTPUT afresh instead of resuming it")
    o.add_argument("--retry-failed", action="store_true", help="when resuming, drop the error rows of OUTPUT and run those requests again")
    o.add_argument("--fsync", action="store_true", help="fsync after every row (survives power loss, slower)")
    o.add_argument("--summary-json", metavar="PATH", help="also write the summary as JSON here")
    o.add_argument("--slo", metavar="ttft=MS,tpot=MS,e2el=MS", help="SLOs in milliseconds for the goodput figure")
    o.add_argument("--progress", choices=("auto", "on", "off"), default="auto", help="live progress on stderr (default: on a terminal)")
    o.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary text")
    x = b.add_argument_group("client")
    x.add_argument("--transport", choices=TRANSPORTS, default="auto", help="HTTP transport (default: the fastest installed)")
    x.add_argument("--coalesce-ms", type=number(float), metavar="MS", help="read each connection at most once per MS milliseconds (turbosse transport): less CPU, coarser timing metrics")
    x.add_argument("--fake-options", default="{}", metavar="JSON", help="options of the embedded fake server (pacing, faults; default {\"tokens_per_second\": 100, \"ttft\": 0.05})")
    add_loop_option(b)  # this process's loop and every worker's
    b.set_defaults(func=batch_command)
    return b


def batch_command(args: argparse.Namespace) -> int:
    from .. import SSEError
    from .._client_settings import check_api_key
    from .._loop import Interrupted, new_event_loop, run_until_signal
    from ..batch import parse_slo
    from ..batch._job import BatchJob
    from ..batch._summary import format_summary

    try:
        check_api_key(args.api_key, name="--api-key")  # every request would fail on it
        slo = parse_slo(args.slo) if args.slo else {}
        fake = json.loads(args.fake_options)
        if not isinstance(fake, dict):
            raise ValueError("--fake-options must be a JSON object")
        loop_name = "uvloop" if use_uvloop(args.loop) else "asyncio"
        if args.input != "-" and os.path.exists(args.output) and os.path.exists(args.input) \
                and os.path.samefile(args.input, args.output):  # fmt: skip
            raise ValueError("OUTPUT is INPUT: the rows would be appended to the requests")
        if args.summary_json:
            _check_writable(args.summary_json)
    except ValueError as exc:
        print(f"turbosse batch: {exc}", file=sys.stderr)
        return 2
    client_options: dict[str, Any] = {"max_retries": args.max_retries}
    if args.idle_timeout is not None:
        client_options["idle_timeout"] = args.idle_timeout
    if args.coalesce_ms is not None:
        if args.transport not in ("auto", "turbosse"):
            print("turbosse batch: --coalesce-ms needs --transport turbosse", file=sys.stderr)
            return 2
        client_options["coalesce_ms"] = args.coalesce_ms
        args.transport = "turbosse"
    progress = {"auto": None, "on": True, "off": False}[args.progress]
    server = None
    url, model = args.url, args.model
    if url is None:
        from ..testing import FakeLLMServer

        try:
            fake = {"tokens_per_second": 100.0, "ttft": 0.05, **fake}
            server = FakeLLMServer(process=True, lifetime=None, **fake).start()
        except TypeError as exc:
            print(f"turbosse batch: --fake-options: {exc}", file=sys.stderr)
            return 2
        url, model = server.base_url, model or "gpt-fake"
    job = BatchJob(
        args.input, args.output, url, model=model, api_key=args.api_key, concurrency=args.concurrency,
        rate=args.rate, arrival=args.arrival, rpm=args.rpm, tpm=args.tpm, seed=args.seed,
        retry_interrupted=args.retry_interrupted, deadline=args.deadline, client_options=client_options,
        transport=args.transport, workers=args.workers, loop=loop_name, resume=not args.overwrite,
        retry_failed=args.retry_failed,
        fsync=args.fsync, slo=slo, progress=False if args.quiet else progress,
    )  # fmt: skip
    loop = new_event_loop(loop_name)
    try:
        summary = run_until_signal(loop, job.run())
    except KeyboardInterrupt as exc:
        print(f"turbosse batch: interrupted; the rows in {args.output} are complete, rerun to resume", file=sys.stderr)
        return 128 + exc.signum if isinstance(exc, Interrupted) else 130
    except (OSError, SSEError) as exc:
        print(f"turbosse batch: {exc}", file=sys.stderr)
        return 2
    finally:
        loop.close()
        if server is not None:
            server.stop()
    if args.summary_json:
        try:
            with open(args.summary_json, "w", encoding="utf-8") as fh:
                json.dump(_finite(summary), fh, indent=2, allow_nan=False)
                fh.write("\n")
        except OSError as exc:
            print(f"turbosse batch: --summary-json: {exc}", file=sys.stderr)
            return 2
    if not args.quiet:
        if summary["failed_rows_redone"]:
            print(f"resumed: {summary['failed_rows_redone']} failed rows were dropped from {args.output} and run again", file=sys.stderr)
        if summary["skipped"]:
            print(f"resumed: {summary['skipped']} requests already in {args.output} were skipped", file=sys.stderr)
        print(format_summary(summary), file=sys.stderr)
    return 1 if summary["failed"] else 0


def _check_writable(path: str) -> None:
    """A ValueError now for a summary path that cannot be written, not an
    OSError after the whole batch has run."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"--summary-json: {path} is a directory")
    if not os.path.isdir(folder):
        raise ValueError(f"--summary-json: no such directory: {folder}")
    if not os.access(path if os.path.exists(path) else folder, os.W_OK):
        raise ValueError(f"--summary-json: {path} is not writable")


def _finite(value: Any) -> Any:
    """The summary with null for what no request measured (NaN there: JSON
    has no NaN, and strict parsers refuse the bare token)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
