"""Former private home of the fake server, now :mod:`turbosse.testing`; re-exports for the modules not yet moved.

To be removed once nothing imports it: use ``turbosse.testing._options``,
``._render``, ``._runner`` and ``._http1`` directly.
"""

from __future__ import annotations

from .testing._options import OPTION_DEFAULTS, OptionError, merge_options
from .testing._render import Plan, render_stream
from .testing._runner import serve_forever

__all__ = ["OPTION_DEFAULTS", "OptionError", "Plan", "merge_options", "render_stream", "serve_forever"]
