"""The only module that knows turbosse has two implementations: it picks one.

Every accelerated piece exists twice: a compiled twin ``_<piece>_c`` (Cython)
and a pure-Python twin ``_<piece>_py`` with the same public names. This module
imports every compiled twin or none of them and sets :data:`IMPLEMENTATION`
once (``"cython"`` or ``"python"``), so a mixed state (a compiled parser under a
Python decoder) cannot happen. TURBOSSE_NO_EXTENSIONS set to any non-empty
value forces the Python twins, as it forces a pure build in setup.py; so does a
missing or broken compiled module. Type checkers always see the Python twins.

Everything else imports the public classes from here (or from ``turbosse``).
Adding an accelerated piece is one line in :data:`PIECES` (its public names
come from the twins' ``__all__``), plus its Python twin's import under
``TYPE_CHECKING`` below, which type checkers need to see the names.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = ["COMPILED_MODULES", "IMPLEMENTATION", "NO_EXTENSIONS", "PIECES", "TWIN_MODULES"]

#: Every accelerated piece of the package, in import order.
PIECES = ("parser", "shape", "decoder", "jsonstream", "chunked", "fold", "items")

NO_EXTENSIONS = bool(os.environ.get("TURBOSSE_NO_EXTENSIONS"))

#: The compiled module names, one per piece (what a binary wheel must ship).
COMPILED_MODULES = tuple(f"{__package__}._{piece}_c" for piece in PIECES)


def _load(suffix: str) -> tuple[ModuleType, ...]:
    return tuple(importlib.import_module(f"{__package__}._{piece}{suffix}") for piece in PIECES)


if TYPE_CHECKING:
    from ._chunked_py import Dechunker as Dechunker
    from ._decoder_py import ChatDecoder as ChatDecoder
    from ._fold_py import fold_deltas as fold_deltas
    from ._items_py import AsyncItems as AsyncItems
    from ._items_py import Items as Items
    from ._jsonstream_py import JSONStream as JSONStream
    from ._parser_py import ServerSentEvent as ServerSentEvent
    from ._parser_py import SSEParser as SSEParser
    from ._shape_py import Shapes as Shapes

    IMPLEMENTATION = "python"
    TWIN_MODULES: tuple[ModuleType, ...] = ()
else:
    if NO_EXTENSIONS:
        TWIN_MODULES, IMPLEMENTATION = _load("_py"), "python"
    else:
        try:
            TWIN_MODULES, IMPLEMENTATION = _load("_c"), "cython"
        except ImportError:  # pragma: no cover - only without built extensions
            TWIN_MODULES, IMPLEMENTATION = _load("_py"), "python"
    for _module in TWIN_MODULES:
        for _name in _module.__all__:
            globals()[_name] = getattr(_module, _name)
            __all__.append(_name)
    del _module, _name
