"""``python -m turbosse`` and the ``turbosse`` command (see ``turbosse.cli``)."""

from __future__ import annotations

import sys

from .cli import main, version_string

__all__ = ["main", "version_string"]

if __name__ == "__main__":
    sys.exit(main())
