"""Proof that the compiled twins are the ones in use (unless opted out).

The chooser, turbosse._impl, imports every compiled module or none; these
tests check each of them, so a piece added to the chooser is covered without
a new test, and a compiled module left out of the chooser is caught.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import turbosse
from turbosse import _impl

PACKAGE_DIR = Path(turbosse.__file__).resolve().parent


def test_every_compiled_module_is_in_the_chooser() -> None:
    sources = {p.stem for p in PACKAGE_DIR.glob("_*_c.pyx")}
    built = {p.name.split(".")[0] for p in PACKAGE_DIR.glob("_*_c.*") if p.suffix in (".so", ".pyd")}
    in_chooser = {name.rsplit(".", 1)[1] for name in _impl.COMPILED_MODULES}
    assert {"_parser_c", "_decoder_c"} <= in_chooser
    assert sources | built <= in_chooser, f"compiled modules missing from _impl.PIECES: {sorted((sources | built) - in_chooser)}"


def test_compiled_twins_are_loaded() -> None:
    suffix = "_py" if os.environ.get("TURBOSSE_NO_EXTENSIONS") else "_c"
    expected = "python" if suffix == "_py" else "cython"
    assert turbosse.IMPLEMENTATION == _impl.IMPLEMENTATION == expected
    assert [m.__name__ for m in _impl.TWIN_MODULES] == [
        f"turbosse._{piece}{suffix}" for piece in _impl.PIECES
    ]
    for module in _impl.TWIN_MODULES:
        if suffix == "_c":
            assert module.__file__ is not None and module.__file__.endswith((".so", ".pyd")), module
        # every public name the chooser hands out comes from this twin
        for name in module.__all__:
            assert getattr(_impl, name) is getattr(module, name), name
            if hasattr(turbosse, name):
                assert getattr(turbosse, name) is getattr(module, name), name
    assert turbosse.SSEParser.__module__ == f"turbosse._parser{suffix}"
    assert turbosse.ChatDecoder.__module__ == f"turbosse._decoder{suffix}"
    assert turbosse.JSONStream.__module__ == f"turbosse._jsonstream{suffix}"


def test_no_extensions_forces_every_python_twin() -> None:
    # A fresh interpreter: the variable is read once, at import.
    code = (
        "import turbosse, turbosse._impl as i; "
        "print(turbosse.IMPLEMENTATION, *sorted({m.__name__[-3:] for m in i.TWIN_MODULES}), "
        "turbosse.SSEParser.__module__, turbosse.ChatDecoder.__module__)"
    )
    env = {**os.environ, "TURBOSSE_NO_EXTENSIONS": "yes"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["python", "_py", "turbosse._parser_py", "turbosse._decoder_py"]


def test_twins_import_only_common_code() -> None:
    """A twin never imports the other twin (or the other piece's twin of the
    other kind): what both use lives in the _*_common modules."""
    for piece in _impl.PIECES:
        for suffix, other in (("_py", "_c"), ("_c", "_py")):
            path = PACKAGE_DIR / f"_{piece}{suffix}{'.py' if suffix == '_py' else '.pyx'}"
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8")
            for p in _impl.PIECES:
                assert f"_{p}{other} " not in text and f"_{p}{other}\n" not in text, (path.name, p)
    importlib.import_module("turbosse._parser_common")
    importlib.import_module("turbosse._decoder_common")
