"""The output file: append-only JSON lines, one ``os.write`` per row (no
user-space buffer, so a row is on disk when ``write`` returns and Ctrl-C can
only fall between rows), and resume: the ids already written are read back,
and a torn last line (a process killed mid-write) is cut off and redone;
asked to, the failed rows are dropped first (an atomic rewrite) so that
their requests run again.
"""

from __future__ import annotations

import os
from typing import Any

import orjson

from ._errors import OutputFileError

__all__ = ["OutputWriter", "drop_failed", "scan_output"]


def scan_output(path: str | os.PathLike[str]) -> tuple[set[str], int]:
    """The custom_ids of the rows in an output file and the length of its
    intact part: everything up to the end of the last complete row. A torn
    or unreadable *last* line after a row lies beyond that length; any other
    bad line raises :class:`OutputFileError`, and so does a file with no row
    whose only line is not the start of one (a file that is not a batch
    output, which resuming would otherwise empty)."""
    done: set[str] = set()
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return done, 0
    good = 0
    with fh:
        pending: tuple[int, str] | None = None  # a bad line, fatal unless it is the last
        for n, line in enumerate(fh, 1):
            if pending is not None:
                raise OutputFileError(os.fspath(path), *pending)
            if not line.endswith(b"\n"):
                if not done and not line.lstrip().startswith(b"{"):
                    raise OutputFileError(os.fspath(path), n, "not the start of a JSON row")
                break  # torn: the last line, cut off by a kill
            if not line.strip():
                good += len(line)
                continue
            try:
                row = orjson.loads(line)
                custom_id = row["custom_id"]
            except (orjson.JSONDecodeError, TypeError, KeyError):
                pending = (n, "not a JSON row with a custom_id")
                continue
            if not isinstance(custom_id, str):
                pending = (n, "custom_id is not a string")
                continue
            done.add(custom_id)
            good += len(line)
    if pending is not None and not done:  # no row at all: not a torn output
        raise OutputFileError(os.fspath(path), *pending)
    return done, good


def drop_failed(path: str | os.PathLike[str]) -> int:
    """Rewrite an output file without its error rows (and without a torn last
    line), atomically: the new file replaces the old one only once it is
    complete. Returns how many rows were dropped (0: the file is untouched)."""
    _, good = scan_output(path)  # raises on a bad line before anything changes
    if not good:
        return 0
    with open(path, "rb") as fh:
        lines = fh.read(good).splitlines(keepends=True)
    kept = [line for line in lines if line.strip() and orjson.loads(line).get("error") is None]
    dropped = sum(1 for line in lines if line.strip()) - len(kept)
    if dropped:
        tmp = os.fspath(path) + ".tmp"
        with open(tmp, "wb") as out:
            out.writelines(kept)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    return dropped


class OutputWriter:
    """Append rows to ``path``.

    :param resume: keep the rows already there (default): :attr:`done` holds
        their custom_ids, and a torn last line is truncated away. With
        ``resume=False`` the file is emptied first.
    :param fsync: also ``fsync`` after every row (survives a power cut, not
        just a killed process; slower).
    :param retry_failed: when resuming, drop the error rows first
        (:func:`drop_failed`; :attr:`dropped` says how many), so their
        requests are not among :attr:`done` and run again.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, resume: bool = True, fsync: bool = False, retry_failed: bool = False
    ) -> None:
        self.path = os.fspath(path)
        self.fsync = fsync
        self.dropped = drop_failed(self.path) if resume and retry_failed else 0
        if resume:
            self.done, good = scan_output(self.path)
        else:
            self.done, good = set(), 0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.ftruncate(self._fd, good)
        self.rows_written = 0

    def write(self, row: dict[str, Any] | bytes) -> None:
        """Write one row (a dict, or its JSON without the newline)."""
        data = (row if isinstance(row, bytes) else orjson.dumps(row)) + b"\n"
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        if self.fsync:
            os.fsync(self._fd)
        self.rows_written += 1

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __enter__(self) -> OutputWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
