"""Signatures and docs of the compiled Dechunker (_chunked_c.pyx).

It has the same public names, signatures and docstrings as the Python twin,
_chunked_py.py, whose docstrings are the source; tests/test_stubs.py checks
that this stub and the compiled module's help() stay in step with it.
"""

class Dechunker:
    """Undoes ``Transfer-Encoding: chunked`` as the bytes arrive: :meth:`feed`
    returns the body bytes among those it is given, joined; chunk extensions
    are skipped, trailer lines read and dropped. ``done`` turns true when the
    last chunk and the trailer section have ended; ``extra`` counts the bytes
    fed after that. A framing error, or a chunk-size line or trailer section
    over its limit, raises :class:`ChunkedError` (and again on any later
    call)."""

    done: bool
    extra: int

    def __init__(self, max_line: int = ..., max_trailers: int = ...) -> None: ...
    def feed(self, data: bytes) -> bytes:
        """The body bytes in ``data`` (any bytes-like object), joined."""
