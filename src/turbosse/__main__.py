"""``python -m turbosse`` and the ``turbosse`` command.

A minimal entry point: ``--version`` prints the version and which parser twin
is in use. The subcommands (parse, stream, serve, bench) are added by the CLI.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import IMPLEMENTATION, __version__


def version_string() -> str:
    """``turbosse 0.1.0 (cython)``: the version and the implementation in use."""
    return f"turbosse {__version__} ({IMPLEMENTATION})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="turbosse",
        description="Fast, spec-exact Server-Sent Events parsing for LLM streams.",
    )
    parser.add_argument("--version", action="version", version=version_string())
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
