"""Batch inference: JSON lines of requests in, one JSON row per request out,
thousands of concurrent streams, with rate limits, retries, resume and the
serving metrics ``vllm bench serve`` reports.

- :func:`run` drives a batch from a program: ``async for row in
  turbosse.batch.run(requests, client=client, concurrency=256)``.
- :func:`read_requests` reads the OpenAI Batch API input format
  (``{"custom_id", "method", "url", "body"}``) and plain ``{"messages": ...}``
  or ``{"prompt": ...}`` lines; :class:`BatchRequest` is one request.
- :class:`OutputWriter` appends rows, one write per row, and resumes a file a
  killed run left behind.
- :class:`Summary` turns rows into the end-of-batch statistics.
- ``turbosse batch INPUT.jsonl -o OUTPUT.jsonl`` is the command line.

The row format is described in :mod:`turbosse.batch._rows`.
"""

from __future__ import annotations

from ._errors import BatchInputError, DeadlineExceeded, OutputFileError
from ._input import BatchRequest, join_url, read_requests
from ._limits import Admission
from ._request import RequestOptions
from ._runner import Timing, run
from ._summary import Summary, format_summary, parse_slo
from ._transport import aclose_client, make_client
from ._writer import OutputWriter

__all__ = [
    "Admission",
    "BatchInputError",
    "BatchRequest",
    "DeadlineExceeded",
    "OutputFileError",
    "OutputWriter",
    "RequestOptions",
    "Summary",
    "Timing",
    "aclose_client",
    "format_summary",
    "join_url",
    "make_client",
    "parse_slo",
    "read_requests",
    "run",
]
