"""`mediawatch run`: the whole pipeline once, as one Prefect flow run.

Reads like the table of contents of a run: ingest, analyze, the brief. Each part is a flow
of its own (flows/ingest.py, analyze.py, weekly.py) that a schedule can also run alone;
here they run as subflows under one run id, one run lock and one readers' snapshot.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.analyze import analyze
from flows.ingest import ingest
from flows.runs import RunSummary, writing_run
from flows.weekly import weekly_brief
from mediawatch.settings import Settings

__all__ = ["RunSummary", "mediawatch_run"]


@flow(name="mediawatch-run", log_prints=False)
def mediawatch_run(settings: dict[str, Any] | None = None, week: str | None = None) -> RunSummary:
    config = Settings(**(settings or {}))  # none given: defaults, mediawatch.toml, env
    with writing_run(config, "mediawatch-run", {"settings": settings, "week": week}) as run:
        run.summary.add(ingest(run.settings, run_id=run.id))
        run.summary.add(analyze(run.settings, run_id=run.id))
        run.summary.add(weekly_brief(run.settings, week=week, run_id=run.id))
    return run.summary
