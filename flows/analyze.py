"""`analyze`: language, entities, vectors, narratives, library matches, over what is stored.

Enrichment and embedding fan out in chunks to the task runner (threads here, Dask workers
elsewhere) and this process stores each chunk as it comes back, so a run killed half-way
keeps the vectors it made (they are cached by content hash) and the next run makes only the
rest. Clustering and matching look at all narratives at once and run here.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from prefect import flow
from prefect.futures import as_completed

from flows import stages
from flows.runs import RunSummary, stage_task, writing_run
from flows.task_runners import task_runner
from mediawatch.settings import Settings


@flow(name="analyze", log_prints=False)
def analyze(settings: dict[str, Any] | None = None, run_id: str | None = None) -> RunSummary:
    """Stored articles -> language -> entities -> vectors -> narratives -> matches."""
    config = Settings(**(settings or {}))  # none given: defaults, mediawatch.toml, env
    with writing_run(config, "analyze", {"settings": settings}, run_id) as run:
        run.stage("identify languages", stages.identify_languages, run.config, run.id)
        fan_out = analyze_in_chunks.with_options(task_runner=task_runner(run.config))
        run.summary.add(fan_out(run.settings, run.id))
        run.stage("cluster narratives", stages.build_narratives, run.config, run.id)
        run.stage("load library", stages.load_library, run.config, run.id, date.today())
        run.stage("match library", stages.match_narratives, run.config, run.id)
    return run.summary


@flow(name="enrich-and-embed", log_prints=False)
def analyze_in_chunks(settings: dict[str, Any], run_id: str) -> RunSummary:
    """Entities and vectors for what has none yet, chunk by chunk on the task runner."""
    config = Settings(**settings)
    summary = RunSummary(run_id=run_id)

    started = time.perf_counter()
    articles, cached = stages.enrich_todo(config)
    chunk = config.analysis_chunk
    futures = {
        enrich_chunk.submit(articles[i : i + chunk]): articles[i : i + chunk]
        for i in range(0, len(articles), chunk)
    }
    found: list = []
    for future in as_completed(list(futures)):
        part = future.result()
        stages.store_enrichments(config, run_id, futures[future], part)
        found += part
    summary.add_counts(stages.enrich_summary(found) | {"enrich_cached": cached})
    summary.seconds["enrich"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    todo = stages.embed_todo(config)
    futures = {embed_chunk.submit(settings, texts): keys for keys, texts in todo.chunks(chunk)}
    for future in as_completed(list(futures)):
        stages.store_embeddings(config, run_id, todo.model_id, futures[future], future.result())
    summary.add_counts(todo.counts())
    summary.seconds["embed"] = round(time.perf_counter() - started, 2)
    return summary


# (Dask pickles these by value: what they use must be importable, not a lock of this module)
@stage_task("enrich chunk", retries=1, retry_delay_seconds=5)
def enrich_chunk(articles: list) -> list:
    with stages.MODEL_CALL:
        return stages.enrich_chunk(articles)


@stage_task("embed chunk", retries=1, retry_delay_seconds=5)
def embed_chunk(settings: dict[str, Any], texts: list[str]) -> Any:
    with stages.MODEL_CALL:
        return stages.embed_chunk(Settings(**settings), texts)
