"""The ``turbosse`` command line: the list of subcommands, ``--version``, and
the exit rules every command shares: a broken pipe is a normal end, any
other error writing standard output (a full disk, a closed descriptor) one
line on stderr and exit status 1, and Ctrl-C ends any command with one line
on stderr and exit status 130.

Each module named in :data:`COMMANDS` (``turbosse.cli.<name>``) adds one
subcommand through ``add_parser(subparsers) -> ArgumentParser``, which sets
``func`` (``args -> exit status``) with ``set_defaults``. Adding a command is
one module and one name here.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import io
import os
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["COMMANDS", "build_parser", "main", "version_string"]

#: The subcommands, in the order ``--help`` lists them.
COMMANDS = ["parse", "stream", "serve", "bench", "batch"]


def version_string() -> str:
    """``turbosse 0.1.0 (cython)``: the version and the implementation in use."""
    from .. import IMPLEMENTATION, __version__

    return f"turbosse {__version__} ({IMPLEMENTATION})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="turbosse",
        description="Fast, spec-exact Server-Sent Events parsing for LLM streams.",
    )
    parser.add_argument("--version", action="version", version=version_string())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(subparsers)
    return parser


class _Closed(io.RawIOBase):
    """A standard stream the process was started without (``>&-``, ``<&-``):
    reading or writing it is an OSError, said as any other."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise OSError(errno.EBADF, f"no standard {self.what} (it is closed)")

    def write(self, data: Any) -> int:
        raise OSError(errno.EBADF, f"no standard {self.what} (it is closed)")


def _drop_output() -> None:
    """Send the rest of standard output nowhere: what is still buffered must
    not fail again, with a traceback, when the interpreter exits."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, sys.stdout.fileno())
        finally:
            os.close(null)
    except (AttributeError, OSError, ValueError):  # not a file descriptor (closed, or captured)
        sys.stdout = None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    if sys.stdin is None:
        sys.stdin = io.TextIOWrapper(io.BufferedReader(_Closed("input")))
    if sys.stdout is None:
        sys.stdout = io.TextIOWrapper(_Closed("output"), write_through=True)
    try:
        status = int(func(args) or 0)
        sys.stdout.flush()  # a write error is said here, not by the interpreter at exit
        return status
    except BrokenPipeError:  # `turbosse parse big.sse | head`
        _drop_output()
        return 0
    except KeyboardInterrupt:
        print(f"turbosse {args.command}: interrupted", file=sys.stderr, flush=True)
        return 130
    except OSError as exc:  # the commands say their files' errors: this is standard output's
        _drop_output()
        print(f"turbosse {args.command}: cannot write output: {exc.strerror or exc}", file=sys.stderr)
        return 1
