"""The ``--loop {asyncio,uvloop,auto}`` option, shared by every command that
runs an event loop: one definition, one reading."""

from __future__ import annotations

import argparse
import importlib.util

__all__ = ["LOOPS", "add_loop_option", "use_uvloop"]

LOOPS = ("asyncio", "uvloop", "auto")


def add_loop_option(parser: argparse.ArgumentParser, default: str | None = "auto", help_default: str | None = None) -> None:
    """Add ``--loop``; ``help_default`` says what no ``--loop`` means when the
    default is None (the command then decides per task)."""
    parser.add_argument(
        "--loop", choices=LOOPS, default=default,
        help="event loop: asyncio's own, uvloop, or auto (uvloop when it is installed); "
             f"default: {help_default or default}",
    )  # fmt: skip


def use_uvloop(choice: str) -> bool:
    """Whether ``--loop choice`` means uvloop; ``ValueError`` (with the
    message to print) for ``uvloop`` when it is not installed."""
    installed = importlib.util.find_spec("uvloop") is not None
    if choice == "uvloop" and not installed:
        raise ValueError("--loop uvloop: uvloop is not installed (pip install uvloop)")
    return choice == "uvloop" or (choice == "auto" and installed)
