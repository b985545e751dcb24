"""The run summary printed at the end of `mediawatch run`."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

# (label, count key) in the order an analyst reads a run
_COUNTS = [
    ("outlets", "outlets"),
    ("feeds read", "feeds"),
    ("feeds failed", "feeds_failed"),
    ("feed items", "feed_items"),
    ("feeds, sitemaps, sections not modified (304)", "listings_not_modified"),
    ("sitemaps read", "sitemaps"),
    ("section pages read", "sections"),
    ("articles found by sitemaps and sections", "discovered_items"),
    ("pages already stored, not requested", "pages_already_stored"),
    ("pages fetched", "pages_fetched"),
    ("pages failed", "pages_failed"),
    ("pages without an article", "pages_without_article"),
    ("articles new", "articles_new"),
    ("articles changed", "articles_changed"),
    ("articles unchanged", "articles_unchanged"),
    ("syndicated copies", "duplicates"),
    ("articles embedded", "embedded"),
    ("embeddings reused", "embeddings_cached"),
    ("narratives", "narratives"),
    ("articles in no narrative", "unclustered"),
    ("library entries", "library_entries"),
    ("matches over threshold", "matches"),
    ("gaps", "gaps"),
]


def print_summary(summary: Any, console: Console | None = None) -> None:
    console = console or Console()
    counts = summary.counts
    table = Table(title=f"Run {summary.run_id}", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, key in _COUNTS:
        if key in counts:
            table.add_row(label, str(counts[key]))
    if counts.get("languages"):
        table.add_row("languages", ", ".join(f"{k} {v}" for k, v in counts["languages"].items()))
    if counts.get("library_refused"):
        table.add_row("library refused", counts["library_refused"])
    console.print(table)
    if summary.failures:
        failures = Table(title="Failed requests by reason", title_justify="left")
        failures.add_column("reason")
        failures.add_column("count", justify="right")
        for reason, n in summary.failures.items():
            failures.add_row(reason, str(n))
        console.print(failures)
    timing = Table(title="Seconds per stage", title_justify="left")
    timing.add_column("stage")
    timing.add_column("seconds", justify="right")
    for stage, seconds in summary.seconds.items():
        timing.add_row(stage, f"{seconds:.2f}")
    timing.add_row("total", f"{sum(summary.seconds.values()):.2f}")
    console.print(timing)
    for path in counts.get("brief", []):
        console.print(f"Brief: {path}")
