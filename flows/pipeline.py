"""`mediawatch run`: the whole pipeline as one Prefect flow run.

Reads like the table of contents of a run; the work is in flows/stages.py and the rooms.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows import stages
from mediawatch.settings import Settings
from store import writes
from store.db import connection

T = TypeVar("T")


@dataclass
class RunSummary:
    run_id: str
    counts: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _stage(name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """A pipeline stage as a Prefect task: no caching of inputs, results kept in memory."""
    return task(name=name, cache_policy=NO_CACHE, persist_result=False)


class _Clock:
    """Seconds per stage, for the summary and the `runs` table."""

    def __init__(self, summary: RunSummary) -> None:
        self.summary = summary

    def __call__(self, name: str, stage: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        result = _stage(name)(stage)(*args)
        self.summary.seconds[name] = round(time.perf_counter() - started, 2)
        counts = result[-1] if isinstance(result, tuple) else result
        if isinstance(counts, dict):
            self.summary.counts.update(counts)
        return result


@flow(name="mediawatch-run", log_prints=False)
def mediawatch_run(settings: dict[str, Any], week: str | None = None) -> RunSummary:
    config = Settings(**settings)
    run_id = str(flow_run.get_id() or "local")
    summary = RunSummary(run_id=run_id)
    stage = _Clock(summary)
    with connection(config.db) as con:
        writes.start_run(con, run_id, "mediawatch-run", {"settings": settings, "week": week})
    status = "failed"
    try:
        outlets = stage("read sources", stages.read_sources, config)
        stage("register sources", stages.register_sources, config, run_id, outlets)
        acquired, _ = stage("fetch feeds", stages.fetch_feeds, config, run_id, outlets)
        acquired, _ = stage("fetch pages", stages.fetch_pages, config, run_id, outlets, acquired)
        acquired, _ = stage("extract", stages.extract_articles, config, run_id, outlets, acquired)
        stage("store articles", stages.store_articles, config, run_id, acquired)
        stage("find duplicates", stages.mark_duplicates, config, run_id)
        stage("identify languages", stages.identify_languages, config, run_id)
        stage("enrich", stages.enrich_articles, config, run_id)
        stage("embed", stages.embed_articles, config, run_id)
        stage("cluster narratives", stages.build_narratives, config, run_id)
        stage("load library", stages.load_library, config, run_id, date.today())
        stage("match library", stages.match_narratives, config, run_id)
        stage("write brief", stages.write_brief, config, run_id, week)
        summary.failures = dict(sorted(acquired.failures.items()))
        status = "completed"
    finally:
        with connection(config.db) as con:
            writes.finish_run(
                con,
                run_id,
                status,
                summary.counts | {"failures": summary.failures},
                summary.seconds,
            )
    return summary
