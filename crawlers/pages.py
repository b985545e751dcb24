"""Fetching article pages with scrapy, in a child process, into `Page`s and `FetchRecord`s.

`fetch_pages` writes a job file under `work_dir`, runs `crawlers.scrapy_runner` in a child
process (forked from a server process that has scrapy imported once; see that module for
why a child process and what the crawl obeys) and reads back one
JSON line per request. Every request ends in exactly one `FetchRecord`: fetched, refused
by robots.txt, offsite, not HTML, HTTP error, timeout, ... or `CrawlAborted` if the child
died before reaching it. Each HTML page becomes a `Page` that keeps its `FeedItem`, so
extraction can fall back on the feed's title, date and author.
"""

from __future__ import annotations

import functools
import json
import logging
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawlers import errors
from mediawatch.records import FeedItem, FetchRecord, Outlet, Page
from mediawatch.settings import Settings

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUNNER_MODULE = "crawlers.scrapy_runner"
# a child started afresh needs about 1-2 s to import scrapy and start its reactor
STARTUP_ALLOWANCE_S = 60.0


@dataclass(frozen=True)
class CrawlOptions:
    """Retry policy and limits of one page crawl; `from_settings` is what a run uses."""

    retry_times: int = 2
    retry_backoff_s: float = 2.0
    crawl_timeout_s: float | None = None  # None: estimated from the work and rate limits
    keep_files: bool = False  # keep the job, results and bodies for inspection
    http_cache_dir: Path | None = None  # development only: scrapy's HTTP cache
    http_cache_expiration_s: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> CrawlOptions:
        return cls(
            retry_times=settings.crawl_retry_times,
            retry_backoff_s=settings.crawl_retry_backoff_s,
            crawl_timeout_s=settings.crawl_timeout_s,
            http_cache_dir=settings.http_cache_dir,
            http_cache_expiration_s=settings.http_cache_expiration_s,
        )


def fetch_pages(
    requests: list[FeedItem],
    outlets: list[Outlet],
    *,
    settings: Settings,
    work_dir: Path,
    options: CrawlOptions | None = None,
) -> tuple[list[Page], list[FetchRecord]]:
    """Crawl the pages the feed items point to; HTML pages and one record per request.

    Requests are de-duplicated by (outlet, URL). Records for robots.txt fetches (kind
    'robots') come first, then one record per request; pages and records are in request
    order, whatever order the crawl finished them in.
    """
    options = options or CrawlOptions.from_settings(settings)
    by_outlet = {outlet.outlet_id: outlet for outlet in outlets}
    wanted, records = _plan(requests, by_outlet)
    if not wanted:
        return [], records
    work_dir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="crawl-", dir=work_dir))
    try:
        job = _job(wanted, by_outlet, settings, options, run_dir)
        _run_child(job, run_dir, timeout_s=options.crawl_timeout_s or _deadline(job))
        pages, page_records = _read_results(job, wanted, run_dir)
    finally:
        if not options.keep_files:
            shutil.rmtree(run_dir, ignore_errors=True)
    return pages, _in_request_order(records + page_records, requests)


# --------------------------------------------------------------------------- planning


def _plan(
    requests: Iterable[FeedItem], by_outlet: dict[str, Outlet]
) -> tuple[list[FeedItem], list[FetchRecord]]:
    wanted: list[FeedItem] = []
    refused: list[FetchRecord] = []
    seen: set[tuple[str, str]] = set()
    for item in requests:
        key = (item.outlet_id, item.url)
        if key in seen:
            continue
        seen.add(key)
        if item.outlet_id in by_outlet:
            wanted.append(item)
        else:
            refused.append(
                _failure_record(item, errors.UNKNOWN_OUTLET, "outlet not in the crawl's registry")
            )
    return wanted, refused


def _job(
    wanted: list[FeedItem],
    by_outlet: dict[str, Outlet],
    settings: Settings,
    options: CrawlOptions,
    run_dir: Path,
) -> dict[str, Any]:
    outlet_ids = dict.fromkeys(item.outlet_id for item in wanted)
    return {
        "requests": [
            {"index": index, "outlet_id": item.outlet_id, "url": item.url}
            for index, item in enumerate(wanted)
        ],
        "outlets": {
            oid: {
                "allowed_domains": list(by_outlet[oid].allowed_domains),
                "requests_per_second": by_outlet[oid].requests_per_second,
            }
            for oid in outlet_ids
        },
        "crawl": {
            "user_agent": settings.user_agent,
            "timeout_s": settings.request_timeout_s,
            "max_bytes": settings.max_body_bytes,
            "concurrency_per_domain": settings.crawl_concurrency_per_domain,
            "retry_times": options.retry_times,
            "retry_backoff_s": options.retry_backoff_s,
            "http_cache_dir": str(options.http_cache_dir) if options.http_cache_dir else None,
            "http_cache_expiration_s": options.http_cache_expiration_s,
        },
        "results": str(run_dir / "results.jsonl"),
        "bodies_dir": str(run_dir / "bodies"),
    }


def _deadline(job: dict[str, Any]) -> float:
    """A generous bound on the crawl: the slowest outlet's paced requests, plus retries."""
    crawl = job["crawl"]
    counts: dict[str, int] = {}
    for item in job["requests"]:
        counts[item["outlet_id"]] = counts.get(item["outlet_id"], 0) + 1
    attempts = crawl["retry_times"] + 1
    per_request = attempts * crawl["timeout_s"] + crawl["retry_backoff_s"] * 2**attempts
    paced = max(
        count / job["outlets"][oid]["requests_per_second"] * 2 for oid, count in counts.items()
    )
    return STARTUP_ALLOWANCE_S + paced + per_request * 2


def _in_request_order(records: list[FetchRecord], requests: list[FeedItem]) -> list[FetchRecord]:
    position = {
        key: index
        for index, key in enumerate(dict.fromkeys((item.outlet_id, item.url) for item in requests))
    }
    return sorted(
        records,
        key=lambda r: (
            r.kind != "robots",
            position.get((r.outlet_id, r.url), len(position)),
            r.url,
        ),
    )


# --------------------------------------------------------------------------- the child


def _run_child(job: dict[str, Any], run_dir: Path, *, timeout_s: float) -> None:
    job_path = run_dir / "job.json"
    job_path.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    if multiprocessing.current_process().daemon:
        # a daemonic process (a Dask worker, say) may not fork children of its own
        _run_subprocess(job_path, run_dir, timeout_s)
    else:
        _run_forked(job_path, run_dir, timeout_s)


def _run_forked(job_path: Path, run_dir: Path, timeout_s: float) -> None:
    """The crawl in a child forked from a server process that has scrapy imported already:
    a fresh reactor per crawl (scrapy's cannot restart) without a second of imports each."""
    log_path = run_dir / "crawl.log"
    child = _forkserver().Process(
        target=_crawl_child, args=(str(job_path), str(run_dir), str(log_path)), daemon=False
    )
    child.start()
    child.join(timeout_s)
    if child.is_alive():
        child.kill()
        child.join()
        log.error("page crawl stopped after %.0f s; unfinished requests are logged", timeout_s)
        return
    output = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    if child.exitcode != 0:
        log.error("page crawl exited with %s: %s", child.exitcode, _tail(output))
    elif output.strip():
        log.debug("page crawl log:\n%s", output)


@functools.cache
def _forkserver() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([RUNNER_MODULE])
    return context


def _crawl_child(job_path: str, run_dir: str, log_path: str) -> None:
    """In the forked child: its own working folder, scrapy's output to a file, then crawl."""
    os.chdir(run_dir)
    os.environ.pop("SCRAPY_SETTINGS_MODULE", None)
    with open(log_path, "ab", buffering=0) as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
    from crawlers import scrapy_runner

    scrapy_runner.main([job_path])


def _run_subprocess(job_path: Path, run_dir: Path, timeout_s: float) -> None:
    command = [sys.executable, "-m", RUNNER_MODULE, str(job_path)]
    try:
        completed = subprocess.run(
            command,
            cwd=run_dir,
            env=_child_env(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.error("page crawl stopped after %.0f s; unfinished requests are logged", timeout_s)
        return
    if completed.returncode != 0:
        log.error("page crawl exited with %d: %s", completed.returncode, _tail(completed.stderr))
    elif completed.stderr.strip():
        # every outcome is in the results; scrapy's own warnings are for debugging
        log.debug("page crawl log:\n%s", completed.stderr)


def _child_env() -> dict[str, str]:
    # The child inherits our environment (proxies, locale) but must import this very
    # checkout, and must not pick up a user's scrapy project settings.
    env = dict(os.environ)
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if part
    )
    return env


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --------------------------------------------------------------------------- results


def _read_results(
    job: dict[str, Any], wanted: list[FeedItem], run_dir: Path
) -> tuple[list[Page], list[FetchRecord]]:
    pages: dict[int, Page] = {}
    records: list[FetchRecord] = []
    answered: set[int] = set()
    results = Path(job["results"])
    lines = results.read_text(encoding="utf-8").splitlines() if results.exists() else []
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a killed child
            continue
        records.append(_row_record(row))
        index = row.get("index")
        if index is None:
            continue
        answered.add(index)
        if row.get("body_file") and row.get("error_class") is None:
            body = (Path(job["bodies_dir"]) / row["body_file"]).read_bytes()
            pages[index] = _row_page(row, body, wanted[index])
    for index, item in enumerate(wanted):
        if index not in answered:
            records.append(
                _failure_record(item, errors.CRAWL_ABORTED, "the crawl ended before this request")
            )
    return [pages[index] for index in sorted(pages)], records


def _row_record(row: dict[str, Any]) -> FetchRecord:
    return FetchRecord(
        outlet_id=row["outlet_id"],
        url=row["url"],
        kind=row.get("kind", "page"),
        status=row.get("status"),
        bytes=int(row.get("bytes") or 0),
        elapsed_ms=float(row.get("elapsed_ms") or 0.0),
        fetched_at=_parse_time(row.get("fetched_at")),
        error_class=row.get("error_class"),
        error_message=row.get("error_message"),
    )


def _row_page(row: dict[str, Any], body: bytes, item: FeedItem) -> Page:
    return Page(
        outlet_id=row["outlet_id"],
        url=row["url"],
        final_url=row.get("final_url") or row["url"],
        status=int(row["status"]),
        body=body,
        content_type=row.get("content_type", ""),
        fetched_at=_parse_time(row.get("fetched_at")),
        feed_item=item,
    )


def _failure_record(item: FeedItem, error_class: str, message: str) -> FetchRecord:
    return FetchRecord(
        outlet_id=item.outlet_id,
        url=item.url,
        kind="page",
        status=None,
        bytes=0,
        elapsed_ms=0.0,
        fetched_at=datetime.now(UTC),
        error_class=error_class,
        error_message=message,
    )


def _parse_time(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    return datetime.fromisoformat(value)
