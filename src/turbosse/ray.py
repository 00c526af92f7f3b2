"""Ray Data integration: streaming batch inference across a cluster.

:class:`BatchPredictor` is a callable class for ``Dataset.map_batches``: each
Ray actor builds it, and with it its own event loop and client, inside the
worker (the object itself holds only settings, so it pickles), then runs every
row of each batch it is given as a stream, ``concurrency`` at a time, and
returns one output row per request: the row of :mod:`turbosse.batch` (result
or error with the partial result, metrics) as JSON, plus its main fields as
columns. Ray is imported by Ray, not here; this module needs only turbosse.

::

    import ray
    from turbosse.ray import BatchPredictor

    ds = ray.data.read_json("requests.jsonl")          # Batch API or plain lines
    out = ds.map_batches(
        BatchPredictor,
        fn_constructor_kwargs={"base_url": "http://vllm:8000/v1", "model": "m",
                               "concurrency": 256, "rpm": 60000, "actors": 4},
        concurrency=4,                                   # actors
        batch_size=1024,
        batch_format="pyarrow",
    )
    out.write_json("results/")

On a cluster, ``ray.init("ray://head:10001")`` (or run the script with
``ray job submit``) and give ``base_url`` an address the workers can reach;
``pip install turbosse`` must be in the workers' environment (a
``runtime_env`` of ``{"pip": ["turbosse[fast]"]}`` does it).

Input rows have the columns of an input line (see
:func:`turbosse.batch.read_requests`): ``custom_id``, ``url`` and ``body``, or
the request itself (``messages`` or ``prompt`` and its parameters). A row
without ``custom_id`` gets ``row-<actor>-<n>``, unique across actors (the
actor part is random), so give ids if you need to join results back. A
None value in a row's dicts, at any depth, is left out of the request (Ray
fills with None the fields one row has and another lacks). Output columns: ``custom_id``, ``ok``,
``error_type``, ``ttft``, ``tpot``, ``e2el`` (seconds; NaN when there was no
token), ``output_tokens``, ``attempts`` and ``row`` (the whole row as JSON).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import uuid
from typing import Any

import orjson

from .batch import Admission, BatchRequest, RequestOptions
from .batch._clients import ClientSet
from .batch._input import parse_line
from .batch._request import execute
from .batch._runner import schedule

__all__ = ["BatchPredictor"]

OUTPUT_COLUMNS = ("custom_id", "ok", "error_type", "ttft", "tpot", "e2el", "output_tokens", "attempts", "row")


def _plain(value: Any) -> Any:
    """numpy arrays and scalars (what Ray's numpy and pandas batches hold)
    as Python lists and numbers, recursively; None values of dicts left out
    (see :meth:`BatchPredictor._requests`)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if tolist is not None and not isinstance(value, (str, bytes)):
        return _plain(tolist())
    return value


def _rows(batch: Any) -> list[dict[str, Any]]:
    """The rows of a pyarrow, pandas or numpy (dict of arrays) batch."""
    if hasattr(batch, "to_pylist"):  # pyarrow.Table
        rows: list[dict[str, Any]] = batch.to_pylist()
        return [_plain(r) for r in rows]
    if hasattr(batch, "to_dict") and hasattr(batch, "columns"):  # pandas.DataFrame
        return [_plain(r) for r in batch.to_dict("records")]
    columns = list(batch)
    n = len(batch[columns[0]]) if columns else 0
    return [{c: _plain(batch[c][i]) for c in columns} for i in range(n)]


class BatchPredictor:
    """A ``map_batches`` callable class running each row as a streaming request.

    :param base_url: the API root the workers reach, e.g. ``http://host:8000/v1``.
    :param model: for rows whose body names none.
    :param concurrency: streams in flight per actor (default 64).
    :param rate, rpm, tpm: limits for the whole job; each actor takes
        ``1/actors`` of them.
    :param actors: how many actors share the limits (the ``concurrency`` given
        to ``map_batches``).
    :param retry_interrupted, deadline: as for :func:`turbosse.batch.run`.
    :param client_options: more keywords for the clients (``transport``,
        ``max_retries``, ``idle_timeout``, ``api_key``, ...).
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        concurrency: int = 64,
        rate: float | None = None,
        rpm: float | None = None,
        tpm: float | None = None,
        actors: int = 1,
        retry_interrupted: int = 0,
        deadline: float | None = None,
        **client_options: Any,
    ) -> None:
        if actors < 1:
            raise ValueError(f"actors must be >= 1, not {actors}")
        share = 1.0 / actors
        self.base_url = base_url
        self.model = model
        self.concurrency = concurrency
        self.limits = {
            "rate": None if rate is None else rate * share,
            "rpm": None if rpm is None else rpm * share,
            "tpm": None if tpm is None else tpm * share,
        }
        self.options = RequestOptions(retry_interrupted, deadline, model)
        self.client_options = client_options
        self._state: tuple[asyncio.AbstractEventLoop, ClientSet, Admission] | None = None
        self._numbers = itertools.count(1)
        self._actor = uuid.uuid4().hex[:12]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_state"] = None  # the loop and clients are the worker's own
        state["_numbers"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._numbers = itertools.count(1)
        self._actor = uuid.uuid4().hex[:12]  # each copy (each actor) numbers its own rows

    def _start(self) -> tuple[asyncio.AbstractEventLoop, ClientSet, Admission]:
        if self._state is None:
            from ._loop import new_event_loop

            loop = new_event_loop(self.client_options.pop("loop", "auto"))
            clients = ClientSet(None, self.base_url, model=self.model, concurrency=self.concurrency, **self.client_options)
            admission = Admission(self.limits["rate"], "poisson", self.limits["rpm"], self.limits["tpm"])
            self._state = (loop, clients, admission)
        return self._state

    def _requests(self, batch: Any) -> list[BatchRequest]:
        # Ray and pyarrow give every row the fields of all (a struct column's
        # type is their union), filling those a row lacks with None: a body
        # of one row with max_tokens makes the others' "max_tokens": null,
        # which a server may refuse. None is dropped from every dict, at any
        # depth (list items are kept): a null a request needs cannot come
        # through a struct column.
        out = []
        for row in _rows(batch):
            row.setdefault("custom_id", f"row-{self._actor}-{next(self._numbers)}")
            out.append(parse_line(row, 0))
        return out

    def __call__(self, batch: Any) -> dict[str, list[Any]]:
        loop, clients, admission = self._start()
        requests = self._requests(batch)

        async def submit(req: BatchRequest) -> dict[str, Any]:
            return await execute(clients, req, self.options)

        async def run_all() -> list[dict[str, Any]]:
            rows = schedule(requests, submit, concurrency=self.concurrency, admission=admission)
            return [row async for row in rows]

        done = {row["custom_id"]: row for row in loop.run_until_complete(run_all())}
        columns: dict[str, list[Any]] = {name: [] for name in OUTPUT_COLUMNS}
        for req in requests:  # in input order
            row = done[req.custom_id]
            m = row["metrics"]
            error = row["error"]
            columns["custom_id"].append(req.custom_id)
            columns["ok"].append(error is None)
            columns["error_type"].append(None if error is None else error["type"])
            for name in ("ttft", "tpot", "e2el"):
                value = m.get(name)
                columns[name].append(math.nan if value is None else float(value))
            columns["output_tokens"].append(int(m.get("output_tokens") or 0))
            columns["attempts"].append(int(m.get("attempts") or 0))
            columns["row"].append(orjson.dumps(row).decode())
        return columns

    def __del__(self) -> None:
        state, self._state = getattr(self, "_state", None), None
        if state is not None:
            loop, clients, _ = state
            if not loop.is_closed():
                try:
                    loop.run_until_complete(clients.aclose())
                finally:
                    loop.close()
