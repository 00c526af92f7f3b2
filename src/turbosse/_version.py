"""The single source of turbosse's version.

pyproject.toml reads it (``[tool.setuptools.dynamic]``) without importing the
package, and ``turbosse.__version__`` re-exports it.
"""

__version__ = "0.1.0"
