"""Declares the Cython extensions; all metadata lives in pyproject.toml.

TURBOSSE_NO_EXTENSIONS (any non-empty value) builds a pure-Python package, the
same variable that forces the Python twin at import time.
TURBOSSE_CYTHON_TRACE (any non-empty value) builds with line tracing so
coverage can see the .pyx files.
"""

import glob
import os

from setuptools import Extension, setup

NO_EXTENSIONS = bool(os.environ.get("TURBOSSE_NO_EXTENSIONS"))
CYTHON_TRACE = bool(os.environ.get("TURBOSSE_CYTHON_TRACE"))

# Every src/turbosse/_<piece>_c.pyx is a compiled module; turbosse._impl.PIECES
# lists the same pieces for the chooser (tests/test_implementation.py checks).
EXTENSION_MODULES = sorted(
    "turbosse." + os.path.basename(path)[: -len(".pyx")]
    for path in glob.glob(os.path.join("src", "turbosse", "_*_c.pyx"))
)


def _extensions() -> list:
    from Cython.Build import cythonize

    macros = [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")] if CYTHON_TRACE else []
    modules = [
        Extension(
            name,
            [os.path.join("src", *name.split(".")) + ".pyx"],
            define_macros=macros,
            extra_compile_args=["-O3"] if os.name != "nt" else [],
        )
        for name in EXTENSION_MODULES
    ]
    return cythonize(
        modules,
        compiler_directives={
            "language_level": 3,
            "freethreading_compatible": True,
            "embedsignature": True,
            "linetrace": CYTHON_TRACE,
        },
    )


setup(ext_modules=[] if NO_EXTENSIONS else _extensions())
