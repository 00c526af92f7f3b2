"""``python -m turbosse._bench VARIANT URL``: an end-to-end benchmark worker."""

from __future__ import annotations

import sys

from .e2e import worker_main

if __name__ == "__main__":
    sys.exit(worker_main())
