"""The ``turbosse`` command line: the list of subcommands, ``--version``, and
the exit rules every command shares: a broken pipe is a normal end, and
Ctrl-C ends any command with one line on stderr and exit status 130.

Each module named in :data:`COMMANDS` (``turbosse.cli.<name>``) adds one
subcommand through ``add_parser(subparsers) -> ArgumentParser``, which sets
``func`` (``args -> exit status``) with ``set_defaults``. Adding a command is
one module and one name here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    try:
        return int(func(args) or 0)
    except BrokenPipeError:  # `turbosse parse big.sse | head`
        return 0
    except KeyboardInterrupt:
        print(f"turbosse {args.command}: interrupted", file=sys.stderr, flush=True)
        return 130
