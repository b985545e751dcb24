"""Demo pipeline benchmark: seconds per stage, and articles per second end to end beside the
embedding model's raw throughput on the same texts, measured in the same run.

    .venv/bin/python bench/bench_pipeline.py [--threads 2]

Prints a table; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from flows.prefect_env import configure_prefect
    from mediawatch.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        settings = load_settings(
            db=tmp_path / "bench.duckdb",
            briefs_dir=tmp_path / "briefs",
            work_dir=tmp_path / "work",
            prefect_home=tmp_path / "prefect",
            outlets_per_host=8,  # as `mediawatch run` on the demo (demo/server.py)
        )
        configure_prefect(settings.prefect_home)
        from demo.server import serve_demo_outlets
        from flows.pipeline import mediawatch_run

        with serve_demo_outlets() as site:
            registry = site.write_sources_yaml(tmp_path / "sources.yaml")
            started = time.perf_counter()
            summary = mediawatch_run(
                settings.model_copy(update={"sources": registry}).model_dump(mode="json")
            )
            wall = time.perf_counter() - started

        texts = _stored_texts(settings)
        raw_rate = _raw_model_rate(settings, texts)

    stored = summary.counts.get("articles_new", 0) + summary.counts.get("articles_unchanged", 0)
    print(f"{'stage':<24}{'seconds':>10}")
    for stage, seconds in summary.seconds.items():
        print(f"{stage:<24}{seconds:>10.2f}")
    stage_total = sum(summary.seconds.values())
    print(f"{'stages total':<24}{stage_total:>10.2f}")
    print(f"{'flow wall clock':<24}{wall:>10.2f}  (includes Prefect start-up)")
    print()
    print(f"articles stored                 {stored}")
    print(f"pipeline articles/s (stages)    {stored / stage_total:8.1f}")
    print(f"pipeline articles/s (wall)      {stored / wall:8.1f}")
    print(f"raw model encode texts/s        {raw_rate:8.1f}  (same {len(texts)} texts, same model)")
    print(f"ratio pipeline(stages) / raw    {stored / stage_total / raw_rate:8.2f}")
    print(f"embed stage share of stages     {summary.seconds.get('embed', 0) / stage_total:8.0%}")


def _stored_texts(settings) -> list[str]:
    from nlp.embed import article_text
    from store import reads
    from store.db import connection

    with connection(settings.db, read_only=True) as con:
        return [article_text(a.title, a.text) for a in reads.articles_for_analysis(con)]


def _raw_model_rate(settings, texts: list[str]) -> float:
    """The sentence-transformers model alone, on the same texts, same truncation."""
    from nlp.embed import load_embedder

    embedder = load_embedder(settings.embedding_model, settings.models_dir)
    embedder.embed_passages(texts[:16])  # warm-up
    started = time.perf_counter()
    embedder.embed_passages(texts)
    return len(texts) / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
