"""`ingest`: every enabled outlet collected as its own task, then stored by this process.

Each outlet task reads the outlet's feeds, sitemaps and section pages, crawls its article
pages (scrapy, in a child process) and extracts them. Tasks never open the store: they get
their part of the plan and hand back records, so they can run in threads or on Dask workers
on other machines while this process stays the one writer. Outlets are stored as their
tasks finish, each in one transaction: a run killed half-way keeps the outlets it finished
and the next run reads the others again in full.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from typing import Any
from urllib.parse import urlsplit

from prefect import flow
from prefect.futures import as_completed
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from flows import stages
from flows.runs import RunSummary, stage_task, writing_run
from flows.task_runners import task_runner
from mediawatch.records import Outlet
from mediawatch.settings import Settings
from store.db import connection

log = logging.getLogger("mediawatch")


@flow(name="ingest", log_prints=False)
def ingest(settings: dict[str, Any] | None = None, run_id: str | None = None) -> RunSummary:
    """Outlets -> feeds, sitemaps, sections -> pages -> articles, stored once; copies grouped."""
    config = Settings(**(settings or {}))  # none given: defaults, mediawatch.toml, env
    with writing_run(config, "ingest", {"settings": settings}, run_id) as run:
        outlets = run.stage("read sources", stages.read_sources, run.config)
        run.stage("register sources", stages.register_sources, run.config, run.id, outlets)
        enabled = [o for o in outlets if o.enabled]
        plans = run.stage("plan ingest", stages.plan_ingest, run.config, enabled, counts=False)
        hauls = collect_outlets.with_options(task_runner=task_runner(run.config))
        run.summary.add(hauls(run.settings, run.id, enabled, quote(plans)))
        run.stage("find duplicates", stages.mark_duplicates, run.config, run.id)
    return run.summary


@flow(name="collect-outlets", log_prints=False)
def collect_outlets(
    settings: dict[str, Any], run_id: str, outlets: list[Outlet], plans: Any
) -> RunSummary:
    """Fan the outlets out to the task runner, at most `outlets_per_host` at once against
    one host; store each outlet as its task finishes."""
    config = Settings(**settings)
    plans = plans.unquote() if hasattr(plans, "unquote") else plans
    summary = RunSummary(run_id=run_id)
    started = time.perf_counter()
    # no task timeout: each crawl has its own deadline (crawlers/pages.py), which a thread
    # could not be interrupted by anyway
    task = collect_outlet.with_options(
        retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=10)
    )
    queue = HostQueue(outlets, config.outlets_per_host)

    def submit(outlet: Outlet) -> Any:
        tagged = task.with_options(tags=[f"outlet:{outlet.outlet_id}"])
        return tagged.submit(settings, run_id, outlet, plans[outlet.outlet_id])

    running = {submit(o): o for o in queue.start()}
    stored_s = 0.0
    with connection(config.db) as con:  # one writer connection for every outlet
        while running:
            future = next(iter(as_completed(list(running))))
            outlet = running.pop(future)
            running |= {submit(o): o for o in queue.done(outlet)}
            try:
                acquired, counts = future.result()
            except Exception as exc:  # one outlet's failure must not stop the others
                log.error("outlet %s could not be collected: %s", outlet.outlet_id, exc)
                summary.add_failures({f"outlet: {type(exc).__name__}": 1})
                continue
            t0 = time.perf_counter()
            counts |= stages.store_articles(config, run_id, acquired, con)
            stored_s += time.perf_counter() - t0
            summary.add_counts(counts | {"outlets_collected": 1})
            summary.add_failures(dict(acquired.failures))
    summary.seconds["collect outlets"] = round(time.perf_counter() - started - stored_s, 2)
    summary.seconds["store articles"] = round(stored_s, 2)
    return summary


@stage_task("collect outlet")
def collect_outlet(
    settings: dict[str, Any], run_id: str, outlet: Outlet, plan: stages.IngestPlan
) -> tuple[stages.Acquired, dict]:
    """One outlet: its listings, its pages, their articles (nothing stored)."""
    return stages.collect_outlets(Settings(**settings), run_id, [outlet], plan)


class HostQueue:
    """Outlets waiting for their turn, at most `per_host` at once against one host.

    The flow submits tasks itself, so the limit holds on any task runner, threads or Dask
    workers; across runs it holds because only one run writes at a time (the run lock).
    (A Prefect global concurrency limit would also span runs, but a killed run would keep
    its slots until their leases expire, and the temporary API never reclaims them.)
    """

    def __init__(self, outlets: list[Outlet], per_host: int) -> None:
        self.per_host = per_host
        self.waiting: dict[str, deque[Outlet]] = {}
        for outlet in outlets:
            self.waiting.setdefault(outlet_host(outlet), deque()).append(outlet)
        self.active: Counter[str] = Counter()

    def start(self) -> list[Outlet]:
        return [o for host in list(self.waiting) for o in self._take(host, self.per_host)]

    def done(self, outlet: Outlet) -> list[Outlet]:
        host = outlet_host(outlet)
        self.active[host] -= 1
        return self._take(host, 1)

    def _take(self, host: str, n: int) -> list[Outlet]:
        taken = []
        queue = self.waiting.get(host, deque())
        while queue and len(taken) < n and self.active[host] < self.per_host:
            taken.append(queue.popleft())
            self.active[host] += 1
        return taken


def outlet_host(outlet: Outlet) -> str:
    """The server an outlet's requests go to (its first feed's host, else its homepage's)."""
    for url in [*outlet.feeds, *outlet.sitemaps, *outlet.sections, outlet.homepage]:
        host = urlsplit(url or "").hostname
        if host:
            return host.removeprefix("www.")
    return outlet.outlet_id
