"""Number options: one argparse ``type`` for every number a command reads,
so that a value out of range (NaN and infinity included) is a usage error,
exit status 2, before anything runs."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_PORT", "number", "tcp_port"]

MAX_PORT = 65535


def number(
    kind: type = float, low: float = 0, *, above: bool = True, high: float | None = None
) -> Callable[[str], Any]:
    """The argparse ``type`` for a finite ``kind`` (``int`` or ``float``)
    greater than ``low`` (at least ``low`` when ``above`` is false) and at
    most ``high``; the message names the range and the value given."""
    what = "an integer" if kind is int else "a number"
    rule = f"from {_text(low)} to {_text(high)}" if high is not None and not above else f"{'>' if above else '>='} {_text(low)}"
    if high is not None and above:
        rule += f" and <= {_text(high)}"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < low or (above and value == low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {what} {rule}, not {text}")
        return value

    return parse


def _text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


#: a TCP port; 0 picks a free one
tcp_port = number(int, 0, above=False, high=MAX_PORT)
