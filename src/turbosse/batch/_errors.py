"""The errors of the batch runner, all SSEError subclasses: a bad input line,
an output file that cannot be resumed; and, re-exported, the client's
DeadlineExceeded (a request past its total deadline)."""

from __future__ import annotations

from typing import Any

from .. import SSEError
from .._errors import DeadlineExceeded

__all__ = ["BatchInputError", "DeadlineExceeded", "OutputFileError"]


class BatchInputError(SSEError):
    """An input line is not a request: ``line`` is its number (from 1),
    ``reason`` what is wrong with it, ``snippet`` its start."""

    def __init__(self, line: int, reason: str, snippet: str = "") -> None:
        super().__init__(f"input line {line}: {reason}" + (f": {snippet!r}" if snippet else ""))
        self.line = line
        self.reason = reason
        self.snippet = snippet

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.line, self.reason, self.snippet))


class OutputFileError(SSEError):
    """The output file cannot be resumed: a line other than the last is not a
    row (``line`` its number from 1; a torn *last* line is redone instead)."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path} line {line}: {reason}; not a turbosse batch output file, or edited by hand")
        self.path = path
        self.line = line
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.line, self.reason))
