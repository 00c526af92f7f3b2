"""turbosse.ray.BatchPredictor on a real local Ray instance (two CPUs, two
actors) against the fake server: one output row per input row, in the Batch
API's two input forms, with errors keeping their partial result and the
limits split between the actors. Skipped where Ray is not installed (it is
the optional ``ray`` extra)."""

from __future__ import annotations

import pickle

import orjson
import pytest

from turbosse.ray import OUTPUT_COLUMNS, BatchPredictor
from turbosse.testing import FakeLLMServer, fake_text

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
pytest.importorskip("ray.data", reason="the ray[data] extra is not installed")

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_predictor_pickles_without_its_loop_and_splits_limits():
    p = BatchPredictor("http://127.0.0.1:1/v1", model="m", rate=10.0, rpm=600, actors=4)
    assert p.limits == {"rate": 2.5, "rpm": 150.0, "tpm": None}
    clone = pickle.loads(pickle.dumps(p))
    assert clone._state is None and clone.limits == p.limits
    with pytest.raises(ValueError, match="actors"):
        BatchPredictor("http://x/v1", actors=0)


def test_predictor_in_process_on_every_batch_format():
    import pyarrow as pa

    with FakeLLMServer(lifetime=60) as srv:
        p = BatchPredictor(srv.base_url, model="m", concurrency=4)
        rows = [{"custom_id": f"a{i}", "messages": MESSAGES, "fake": {"tokens": 3 + i}} for i in range(3)]
        for batch in (pa.Table.from_pylist(rows), {k: [r[k] for r in rows] for k in rows[0]}):
            out = p(batch)
            assert set(out) == set(OUTPUT_COLUMNS)
            assert out["custom_id"] == ["a0", "a1", "a2"] and out["ok"] == [True] * 3
            assert [orjson.loads(r)["response"]["body"]["choices"][0]["message"]["content"] for r in out["row"]] == [
                fake_text(3), fake_text(4), fake_text(5)
            ]
        del p  # closes its clients and loop


def test_fields_one_row_has_are_not_sent_as_null_in_the_others():
    import pyarrow as pa

    m1 = [{"role": "user", "content": "hi", "name": "ann"}]
    m2 = [{"role": "user", "content": "hi"}]
    rows = [{"custom_id": "a", "url": "/v1/messages", "body": {"model": "c", "messages": m1, "max_tokens": 64}},
            {"custom_id": "b", "url": "/v1/messages", "body": {"model": "c", "messages": m2, "stop": [None, "x"]}}]
    table = pa.Table.from_pylist(rows)  # one struct type for both bodies: what Ray hands a batch
    assert table.to_pylist()[1]["body"]["max_tokens"] is None
    reqs = BatchPredictor("http://127.0.0.1:9/v1", model="m")._requests(table)
    assert [r.body for r in reqs] == [rows[0]["body"], rows[1]["body"]]


def test_rows_without_ids_get_ids_unique_across_actors():
    import pickle

    with FakeLLMServer(lifetime=60) as srv:
        made = BatchPredictor(srv.base_url, model="m", concurrency=4)
        actors = [pickle.loads(pickle.dumps(made)) for _ in range(2)]  # as Ray ships the class to each actor
        rows = [{"messages": MESSAGES, "fake": {"tokens": 2}} for _ in range(3)]
        ids = [i for a in actors for i in a({k: [r[k] for r in rows] for k in rows[0]})["custom_id"]]
        assert len(set(ids)) == 6 and all(i.startswith("row-") for i in ids)
        del made, actors


# Ray Data warns about its own deprecated settings; that is Ray's business
@pytest.mark.filterwarnings("ignore::DeprecationWarning:ray")
def test_map_batches_on_local_ray(local_ray):
    n = 60
    items = []
    for i in range(n):
        fake = {"tokens": 4, "disconnect_after": 2} if i % 10 == 3 else {"tokens": 4}
        if i % 2:
            items.append({"custom_id": f"r{i}", "url": "/v1/chat/completions", "body": {"messages": MESSAGES, "fake": fake}})
        else:
            items.append({"custom_id": f"r{i}", "messages": MESSAGES, "fake": fake})
    with FakeLLMServer(process=True, lifetime=120) as srv:
        ds = ray.data.from_items(items)
        out = ds.map_batches(
            BatchPredictor,
            fn_constructor_kwargs={"base_url": srv.base_url, "model": "m", "concurrency": 8, "actors": 2, "rpm": 60000},
            concurrency=2,
            batch_size=10,
            batch_format="pyarrow",
        ).take_all()
    assert sorted(r["custom_id"] for r in out) == sorted(f"r{i}" for i in range(n))
    for r in out:
        i = int(r["custom_id"][1:])
        row = orjson.loads(r["row"])
        if i % 10 == 3:
            assert not r["ok"] and r["error_type"] == "StreamInterrupted"
            assert row["error"]["partial"]["choices"][0]["message"]["content"] == fake_text(2)
        else:
            assert r["ok"] and r["output_tokens"] == 4 and r["attempts"] == 1
            assert row["response"]["body"]["choices"][0]["message"]["content"] == fake_text(4)
            assert r["ttft"] > 0 and r["e2el"] >= r["ttft"]
