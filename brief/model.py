"""What the weekly brief says, computed from the store (read-only) into plain records.

Everything here depends only on the store and the week: no clock is read, so the same store
and week give the same brief (expiry and approval are judged at the end of the week).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb

from mediawatch.weeks import Week
from store import reads

TOP_NARRATIVES = 10
CHART_WEEKS = 8
# lists a reader scans (new and rising, answered, gaps) stop here; the rest is counted
LIST_LIMIT = 12
ANSWER_TYPES = ("refute", "clarify")
SCOPES = ("domestic", "foreign")


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
    # its first article was published in the brief's week (None: first sighting unknown)
    born_this_week: bool | None = None

    @property
    def change(self) -> int:
        return self.articles - self.previous_articles

    @property
    def topic(self) -> str:
        """Until narratives carry topics, their first keywords stand for one."""
        return ", ".join(self.keywords[:4])

    @property
    def domestic_share(self) -> float:
        return 1.0 - self.foreign_share if self.articles else 0.0

    @property
    def is_new(self) -> bool:
        if self.born_this_week is not None:
            return self.born_this_week
        return self.previous_articles == 0 and self.total_articles == self.articles

    @property
    def status(self) -> str:
        if self.articles == 0:
            return "gone"
        if self.is_new:
            return "new"
        if self.previous_articles == 0 and self.articles >= 3:
            return "returning"
        if self.articles >= 3 and self.articles >= 1.5 * max(self.previous_articles, 1):
            return "rising"
        if self.articles * 2 <= self.previous_articles:
            return "fading"
        return "steady"

    @property
    def answers(self) -> list[dict[str, Any]]:
        return [r for r in self.responses if r["type"] in ANSWER_TYPES]

    @property
    def promotions(self) -> list[dict[str, Any]]:
        return [r for r in self.responses if r["type"] == "promote"]


@dataclass
class BriefData:
    week: Week
    overview: dict[str, int]
    previous_overview: dict[str, int]
    narratives: list[NarrativeView]
    gone: list[NarrativeView]
    chart_weeks: list[str]
    languages: list[tuple[str, int]]
    countries: list[tuple[str, int]]
    scopes: list[tuple[str, int]]
    scope_weekly: dict[str, list[int]]
    coverage_weekly: list[tuple[float | None, int, int]]
    health: list[dict[str, Any]]
    runs_read: list[str]
    runs: list[dict[str, Any]]
    method: dict[str, Any]
    gap_min_articles: int
    list_limit: int = LIST_LIMIT

    @property
    def top(self) -> list[NarrativeView]:
        return self.narratives[:TOP_NARRATIVES]

    @property
    def new_and_rising(self) -> list[NarrativeView]:
        found = [n for n in self.narratives if n.status in ("new", "returning", "rising")]
        return sorted(found, key=lambda n: (-n.change, -n.articles, n.narrative_id))

    @property
    def answered(self) -> list[NarrativeView]:
        """Narratives with an approved refute or clarify entry, by weight then growth."""
        found = [n for n in self.narratives if n.answers]
        return sorted(found, key=lambda n: (-n.articles, -n.change, n.narrative_id))

    @property
    def gaps(self) -> list[NarrativeView]:
        """Narratives of weight this week with no approved, unexpired response over threshold."""
        gaps = [
            n for n in self.narratives if n.articles >= self.gap_min_articles and not n.responses
        ]
        return sorted(gaps, key=lambda n: (-n.articles, -n.change, n.narrative_id))

    @property
    def favourable(self) -> list[NarrativeView]:
        return [n for n in self.narratives if n.promotions]

    @property
    def silent(self) -> list[dict[str, Any]]:
        return [h for h in self.health if h["enabled"] and not h["articles"]]

    @property
    def failing(self) -> list[dict[str, Any]]:
        return [h for h in self.health if h["failures"]]

    @property
    def silent_or_failing(self) -> list[dict[str, Any]]:
        return [h for h in self.health if h["failures"] or (h["enabled"] and not h["articles"])]

    @property
    def biggest_changes(self) -> list[NarrativeView]:
        moved = [n for n in self.narratives + self.gone if n.change]
        return sorted(moved, key=lambda n: (-abs(n.change), -n.articles, n.narrative_id))[:3]

    @property
    def coverage_share(self) -> float | None:
        """Share of this week's weighted narratives that have an approved response."""
        return self.coverage_weekly[-1][0] if self.coverage_weekly else None

    @property
    def multiples(self) -> list[tuple[str, list[int]]]:
        return [(n.label, n.weekly) for n in self.top]

    @property
    def scope_stacks(self) -> list[tuple[str, list[int]]]:
        return [(name, values) for name, values in self.scope_weekly.items() if any(values)]

    @property
    def last_day(self) -> date:
        return self.week.monday + timedelta(days=6)

    @property
    def empty(self) -> bool:
        return not self.overview["articles"] and not self.narratives


def collect(con: duckdb.DuckDBPyConnection, week: Week, settings: Any) -> BriefData:
    start, end = week.start, week.end
    previous = week.shifted(-1)
    last_day = (week.end - timedelta(seconds=1)).date()
    activity = [
        r
        for r in reads.narrative_activity(con, start, end, previous.start)
        if r["articles"] > 0 or r["previous_articles"] > 0
    ]
    active_ids = [r["narrative_id"] for r in activity if r["articles"] > 0]
    # only the top narratives show headlines (activity comes biggest first)
    headlines = reads.narrative_headlines(con, active_ids[:TOP_NARRATIVES], start, end)
    first_week = week.shifted(-(CHART_WEEKS - 1))
    chart_weeks = [first_week.shifted(k).label for k in range(CHART_WEEKS)]
    volume: dict[tuple[str, str], int] = {
        (n, w): c
        for n, w, c in reads.brief_weekly_volume(con, first_week.start, end, settings.timezone)
    }
    matches: dict[str, list[dict[str, Any]]] = {}
    for m in reads.matches_with_entries(con):
        if m["above_threshold"]:
            matches.setdefault(m["narrative_id"], []).append(m)
    views, gone = [], []
    for row in activity:
        found = matches.get(row["narrative_id"], [])
        view = NarrativeView(
            narrative_id=row["narrative_id"],
            label=row["label"],
            keywords=list(row["keywords"] or []),
            articles=row["articles"],
            previous_articles=row["previous_articles"],
            total_articles=row["total_articles"],
            outlets=row["outlets"],
            languages=[x for x in row["languages"] or [] if x],
            countries=[x for x in row["countries"] or [] if x],
            foreign_share=row["foreign_articles"] / row["articles"] if row["articles"] else 0.0,
            first_seen=row["first_seen_at"].date() if row["first_seen_at"] else None,
            origin_outlet=row["origin_outlet"] or "",
            origin_title=row["origin_title"] or "",
            origin_url=row["origin_url"] or "",
            headlines=headlines.get(row["narrative_id"], []),
            weekly=[volume.get((row["narrative_id"], w), 0) for w in chart_weeks],
            responses=[m for m in found if _usable(m, last_day)],
            drafts=[
                m | {"why": _why_not(m, last_day)}
                for m in found
                if not _usable(m, last_day) and m["status"] != "retired"
            ],
            born_this_week=start <= row["first_seen_at"] < end if row["first_seen_at"] else None,
        )
        (views if view.articles else gone).append(view)
    library = reads.brief_library(con)
    runs_read = reads.runs_behind(con, start, end)
    return BriefData(
        week=week,
        overview=reads.week_overview(con, start, end) | {"narratives": len(views)},
        previous_overview=reads.week_overview(con, previous.start, start),
        narratives=views,
        gone=gone,
        chart_weeks=chart_weeks,
        languages=reads.share_by(con, "language", start, end),
        countries=reads.share_by(con, "country", start, end),
        scopes=reads.share_by(con, "scope", start, end),
        scope_weekly=_scope_weekly(con, first_week, week, chart_weeks),
        coverage_weekly=_coverage_weekly(
            volume, matches, library, week, chart_weeks, settings.gap_min_articles
        ),
        health=reads.brief_outlet_health(con, start, end, previous.start),
        runs_read=runs_read,
        runs=reads.brief_runs(con, runs_read),
        method=_method(con, week, settings, library, last_day),
        gap_min_articles=settings.gap_min_articles,
    )


def _usable(match: dict[str, Any], day: date) -> bool:
    """Approved and not expired on that day: the only entries a brief may suggest."""
    if match["status"] != "approved":
        return False
    return match["expires_at"] is None or match["expires_at"] >= day


def _why_not(match: dict[str, Any], day: date) -> str:
    if match["status"] == "approved" and match["expires_at"] is not None:
        return f"expired {match['expires_at'].isoformat()}"
    return match["status"].replace("_", " ")


def _scope_weekly(
    con: duckdb.DuckDBPyConnection, first: Week, week: Week, weeks: list[str]
) -> dict[str, list[int]]:
    counts = {
        (w, s): n for w, s, n in reads.brief_weekly_scope(con, first.start, week.end, week.timezone)
    }
    scopes = list(SCOPES) + sorted({s for _, s in counts if s not in SCOPES})
    return {s: [counts.get((w, s), 0) for w in weeks] for s in scopes}


def _coverage_weekly(
    volume: dict[tuple[str, str], int],
    matches: dict[str, list[dict[str, Any]]],
    library: list[dict[str, Any]],
    week: Week,
    weeks: list[str],
    gap_min_articles: int,
) -> list[tuple[float | None, int, int]]:
    """Per week: (share, answered, weighted) of narratives with gap_min_articles or more
    articles that week which matched an approved entry usable that week.

    Earlier weeks count an entry from its review date on, so approving an entry today does
    not rewrite the past; the brief's own week counts what is approved at its end, as the
    rest of the brief does. Matches are today's (the store keeps no older ones).
    """
    reviewed = {e["entry_id"]: e["reviewed_at"] for e in library}
    result = []
    for k, label in enumerate(weeks):
        day = (week.shifted(k - len(weeks) + 1).end - timedelta(seconds=1)).date()
        own_week = k == len(weeks) - 1
        weighted = answered = 0
        for narrative_id in {n for n, w in volume if w == label}:
            if volume[(narrative_id, label)] < gap_min_articles:
                continue
            weighted += 1
            if any(
                _usable(m, day)
                and (own_week or reviewed.get(m["entry_id"]) is None
                     or reviewed[m["entry_id"]] <= day)
                for m in matches.get(narrative_id, [])
            ):
                answered += 1
        result.append((answered / weighted if weighted else None, answered, weighted))
    return result


def _method(
    con: duckdb.DuckDBPyConnection,
    week: Week,
    settings: Any,
    library: list[dict[str, Any]],
    day: date,
) -> dict[str, Any]:
    """How the figures were made and what they leave out, all read from the store."""
    entries = {"usable": 0, "expired": 0, "not approved": 0, "retired": 0}
    for e in library:
        if e["status"] == "retired":
            entries["retired"] += 1
        elif e["status"] != "approved":
            entries["not approved"] += 1
        elif e["expires_at"] is not None and e["expires_at"] < day:
            entries["expired"] += 1
        else:
            entries["usable"] += 1
    return {
        "models": reads.brief_model_ids(con) or [settings.embedding_model],
        "narrative_threshold": settings.narrative_threshold,
        "match_threshold": settings.match_threshold,
        "gap_min_articles": settings.gap_min_articles,
        "dropped": reads.brief_dropped(con, week.start, week.end),
        "failures": reads.brief_fetch_failures(con),
        "library": len(library),
        "entries": entries,
    }
