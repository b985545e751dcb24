"""CSV and JSON exports that other tools (and spreadsheets) can read safely."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

NARRATIVE_COLUMNS = [
    "narrative_id",
    "label",
    "status",
    "articles",
    "total_articles",
    "outlets",
    "languages",
    "countries",
    "first_seen_at",
    "last_seen_at",
    "recent_articles",
    "previous_articles",
    "weekly",
    "answered",
    "gap",
    "responses",
    "drafts",
    "keywords",
]
ARTICLE_COLUMNS = [
    "article_id",
    "published_at",
    "outlet_id",
    "outlet_name",
    "country",
    "scope",
    "language",
    "title",
    "url",
    "narrative_id",
    "duplicate_of",
]
SEARCH_COLUMNS = [
    "kind",
    "score",
    "semantic",
    "keyword",
    "id",
    "title",
    "narrative_id",
    "status",
    "articles",
    "language",
    "published_at",
    "url",
]


def cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        value = "|".join(
            str(v.get("entry_id", v)) if isinstance(v, dict) else str(v) for v in value
        )
    elif isinstance(value, datetime | date):
        return value.isoformat()
    elif isinstance(value, bool | int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue()


def search_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A search result as one table: narratives then articles, with a `kind` column."""
    rows = [
        {"kind": "narrative", "id": n["narrative_id"], "title": n["label"], **n}
        for n in result["narratives"]
    ]
    rows += [{"kind": "article", "id": a["article_id"], **a} for a in result["articles"]]
    return rows


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
