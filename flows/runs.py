"""What every writing flow does around its stages: one writer, a `runs` row, a snapshot.

`writing_run(...)` is entered by a flow started on its own (from the command line, a
schedule or a deployment): it takes the run lock (store/lock.py), records the run as
running, marks runs that a killed process left "running" as abandoned, applies brief
records that readers deferred, and on success publishes the readers' snapshot. A flow
started by another flow (a subflow of `mediawatch run`) writes under its parent's run id
and leaves all that to the parent.

`Run.stage(name, function, *args)` runs one stage as a Prefect task and keeps its seconds
and counts for the summary and the `runs` row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.task_runners import dask_cluster
from mediawatch.settings import Settings
from store import deferred, snapshots, writes
from store.db import connection
from store.lock import writer_lock

T = TypeVar("T")
log = logging.getLogger("mediawatch")


@dataclass
class RunSummary:
    run_id: str
    counts: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, other: RunSummary) -> None:
        """Fold in a subflow's summary (same run id)."""
        self.add_counts(other.counts)
        self.add_failures(other.failures)
        for name, seconds in other.seconds.items():
            self.seconds[name] = round(self.seconds.get(name, 0.0) + seconds, 2)

    def add_counts(self, counts: Any) -> None:
        """Counts of a stage; those reported outlet by outlet (or chunk by chunk) add up."""
        if not isinstance(counts, dict):
            return
        for key, value in counts.items():
            old = self.counts.get(key)
            summed = key in _SUMMED and isinstance(value, int) and isinstance(old, int)
            self.counts[key] = old + value if summed else value

    def add_failures(self, failures: dict[str, int]) -> None:
        for reason, n in failures.items():
            self.failures[reason] = self.failures.get(reason, 0) + n


def stage_task(name: str, **options: Any) -> Callable[[Callable[..., T]], Any]:
    """A pipeline stage as a Prefect task: no caching of inputs, results kept in memory.

    Stages are idempotent and their caches are in the store (vectors by content hash,
    entities by content hash, the library index by library version), shared by every worker
    and kept across a crash, which Prefect's result cache would not be.
    """
    return task(name=name, cache_policy=NO_CACHE, persist_result=False, **options)


class Run:
    """A running flow's id, settings and summary; `stage` runs and clocks one stage."""

    def __init__(self, config: Settings, run_id: str) -> None:
        self.config = config
        self.id = run_id
        self.summary = RunSummary(run_id=run_id)

    @property
    def settings(self) -> dict[str, Any]:
        """The settings as the parameter of a subflow or a task."""
        return self.config.model_dump(mode="json")

    def stage(self, name: str, stage: Callable[..., Any], *args: Any, counts: bool = True) -> Any:
        """Run a stage as a task; its result (or a tuple's last item) is its counts."""
        started = time.perf_counter()
        result = stage_task(name)(stage)(*args)
        self.clock(name, started)
        if counts:
            self.summary.add_counts(result[-1] if isinstance(result, tuple) else result)
        return result

    def clock(self, name: str, started: float) -> None:
        self.summary.seconds[name] = round(
            self.summary.seconds.get(name, 0.0) + time.perf_counter() - started, 2
        )


# counts that outlet tasks report one outlet at a time and the run adds up
_SUMMED = {
    "feeds", "feeds_failed", "feed_items", "listings_not_modified", "sitemaps", "sections",
    "discovered_items", "pages_fetched", "pages_failed", "pages_already_stored",
    "articles_extracted", "pages_without_article", "articles_new", "articles_changed",
    "articles_unchanged", "validators_kept", "embedded", "outlets_collected",
}  # fmt: skip


@contextmanager
def writing_run(
    config: Settings,
    flow: str,
    parameters: dict[str, Any],
    run_id: str | None = None,
    wait_s: float | None = None,
) -> Iterator[Run]:
    """The run a flow writes under. With `run_id` given, the flow is part of that run."""
    if run_id is not None:
        yield Run(config, run_id)
        return
    run_id = str(flow_run.get_id() or f"local-{time.time_ns()}")
    wait = config.writer_wait_s if wait_s is None else wait_s
    with (
        writer_lock(config.db, {"run_id": run_id, "flow": flow}, wait_s=wait),
        dask_cluster(config) as config,
    ):
        run = Run(config, run_id)
        with connection(config.db) as con:
            writes.abandon_unfinished_runs(con, keep=run_id)
            deferred.apply(con, config.db)
            writes.start_run(con, run_id, flow, parameters)
        status = "failed"
        try:
            yield run
            status = "completed"
        finally:
            with connection(config.db) as con:
                counts = run.summary.counts | {"failures": run.summary.failures}
                writes.finish_run(con, run_id, status, counts, run.summary.seconds)
        if config.reader_snapshots:
            started = time.perf_counter()
            path = snapshots.publish(config.db, run_id, keep=config.snapshots_kept)
            run.clock("publish snapshot", started)
            log.info("readers' snapshot: %s", path)
        else:
            snapshots.withdraw(config.db)


def settings_dict(config: Settings) -> dict[str, Any]:
    """Settings as a flow parameter (JSON, so a deployment can carry them)."""
    return config.model_dump(mode="json")
