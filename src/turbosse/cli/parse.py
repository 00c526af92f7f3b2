"""``turbosse parse``: a recorded or piped SSE body printed as JSON lines
(events, deltas or the final result)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import IO, Any

import orjson

from .._errors import printable
from ._numbers import number

__all__ = ["MAX_CHUNK_SIZE", "add_parser", "delta_json", "parse_command"]

#: The largest --chunk-size: each read allocates a buffer that large.
MAX_CHUNK_SIZE = 64 * 1024 * 1024


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from .._formats import FORMATS

    p: argparse.ArgumentParser = subparsers.add_parser(
        "parse",
        help="decode a recorded or piped SSE stream into JSON lines",
        description=(
            "Read a text/event-stream body from FILE (or - for stdin, as it arrives) and print "
            "one JSON object per line: the SSE events, the decoded deltas (default), or the "
            "final result. On an in-band error, malformed data or a stream that ends before it is "
            "complete (no end marker and no finish reason), what was decoded is printed, then the "
            "error goes to stderr and the exit status is 1."
        ),
    )
    p.add_argument("file", metavar="FILE", help="the stream body, or - for standard input")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--events", dest="what", action="store_const", const="events",
                      help="print SSE events: event, data, id, retry")
    what.add_argument("--deltas", dest="what", action="store_const", const="deltas",
                      help="print deltas, fields that are set only (default)")
    what.add_argument("--result", dest="what", action="store_const", const="result",
                      help="print the final result: choices, usage, model, id")
    p.add_argument("--format", default="auto", choices=sorted(FORMATS),
                   help="wire format (default: auto, from the first event)")
    p.add_argument("--skip-malformed", action="store_true",
                   help="skip events that are not valid chunks instead of stopping")
    p.add_argument("--chunk-size", type=number(int, 1, above=False, high=MAX_CHUNK_SIZE), default=65536, metavar="N",
                   help=f"read at most N bytes at a time, 1 to {MAX_CHUNK_SIZE} (64 MiB; default 65536)")
    p.set_defaults(func=parse_command, what="deltas")
    return p


class InputError(Exception):
    """Reading the input failed (an OSError, kept apart from those of writing
    the output)."""


class _Input:
    """The chunks of the input, as they arrive, and what a message about it
    needs: the first bytes and the total."""

    HEAD = 200

    def __init__(self, stream: IO[bytes], size: int) -> None:
        self.stream, self.size = stream, size
        self.head, self.total = b"", 0

    def __iter__(self) -> Iterator[bytes]:
        # read1 returns what is available, so `curl -N ... | turbosse parse -`
        # prints each event as it arrives instead of waiting for a full buffer
        read = getattr(self.stream, "read1", self.stream.read)
        while True:
            try:
                chunk = read(self.size)
            except OSError as exc:
                raise InputError(f"cannot read input: {exc.strerror or exc}") from exc
            if not chunk:
                return
            if len(self.head) < self.HEAD:
                self.head += chunk[: self.HEAD - len(self.head)]
            self.total += len(chunk)
            yield chunk

    def not_a_stream(self) -> str:
        """Why an input in which no event was found is not an event stream."""
        if not self.total:
            return "the input is empty: no server-sent event in it"
        kind = {b"{": "a JSON body", b"[": "a JSON body", b"<": "an HTML or XML page"}.get(self.head.lstrip()[:1])
        why = f"it looks like {kind}, not text/event-stream" if kind else "an event ends at a blank line, and none did"
        snippet = printable(self.head.decode("utf-8", "replace"))  # binary input must not drive the terminal
        more = "..." if self.total > len(self.head) else ""
        return f"no server-sent event in {self.total} bytes of input ({why}): {snippet}{more}"


def delta_json(delta: Any) -> dict[str, Any]:
    """A delta as a JSON object of the fields that are set."""
    out: dict[str, Any] = {}
    for name, value in zip(delta._fields, delta):
        if value is None:
            continue
        if name == "tool_calls":
            value = [{k: v for k, v in zip(tc._fields, tc) if v is not None} for tc in value]
        elif name == "usage":
            value = value._asdict()
        out[name] = value
    return out


def parse_command(args: argparse.Namespace) -> int:
    try:
        source: IO[bytes] = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")
    except OSError as exc:
        print(f"turbosse parse: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    try:
        with source:
            return _parse(args, source, out)
    except InputError as exc:
        print(f"turbosse parse: {exc}", file=sys.stderr)
        return 1


def _parse(args: argparse.Namespace, source: IO[bytes], out: IO[bytes]) -> int:
    from .. import ChatDecoder, SSEError, SSEParser
    from .._handler import Engine

    def emit(obj: Any) -> None:
        out.write(orjson.dumps(obj) + b"\n")

    def emit_events(events: Any) -> int:
        for ev in events:
            emit({"event": ev.event, "data": ev.data, "id": ev.id, "retry": ev.retry})
        return len(events)

    status = 0
    chunks = _Input(source, args.chunk_size)
    if args.what == "events":
        parser = SSEParser()
        seen = 0
        try:
            for chunk in chunks:
                seen += emit_events(parser.feed(chunk))
                out.flush()
            seen += emit_events(parser.close())
        except SSEError as exc:
            seen += emit_events(getattr(exc, "events", []))
            print(f"turbosse parse: {type(exc).__name__}: {exc}", file=sys.stderr)
            status = 1
        out.flush()
        if not seen and not status:
            print(f"turbosse parse: {chunks.not_a_stream()}", file=sys.stderr)
            status = 1
        return status
    decoder = ChatDecoder(args.format, on_malformed="skip" if args.skip_malformed else "raise")
    engine = Engine()  # what the clients and accumulate() know of a stream's end
    engine.attach(decoder)
    acc = engine.acc
    error: SSEError | None = None
    try:
        for chunk in chunks:
            deltas = decoder.feed(chunk)
            acc.extend(deltas)
            if args.what == "deltas":
                for d in deltas:
                    emit(delta_json(d))
                out.flush()
        decoder.close()
    except SSEError as exc:
        error = exc
        deltas = getattr(exc, "deltas", [])
        acc.extend(deltas)
        if args.what == "deltas":
            for d in deltas:
                emit(delta_json(d))
    if error is None and not decoder.events and not decoder.done:  # the end marker alone is a stream
        print(f"turbosse parse: {chunks.not_a_stream()}", file=sys.stderr)
        return 1
    if error is None:
        error = engine.incomplete()  # the body ended before the stream did
    if args.what == "result":
        acc.model, acc.id = decoder.model, decoder.id
        emit(acc.result().to_dict())
    out.flush()
    if error is not None:
        print(f"turbosse parse: {type(error).__name__}: {error}", file=sys.stderr)
        status = 1
    if decoder.skipped:
        print(f"turbosse parse: skipped {decoder.skipped} malformed event(s)", file=sys.stderr)
    return status
