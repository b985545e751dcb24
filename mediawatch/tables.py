"""Human-readable tables for the console commands."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def _day(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if value else "–"


def print_narratives(rows: list[dict[str, Any]], console: Console | None = None) -> None:
    console = console or Console()
    if not rows:
        console.print("No narratives match these filters.")
        return
    table = Table(title_justify="left")
    for name, justify in [
        ("id", "left"),
        ("narrative", "left"),
        ("articles", "right"),
        ("outlets", "right"),
        ("languages", "left"),
        ("first seen", "left"),
        ("response", "left"),
    ]:
        table.add_column(name, justify=justify)
    for row in rows:
        table.add_row(
            row["narrative_id"],
            escape(row["label"][:80]),
            str(row["articles"]),
            str(row["outlets"]),
            ", ".join(row["languages"] or []),
            _day(row["first_seen_at"]),
            ", ".join(row["matched_entries"] or []) or "gap",
        )
    console.print(table)


def print_narrative(detail: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"[bold]{escape(detail['label'])}[/bold]  ({detail['narrative_id']})")
    console.print(f"keywords: {escape(', '.join(detail['keywords'] or []))}")
    console.print(
        f"first seen {_day(detail['first_seen_at'])}, last seen "
        f"{_day(detail['last_seen_at'])}, {detail['article_count']} articles"
    )
    articles = Table(title="Articles", title_justify="left")
    for name in ["date", "outlet", "lang", "title", "copy of"]:
        articles.add_column(name)
    for a in detail["articles"]:
        articles.add_row(
            _day(a["published_at"]),
            escape(a["outlet_name"] or a["outlet_id"]),
            a["language"] or "",
            escape(a["title"][:90]),
            a["duplicate_of"] or "",
        )
    console.print(articles)
    if not detail["matches"]:
        console.print("No library entry scored for this narrative.")
    for m in detail["matches"]:
        flag = "" if m["status"] == "approved" else f" [{m['status'].upper()}]"
        mark = "match" if m["above_threshold"] else "below threshold"
        console.print(
            f"{m['rank']}. {m['entry_id']} ({m['type']}){flag} score {m['score']:.3f}"
            f" {mark}: {escape(m['title'])}"
        )


def print_search(result: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="Narratives", title_justify="left")
    for name in ["score", "id", "narrative"]:
        table.add_column(name)
    for n in result["narratives"]:
        table.add_row(f"{n['score']:.3f}", n["narrative_id"], escape(n["label"][:90]))
    console.print(table)
    articles = Table(title="Articles", title_justify="left")
    for name in ["score", "date", "lang", "title", "narrative"]:
        articles.add_column(name)
    for a in result["articles"]:
        articles.add_row(
            f"{a['score']:.3f}",
            _day(a["published_at"]),
            a["language"] or "",
            escape(a["title"][:90]),
            a["narrative_id"] or "",
        )
    console.print(articles)
