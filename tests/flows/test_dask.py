"""Scale-out: `ingest` and `analyze` on a Dask cluster of two worker processes.

The cluster is a LocalCluster started here, given to Mediawatch by address as any existing
cluster would be (settings: task_runner = "dask", dask_address). The flows run against the
session's Prefect server. The outlets are collected and the articles embedded on the
workers; only the flow's own process writes the store. The result must be the store a run
on threads makes.
"""

from __future__ import annotations

import sys

import pytest

from tests.flows.conftest import contents, write_slice

SLICE = ["vwire", "hanoiledger", "nanyang"]


def _settings(tmp_path, sources, **extra):
    from mediawatch.settings import load_settings

    return load_settings(
        db=tmp_path / "m.duckdb",
        sources=sources,
        briefs_dir=tmp_path / "briefs",
        work_dir=tmp_path / "work",
        analysis_chunk=32,
        **extra,
    ).model_dump(mode="json")


def _modules_loaded() -> list[str]:
    return sorted(m for m in ("crawlers.pages", "nlp.embed", "nlp.enrich") if m in sys.modules)


@pytest.fixture(scope="module")
def on_dask_and_on_threads(tmp_path_factory, demo_site, prefect_harness):
    from distributed import Client, LocalCluster

    from flows.analyze import analyze
    from flows.ingest import ingest

    sources = write_slice(demo_site, SLICE, tmp_path_factory.mktemp("slice") / "sources.yaml")
    threads = _settings(tmp_path_factory.mktemp("threads"), sources)
    ingest(threads)
    analyze(threads)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address="127.0.0.1:0", host="127.0.0.1") as cluster:  # fmt: skip
        dask = _settings(tmp_path_factory.mktemp("dask"), sources, task_runner="dask",
                         dask_address=cluster.scheduler_address)  # fmt: skip
        collected = ingest(dask)
        analysed = analyze(dask)
        with Client(cluster) as client:
            workers = client.run(_modules_loaded)
    return threads, dask, collected, analysed, workers


def test_both_worker_processes_collected_and_embedded(on_dask_and_on_threads):
    _, _, collected, analysed, workers = on_dask_and_on_threads
    assert len(workers) == 2
    assert all(loaded == ["crawlers.pages", "nlp.embed", "nlp.enrich"]
               for loaded in workers.values()), workers  # fmt: skip
    assert collected.counts["outlets_collected"] == len(SLICE)
    assert analysed.counts["embedded"] > 0


def test_the_store_is_the_one_a_run_on_threads_makes(on_dask_and_on_threads):
    threads, dask, _, _, _ = on_dask_and_on_threads
    from pathlib import Path

    on_threads, on_dask = contents(Path(threads["db"])), contents(Path(dask["db"]))
    assert on_dask.keys() == on_threads.keys()
    for table in on_threads:
        assert on_dask[table] == on_threads[table], table
