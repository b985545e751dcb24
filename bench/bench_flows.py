"""Orchestration overhead: the demo pipeline as Prefect flows beside the same stages called as
plain functions, and the Dask task runner beside the default, measured in one run.

    .venv/bin/python bench/bench_flows.py [--repeat 2] [--no-dask]

Each variant runs the whole demo pipeline (17 outlets, about 465 articles) on a fresh
database against the same demo server:

- plain: flows/stages.py called directly, in the order the flows call them, the outlets
  collected by a thread pool of the same size and stored one by one as they finish;
- flows: `mediawatch_run` (ingest, analyze, weekly-brief subflows) on Prefect's temporary
  local API, threads task runner (the default);
- dask: the same flow with task_runner = "dask" (a LocalCluster of 2 worker processes
  started by the run, included in its time).

The embedding model, spaCy and Prefect's API are warmed up first and not counted (each is
loaded once per process, and every variant would pay it alike). Variants alternate, and the
median of --repeat runs is reported. Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def plain(config) -> float:
    """The stages of ingest, analyze and the brief, called as plain functions."""
    from flows import stages
    from store.db import connection

    started = time.perf_counter()
    run_id = "plain"
    outlets = stages.read_sources(config)
    stages.register_sources(config, run_id, outlets)
    enabled = [o for o in outlets if o.enabled]
    plans = stages.plan_ingest(config, enabled)
    with (
        ThreadPoolExecutor(config.ingest_workers) as pool,
        connection(config.db) as con,
    ):
        futures = [
            pool.submit(stages.collect_outlets, config, run_id, [o], plans[o.outlet_id])
            for o in enabled
        ]
        for future in as_completed(futures):
            acquired, _ = future.result()
            stages.store_articles(config, run_id, acquired, con)
    stages.mark_duplicates(config, run_id)
    stages.identify_languages(config, run_id)
    stages.enrich_articles(config, run_id)
    stages.embed_articles(config, run_id)
    stages.build_narratives(config, run_id)
    stages.load_library(config, run_id, date.today())
    stages.match_narratives(config, run_id)
    stages.write_brief(config, run_id)
    return time.perf_counter() - started


def flows(config) -> float:
    from flows.pipeline import mediawatch_run

    started = time.perf_counter()
    mediawatch_run(config.model_dump(mode="json"))
    return time.perf_counter() - started


def warm_up(config) -> None:
    """Load what every variant would otherwise load once: model, spaCy, Prefect's API."""
    from prefect import flow

    from flows.stages import _embedder
    from nlp.enrich import pipeline

    _embedder(config).embed_passages(["warm up"])
    for language in ("en", "vi", "fr", "zh"):
        pipeline(language)

    @flow(name="warm-up")
    def nothing() -> None:
        return None

    started = time.perf_counter()
    nothing()
    print(f"Prefect temporary API start and a first flow: {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()

    from flows.prefect_env import configure_prefect
    from mediawatch.settings import load_settings

    root = Path(tempfile.mkdtemp(prefix="bench-flows-"))
    configure_prefect(root / "prefect")
    from demo.server import serve_demo_outlets

    variants = {"plain": plain, "flows": flows}
    if not args.no_dask:
        variants["dask"] = flows
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    with serve_demo_outlets() as site:
        registry = site.write_sources_yaml(root / "sources.yaml")
        base = load_settings(sources=registry, outlets_per_host=8)  # as `mediawatch run` on it
        warm_up(base)
        for round_ in range(args.repeat):
            for name, call in variants.items():
                where = root / f"{name}-{round_}"
                where.mkdir()
                config = base.model_copy(
                    update={
                        "db": where / "m.duckdb",
                        "briefs_dir": where / "briefs",
                        "work_dir": where / "work",
                        "task_runner": "dask" if name == "dask" else "threads",
                    }
                )
                seconds[name].append(call(config))
                print(f"round {round_ + 1}: {name:6s} {seconds[name][-1]:6.1f} s", flush=True)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    print()
    print(f"demo pipeline, {len(site.outlets)} outlets, median of {args.repeat} (seconds)")
    for name, value in median.items():
        ratio = value / median["plain"]
        print(f"  {name:6s} {value:7.1f}   ratio to plain functions {ratio:5.2f}")
    print("goal: flows / plain <= 1.15 (the Dask path pays for starting its cluster and its "
          "workers' models, which only pays off past one machine)")  # fmt: skip


if __name__ == "__main__":
    main()
