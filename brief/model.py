"""What the weekly brief says, computed from the store (read-only) into plain records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb

from mediawatch.weeks import Week
from store import reads

TOP_NARRATIVES = 10
CHART_WEEKS = 8


@dataclass
class NarrativeView:
    narrative_id: str
    label: str
    keywords: list[str]
    articles: int
    previous_articles: int
    total_articles: int
    outlets: int
    languages: list[str]
    countries: list[str]
    foreign_share: float
    first_seen: date | None
    origin_outlet: str
    origin_title: str
    origin_url: str
    headlines: list[dict[str, Any]]
    weekly: list[int]
    responses: list[dict[str, Any]] = field(default_factory=list)
    drafts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def change(self) -> int:
        return self.articles - self.previous_articles

    @property
    def is_new(self) -> bool:
        return self.previous_articles == 0 and self.total_articles == self.articles

    @property
    def status(self) -> str:
        if self.is_new:
            return "new"
        if self.articles >= 3 and self.articles >= 1.5 * max(self.previous_articles, 1):
            return "rising"
        if self.articles * 2 <= self.previous_articles:
            return "fading"
        return "steady"


@dataclass
class BriefData:
    week: Week
    overview: dict[str, int]
    narratives: list[NarrativeView]
    chart_weeks: list[str]
    languages: list[tuple[str, int]]
    countries: list[tuple[str, int]]
    scopes: list[tuple[str, int]]
    health: list[dict[str, Any]]
    runs_read: list[str]
    method: dict[str, Any]
    gap_min_articles: int

    @property
    def top(self) -> list[NarrativeView]:
        return self.narratives[:TOP_NARRATIVES]

    @property
    def new_and_rising(self) -> list[NarrativeView]:
        return [n for n in self.narratives if n.status in ("new", "rising")]

    @property
    def answered(self) -> list[NarrativeView]:
        return [
            n
            for n in self.narratives
            if any(r["type"] in ("refute", "clarify") for r in n.responses)
        ]

    @property
    def gaps(self) -> list[NarrativeView]:
        """Narratives of weight this week with no approved, unexpired response over threshold."""
        gaps = [
            n for n in self.narratives if n.articles >= self.gap_min_articles and not n.responses
        ]
        return sorted(gaps, key=lambda n: (-n.articles, -n.change, n.narrative_id))

    @property
    def favourable(self) -> list[NarrativeView]:
        return [n for n in self.narratives if any(r["type"] == "promote" for r in n.responses)]

    @property
    def silent_or_failing(self) -> list[dict[str, Any]]:
        return [h for h in self.health if h["failures"] or not h["articles"]]

    @property
    def biggest_changes(self) -> list[NarrativeView]:
        moved = sorted(self.narratives, key=lambda n: (-abs(n.change), n.narrative_id))
        return [n for n in moved if n.change][:3]

    @property
    def coverage_share(self) -> float | None:
        """Share of this week's weighted narratives that have an approved response."""
        weighted = [n for n in self.narratives if n.articles >= self.gap_min_articles]
        if not weighted:
            return None
        return sum(1 for n in weighted if n.responses) / len(weighted)


def collect(con: duckdb.DuckDBPyConnection, week: Week, settings: Any) -> BriefData:
    start, end = week.start, week.end
    previous = week.shifted(-1)
    # expiry is judged at the end of the week, so the same store and week give the same brief
    today = (week.end - timedelta(seconds=1)).date()
    activity = [
        r for r in reads.narrative_activity(con, start, end, previous.start) if r["articles"] > 0
    ]
    ids = [r["narrative_id"] for r in activity]
    headlines = reads.narrative_headlines(con, ids, start, end)
    first_week = week.shifted(-(CHART_WEEKS - 1))
    chart_weeks = [first_week.shifted(k).label for k in range(CHART_WEEKS)]
    volume = {
        (n, w): c
        for n, w, c in reads.narrative_weekly_volume(con, ids, first_week.start, settings.timezone)
    }
    matches: dict[str, list[dict[str, Any]]] = {}
    for m in reads.matches_with_entries(con):
        if m["above_threshold"]:
            matches.setdefault(m["narrative_id"], []).append(m)
    views = []
    for row in activity:
        found = matches.get(row["narrative_id"], [])
        usable = [m for m in found if _usable(m, today)]
        views.append(
            NarrativeView(
                narrative_id=row["narrative_id"],
                label=row["label"],
                keywords=list(row["keywords"] or []),
                articles=row["articles"],
                previous_articles=row["previous_articles"],
                total_articles=row["total_articles"],
                outlets=row["outlets"],
                languages=[x for x in row["languages"] or [] if x],
                countries=[x for x in row["countries"] or [] if x],
                foreign_share=row["foreign_articles"] / row["articles"],
                first_seen=row["first_seen_at"].date() if row["first_seen_at"] else None,
                origin_outlet=row["origin_outlet"] or "",
                origin_title=row["origin_title"] or "",
                origin_url=row["origin_url"] or "",
                headlines=headlines.get(row["narrative_id"], []),
                weekly=[volume.get((row["narrative_id"], w), 0) for w in chart_weeks],
                responses=usable,
                drafts=[m for m in found if not _usable(m, today) and m["status"] != "retired"],
            )
        )
    latest = reads.latest_run(con)
    return BriefData(
        week=week,
        overview=reads.week_overview(con, start, end) | {"narratives": len(views)},
        narratives=views,
        chart_weeks=chart_weeks,
        languages=reads.share_by(con, "language", start, end),
        countries=reads.share_by(con, "country", start, end),
        scopes=reads.share_by(con, "scope", start, end),
        health=reads.outlet_health(con, start, end),
        runs_read=reads.runs_behind(con, start, end),
        method=_method(latest, settings),
        gap_min_articles=settings.gap_min_articles,
    )


def _usable(match: dict[str, Any], today: date) -> bool:
    if match["status"] != "approved":
        return False
    return match["expires_at"] is None or match["expires_at"] >= today


def _method(latest: dict[str, Any] | None, settings: Any) -> dict[str, Any]:
    counts = json.loads(latest["counts"]) if latest and latest.get("counts") else {}
    return {
        "model": counts.get("model", settings.embedding_model),
        "narrative_threshold": settings.narrative_threshold,
        "match_threshold": settings.match_threshold,
        "gap_min_articles": settings.gap_min_articles,
        "failures": counts.get("failures", {}),
        "unclustered": counts.get("unclustered"),
        "duplicates": counts.get("duplicates"),
    }
