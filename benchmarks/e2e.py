"""End-to-end benchmark: tokens/s and client CPU per token, turbosse's clients
side by side with httpx-sse + json, the openai SDK and plain httpx, against
the fake server running in its own process.

    python benchmarks/e2e.py            # about 2 minutes
    python benchmarks/e2e.py --quick    # about 25 seconds

The same as ``turbosse bench`` (same options); the method is described in
``turbosse._bench.e2e``.
"""

from __future__ import annotations

import sys

from turbosse.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
