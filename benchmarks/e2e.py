"""End-to-end benchmark: tokens/s and client CPU per token, turbosse's clients
side by side with httpx-sse + json, the openai SDK and plain httpx, against
the fake server running in its own process.

    PYTHONPATH=src python benchmarks/e2e.py            # about 2 minutes
    PYTHONPATH=src python benchmarks/e2e.py --quick    # about 25 seconds

This is the same code as ``turbosse bench`` (``turbosse._cli_bench``, shipped
in the package so that the command works from an install); see that module's
docstring for the method (interleaved rounds with medians, ranges and
round-by-round ratios; the lockstep scenario, one event per read whatever the
machine's load). Options: ``--variants``, ``--unpaced-tokens``, ``--streams``,
``--paced-tokens``, ``--rate``, ``--rounds``, ``--lockstep-rounds``, ``--url``
(a running ``turbosse serve``), ``--json FILE``.
"""

from __future__ import annotations

import sys

from turbosse._cli_bench import main

if __name__ == "__main__":
    sys.exit(main())
