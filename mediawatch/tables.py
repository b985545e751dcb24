"""Human-readable tables for the console commands (narratives, show, search)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

_BLOCKS = "▁▂▃▄▅▆▇█"


def _day(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if value else "–"


def spark(values: list[int] | None) -> str:
    """A sparkline in block characters (oldest first)."""
    if not values:
        return ""
    top = max(values) or 1
    return "".join(
        " " if v == 0 else _BLOCKS[min(len(_BLOCKS) - 1, round(v / top * (len(_BLOCKS) - 1)))]
        for v in values
    )


def response_cell(row: dict[str, Any]) -> str:
    parts = [escape(r["entry_id"]) for r in row.get("responses") or []]
    parts += [
        f"[magenta]{escape(r['entry_id'])} {(r.get('flag') or 'draft').upper()}[/magenta]"
        for r in row.get("drafts") or []
    ]
    if row.get("gap"):
        parts.append("[bold yellow]gap[/bold yellow]")
    return " ".join(parts) or "–"


def _table(title: str | None = None) -> Table:
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)


def _fit(
    console: Console, headers: list[str], rows: list[list[str]], title: str | None = None
) -> Table:
    """A table whose last column (the long text) is the one cut to the terminal's width."""
    from rich.cells import cell_len

    table = _table(title)
    for k, name in enumerate(headers[:-1]):
        width = max([cell_len(name), *(cell_len(Text.from_markup(r[k]).plain) for r in rows)])
        table.add_column(name, no_wrap=True, min_width=width)
    table.expand = True
    table.add_column(headers[-1], no_wrap=True, overflow="ellipsis", ratio=1)
    for r in rows:
        table.add_row(*r)
    return table


def print_narratives(
    rows: list[dict[str, Any]], total: int | None = None, console: Console | None = None
) -> None:
    console = console or Console()
    if not rows:
        console.print("No narratives match these filters.")
        return
    wide = console.width >= 120
    headers = ["id", "status", "art.", "8 weeks"]
    headers += ["outl.", "langs", "first seen"] if wide else []
    headers += ["response", "narrative"]
    cells = []
    for row in rows:
        line = [row["narrative_id"], row["status"], str(row["articles"]), spark(row.get("weekly"))]
        if wide:
            line += [
                str(row["outlets"]),
                ",".join(row["languages"] or []),
                _day(row["first_seen_at"]),
            ]
        cells.append([*line, response_cell(row), escape(row["label"])])
    table = _fit(console, headers, cells)
    console.print(table)
    if total is not None and total > len(rows):
        console.print(f"{len(rows)} of {total} narratives shown (use --limit / --offset).")


def print_narrative(detail: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"[bold]{escape(detail['label'])}[/bold]  ({detail['narrative_id']})")
    state = "answered" if detail["answered"] else ("GAP" if detail["gap"] else "no response")
    console.print(
        f"{detail['status']}, {state}; {detail['article_count']} articles "
        f"({detail['copies']} copies) from {len(detail['outlets'])} outlets; last 7 days "
        f"{detail['recent_articles']}, 7 before {detail['previous_articles']}"
    )
    console.print(
        f"first seen {_day(detail['first_seen_at'])}, last seen {_day(detail['last_seen_at'])}"
    )
    console.print(f"keywords: {escape(', '.join(detail['keywords'] or []))}")
    console.print(
        "countries: "
        + ", ".join(f"{c} {n}" for c, n in detail["countries"])
        + "; languages: "
        + ", ".join(f"{c} {n}" for c, n in detail["languages"])
    )
    origin = detail.get("origin")
    if origin:
        console.print(
            f"origin: {_day(origin['published_at'])} {escape(origin['outlet_name'] or '')}: "
            f"{escape(origin['title'])}"
        )
    spread = detail["spread"]
    console.print(
        f"spread: {len(spread['outlets_in_order'])} outlets in "
        f"{spread['days_to_last_outlet']} days; countries in order: "
        + " → ".join(spread["countries_in_order"])
    )
    if detail["timeline"]:
        per_day = [t["articles"] + t["copies"] for t in detail["timeline"]]
        console.print("per day: " + spark(per_day))
    if not detail["responses"]:
        console.print("\nNo library entry scores over the threshold for this narrative.")
    for e in detail["responses"]:
        flag = f" [magenta]\\[{escape(e['flag_text'])}][/magenta]" if e["draft"] else ""
        console.print(
            f"\n[bold]{escape(e['entry_id'])}[/bold] ({e['type']}){flag} "
            f"score {e['score']:.3f}: {escape(e['title'])}"
        )
        for r in e["responses"]:
            console.print(f"\\[{r['lang'] or 'text'}]\n{escape(r['copy_text'])}", highlight=False)
    if detail["candidates"]:
        console.print(
            "\nunder the threshold: "
            + ", ".join(f"{c['entry_id']} {c['score']:.3f}" for c in detail["candidates"])
        )
    articles = _fit(
        console,
        ["date", "outlet", "lang", "copy", "title"],
        [
            [
                _day(a["published_at"]),
                escape((a["outlet_name"] or a["outlet_id"])[:24]),
                a["language"] or "",
                "copy" if a["duplicate_of"] else "",
                escape(a["title"]),
            ]
            for a in detail["articles"]
        ],
        "Articles",
    )
    console.print(articles)


def print_search(result: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    if result.get("stale"):
        console.print("(answered from the last copy: a pipeline run holds the store)")
    table = _fit(
        console,
        ["score", "id", "status", "art.", "response", "narrative"],
        [
            [
                f"{n['score']:.2f}",
                n["narrative_id"],
                n["status"],
                str(n["articles"]),
                response_cell(n),
                escape(n["label"]),
            ]
            for n in result["narratives"]
        ],
        "Narratives",
    )
    console.print(table if result["narratives"] else "No narrative.")
    articles = _fit(
        console,
        ["score", "date", "lang", "narrative", "title"],
        [
            [
                f"{a['score']:.2f}",
                _day(a["published_at"]),
                a["language"] or "",
                a["narrative_id"] or "",
                escape(a["title"]),
            ]
            for a in result["articles"]
        ],
        "Articles",
    )
    console.print(articles if result["articles"] else "No article.")
