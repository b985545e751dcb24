"""Crawl throughput: pages per second for fetch + extract + store against the demo outlets,
beside trafilatura's extraction alone on the same pages, measured in the same run.

    .venv/bin/python bench/bench_crawl.py [--reruns 1]

Runs the acquisition stages of `flows/stages.py` directly (no Prefect) on the embedded demo
outlets served on 127.0.0.1: feeds -> pages (scrapy, in its child process, robots.txt and
each outlet's rate limit obeyed) -> extract -> store. Then times `trafilatura.extract` with
its defaults on the very page bodies the crawl fetched, in this process, and prints the
ratio. A rerun on the same database shows the steady state: feeds answer 304 to the
conditional GETs, and nothing is fetched again.

The demo registry allows 50 requests a second per outlet, so the page crawl is bounded by
politeness, not by the machine; the bound is printed. Timing is information, never judged.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _timed(call, *args):
    started = time.perf_counter()
    result = call(*args)
    return result, time.perf_counter() - started


def crawl_once(settings, run_id: str) -> tuple[dict[str, float], dict, list]:
    from flows import stages

    outlets = stages.read_sources(settings)
    stages.register_sources(settings, run_id, outlets)
    seconds: dict[str, float] = {}
    counts: dict = {}
    (acquired, more), seconds["feeds"] = _timed(stages.fetch_feeds, settings, run_id, outlets)
    counts |= more
    (acquired, more), seconds["pages"] = _timed(
        stages.fetch_pages, settings, run_id, outlets, acquired
    )
    counts |= more
    (acquired, more), seconds["extract"] = _timed(
        stages.extract_articles, settings, run_id, outlets, acquired
    )
    counts |= more
    more, seconds["store"] = _timed(stages.store_articles, settings, run_id, acquired)
    counts |= more
    return seconds, counts, acquired.pages


def trafilatura_alone(pages: list) -> float:
    """Seconds for trafilatura.extract (defaults) on the page bodies, one process."""
    import trafilatura

    trafilatura.extract("<html><body><p>warm up</p></body></html>")
    started = time.perf_counter()
    for page in pages:
        trafilatura.extract(page.body)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=1, help="runs after the first (default 1)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    from demo.server import serve_demo_outlets
    from mediawatch.settings import load_settings

    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp, serve_demo_outlets() as site:
        tmp_path = Path(tmp)
        registry = site.write_sources_yaml(tmp_path / "sources.yaml")
        settings = load_settings(
            db=tmp_path / "bench.duckdb", work_dir=tmp_path / "work", sources=registry
        )
        runs = []
        for n in range(1 + args.reruns):
            seconds, counts, pages = crawl_once(settings, f"bench-{n + 1}")
            runs.append((seconds, counts, pages))
        first_seconds, first_counts, pages = runs[0]
        reference = trafilatura_alone(pages)
        outlets = len(site.outlets)
        slowest = max(1 / o.requests_per_second for o in site.outlets)

    fetched = first_counts["pages_fetched"]
    crawl = first_seconds["pages"] + first_seconds["extract"] + first_seconds["store"]
    failed, stored = first_counts["pages_failed"], first_counts["articles_new"]
    print(f"demo outlets: {outlets}; pages fetched {fetched}, failed {failed}, stored {stored}")
    print(f"{'run':<8}{'feeds s':>9}{'pages s':>9}{'extract s':>11}{'store s':>9}"
          f"{'fetched':>9}{'304s':>6}")  # fmt: skip
    for n, (seconds, counts, _) in enumerate(runs, start=1):
        print(f"{n:<8}{seconds['feeds']:>9.2f}{seconds['pages']:>9.2f}{seconds['extract']:>11.2f}"
              f"{seconds['store']:>9.2f}{counts['pages_fetched']:>9}"
              f"{counts.get('listings_not_modified', 0):>6}")  # fmt: skip
    per_outlet = fetched / outlets
    bound = per_outlet * slowest
    print(
        f"politeness bound on the page crawl: about {bound:.2f} s "
        f"({per_outlet:.0f} pages per outlet at {1 / slowest:g} requests/s, in parallel)"
    )
    ours = fetched / crawl if crawl else float("nan")
    extract_only = fetched / first_seconds["extract"] if first_seconds["extract"] else float("nan")
    alone = len(pages) / reference if reference else float("nan")
    print(f"fetch + extract + store: {ours:.0f} pages/s ({crawl:.2f} s for {fetched} pages)")
    print(f"extract stage alone (mediawatch): {extract_only:.0f} pages/s")
    print(f"trafilatura.extract defaults alone, same pages: {alone:.0f} pages/s "
          f"({reference:.2f} s for {len(pages)} pages)")  # fmt: skip
    print(f"ratio fetch+extract+store / trafilatura alone: {ours / alone:.2f}")
    print(f"ratio mediawatch extract / trafilatura alone: {extract_only / alone:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
