"""`backfill`: catch up on a date range: what outlets list back to `since`, then the briefs.

Feeds only list the latest items, so the range is read from the outlets' sitemaps (entries
dated back to `since`) and section pages; the analysis window is widened to cover it; then
the brief of every complete ISO week that overlaps [since, until] is written.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from prefect import flow

from flows.analyze import analyze
from flows.ingest import ingest
from flows.runs import RunSummary, writing_run
from flows.weekly import weekly_brief
from mediawatch.settings import Settings
from mediawatch.weeks import last_complete_week, weeks_between


@flow(name="backfill", log_prints=False)
def backfill(since: date, until: date, settings: dict[str, Any] | None = None) -> RunSummary:
    if until < since:
        raise ValueError(f"backfill range ends ({until}) before it starts ({since})")
    config = Settings(**(settings or {}))  # none given: defaults, mediawatch.toml, env
    days_back = (datetime.now(UTC).date() - since).days + 1
    wider = config.model_copy(
        update={
            "sitemap_max_age_days": max(config.sitemap_max_age_days, days_back),
            "analysis_window_days": max(config.analysis_window_days, days_back + 7),
            "discovery_max_links": max(config.discovery_max_links, 10_000),
        }
    )
    parameters = {"settings": settings, "since": str(since), "until": str(until)}
    with writing_run(wider, "backfill", parameters) as run:
        run.summary.add(ingest(run.settings, run_id=run.id))
        run.summary.add(analyze(run.settings, run_id=run.id))
        last = last_complete_week(config.timezone, datetime.now(UTC))
        weeks = [w for w in weeks_between(since, until, config.timezone) if w.end <= last.end]
        for week in weeks:
            run.summary.add(weekly_brief(run.settings, week=week.label, run_id=run.id))
        run.summary.counts["briefs_written"] = [w.label for w in weeks]
    return run.summary
