"""`weekly-brief`: the brief of a week (default: the last complete one in the office's zone)."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows import stages
from flows.runs import RunSummary, writing_run
from mediawatch.settings import Settings


@flow(name="weekly-brief", log_prints=False)
def weekly_brief(
    settings: dict[str, Any] | None = None, week: str | None = None, run_id: str | None = None
) -> RunSummary:
    """Write the brief (HTML and Markdown) and record the runs it read."""
    config = Settings(**(settings or {}))  # none given: defaults, mediawatch.toml, env
    parameters = {"settings": settings, "week": week}
    with writing_run(config, "weekly-brief", parameters, run_id) as run:
        run.stage("write brief", stages.write_brief, run.config, run.id, week)
    return run.summary
