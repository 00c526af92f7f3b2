"""The one argparse type every command's number options use
(turbosse.cli._numbers), and that the commands use no other."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

import turbosse.cli
from turbosse.cli._numbers import number, tcp_port

CLI = Path(turbosse.cli.__file__).resolve().parent


@pytest.mark.parametrize(
    ("check", "good", "bad", "rule"),
    [
        (number(float), ["0.5", "1e3"], ["0", "-1", "nan", "inf", "-inf", "x"], "a number > 0"),
        (number(int), ["1", "64"], ["0", "-3", "1.5", "1e3", "x"], "an integer > 0"),
        (number(float, 0, above=False), ["0", "2.5"], ["-0.1", "nan", "inf"], "a number >= 0"),
        (number(int, 1, above=False, high=10), ["1", "10"], ["0", "11", "99999999999999999999"], "an integer from 1 to 10"),
        (number(float, 0, high=1.5), ["1.5"], ["0", "1.6"], "a number > 0 and <= 1.5"),
        (tcp_port, ["0", "65535"], ["-1", "65536", "70000"], "an integer from 0 to 65535"),
    ],
)  # fmt: skip
def test_number_accepts_its_range_and_names_it(check, good, bad, rule):
    for text in good:
        assert check(text) == type(check(text))(text) if "e" not in text else check(text) == float(text)
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match=f"^must be {re.escape(rule)}, not {re.escape(text)}$"):
            check(text)


def test_every_number_option_is_range_checked():
    # type=int or type=float would let nan, inf and negative values through
    for path in CLI.glob("*.py"):
        text = path.read_text().replace('"--seed", type=int', "")  # a seed may be any integer
        assert not re.search(r"type=(int|float)\b", text), path.name
