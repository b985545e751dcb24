"""Narrative lists and pages for the console, read from the store (SQL in store/reads.py)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from service.filters import TREND_STATUSES, Filters
from service.responses import entry_view, flag_of
from store import reads

TREND_DAYS = 7
SPARK_WEEKS = 8
TIMELINE_MAX_DAYS = 120


def trend_status(
    recent: int, previous: int, first_at: datetime | None, recent_start: datetime
) -> str:
    """new: first seen in the last 7 days; rising: at least 3 and 1.5× the 7 days before;
    fading: at most half the 7 days before; steady otherwise (the brief's rule, by days)."""
    if first_at is not None and first_at >= recent_start:
        return "new"
    if recent >= 3 and recent >= 1.5 * max(previous, 1):
        return "rising"
    if recent * 2 <= previous or (recent == 0 and previous == 0):
        return "fading"
    return "steady"


def reference_end(filters: Filters, timezone: str, now: datetime | None = None) -> datetime:
    """The end of the period trends are judged at: the day after `until`, else now."""
    _, end = filters.bounds(timezone)
    return end or (now or datetime.now(UTC))


def office_today(timezone: str, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()


def response_state(
    matches: list[dict[str, Any]], today: date, articles: int, gap_min_articles: int
) -> dict[str, Any]:
    """Which matched entries may be suggested, which are flagged, and whether it is a gap."""
    over = [m for m in matches if m["above_threshold"]]
    usable = [m for m in over if flag_of(m["status"], m.get("expires_at"), today) is None]
    flagged = [m for m in over if m not in usable]
    return {
        "responses": [
            {"entry_id": m["entry_id"], "type": m["type"], "title": m["title"]} for m in usable
        ],
        "drafts": [
            {
                "entry_id": m["entry_id"],
                "type": m["type"],
                "title": m["title"],
                "flag": flag_of(m["status"], m.get("expires_at"), today),
            }
            for m in flagged
        ],
        "answered": bool(usable),
        "gap": not usable and articles >= gap_min_articles,
    }


def list_narratives(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    settings: Any,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """(total after filters, one page of narratives), biggest first."""
    end = reference_end(filters, settings.timezone, now)
    recent_start = end - timedelta(days=TREND_DAYS)
    store_filters = filters.for_store(settings.timezone)
    rows = reads.console_narratives(
        con, store_filters, recent_start, end - timedelta(days=2 * TREND_DAYS)
    )
    today = office_today(settings.timezone, now)
    matches: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in reads.console_match_summaries(con, [r["narrative_id"] for r in rows]):
        matches[m["narrative_id"]].append(m)
    for row in rows:
        row["status"] = trend_status(
            row["recent_articles"], row["previous_articles"], row["first_filtered_at"], recent_start
        )
        row |= response_state(
            matches[row["narrative_id"]], today, row["articles"], settings.gap_min_articles
        )
    if filters.status is not None:
        wanted = filters.status.value
        if wanted in TREND_STATUSES:
            rows = [r for r in rows if r["status"] == wanted]
        else:
            rows = [r for r in rows if r[wanted]]
    total = len(rows)
    page = rows[offset : offset + limit]
    weekly = weekly_volume(con, [r["narrative_id"] for r in page], end, store_filters)
    for row in page:
        row["weekly"] = weekly[row["narrative_id"]]
        row["period_end"] = end
    return total, page


def weekly_volume(
    con: duckdb.DuckDBPyConnection, ids: list[str], end: datetime, store_filters: dict[str, Any]
) -> dict[str, list[int]]:
    """Articles per 7-day bucket, oldest first, for the last SPARK_WEEKS weeks before `end`."""
    volume = {n: [0] * SPARK_WEEKS for n in ids}
    if not ids:
        return volume
    no_dates = store_filters | {"since": None, "until": None}
    for narrative_id, bucket, count in reads.console_narrative_volume(
        con, ids, end, TREND_DAYS, SPARK_WEEKS, no_dates
    ):
        if 0 <= bucket < SPARK_WEEKS:
            volume[narrative_id][SPARK_WEEKS - 1 - bucket] = count
    return volume


def narrative_page(
    con: duckdb.DuckDBPyConnection, narrative_id: str, settings: Any, now: datetime | None = None
) -> dict[str, Any] | None:
    """One narrative in full: articles, timeline, reach, origin and spread, responses."""
    detail = reads.narrative_detail(con, narrative_id)
    if detail is None:
        return None
    tz = ZoneInfo(settings.timezone)
    now = now or datetime.now(UTC)
    today = office_today(settings.timezone, now)
    articles = detail["articles"]
    originals = [a for a in articles if not a["duplicate_of"]]
    dated = [a for a in articles if a["published_at"] is not None]

    recent_start = now - timedelta(days=TREND_DAYS)
    previous_start = now - timedelta(days=2 * TREND_DAYS)
    recent = sum(1 for a in dated if a["published_at"] >= recent_start)
    previous = sum(1 for a in dated if previous_start <= a["published_at"] < recent_start)
    first_at = min((a["published_at"] for a in dated), default=None)
    detail["status"] = trend_status(recent, previous, first_at, recent_start)
    detail["recent_articles"], detail["previous_articles"] = recent, previous

    detail["timeline"] = _timeline(dated, tz)
    detail["outlets"] = _outlets(articles)
    detail["countries"] = Counter(a["country"] or "?" for a in articles).most_common()
    detail["languages"] = Counter(a["language"] or "?" for a in articles).most_common()
    detail["scopes"] = Counter(a["scope"] or "?" for a in articles).most_common()
    detail["copies"] = len(articles) - len(originals)
    by_id = {a["article_id"]: a for a in articles}
    detail["origin"] = by_id.get(detail["origin_article_id"])
    detail["spread"] = _spread(detail["outlets"], first_at)
    detail["entities"] = reads.console_entities(con, narrative_id)
    detail["lineage"] = reads.console_lineage(con, narrative_id)
    views = [entry_view(m, m["score"], m["above_threshold"], today) for m in detail["matches"]]
    detail["responses"] = [v for v in views if v["above_threshold"]]
    detail["candidates"] = [v for v in views if not v["above_threshold"]]
    detail |= {
        k: v
        for k, v in response_state(
            detail["matches"], today, len(articles), settings.gap_min_articles
        ).items()
        if k in ("answered", "gap")
    }
    del detail["matches"]
    return detail


def _timeline(dated: list[dict[str, Any]], tz: ZoneInfo) -> list[dict[str, Any]]:
    """Articles per day (office time), every day from the first to the last, copies apart."""
    if not dated:
        return []
    days = Counter()
    copies = Counter()
    for a in dated:
        day = a["published_at"].astimezone(tz).date()
        (copies if a["duplicate_of"] else days)[day] += 1
    first, last = min(days | copies), max(days | copies)
    first = max(first, last - timedelta(days=TIMELINE_MAX_DAYS - 1))
    span = (last - first).days + 1
    return [
        {"day": d, "articles": days[d], "copies": copies[d]}
        for d in (first + timedelta(days=k) for k in range(span))
    ]


def _outlets(articles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    outlets: dict[str, dict[str, Any]] = {}
    for a in articles:
        o = outlets.setdefault(
            a["outlet_id"],
            {
                "outlet_id": a["outlet_id"],
                "name": a["outlet_name"] or a["outlet_id"],
                "country": a["country"],
                "scope": a["scope"],
                "articles": 0,
                "copies": 0,
                "languages": set(),
                "first_at": None,
                "first_article_id": None,
            },
        )
        o["articles"] += 1
        o["copies"] += 1 if a["duplicate_of"] else 0
        if a["language"]:
            o["languages"].add(a["language"])
        at = a["published_at"]
        if at is not None and (o["first_at"] is None or at < o["first_at"]):
            o["first_at"], o["first_article_id"] = at, a["article_id"]
    rows = list(outlets.values())
    for o in rows:
        o["languages"] = sorted(o["languages"])
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(rows, key=lambda o: (o["first_at"] or far, o["outlet_id"]))


def _spread(outlets: list[dict[str, Any]], origin_at: datetime | None) -> dict[str, Any]:
    """How fast it travelled: outlets in order of first appearance, hours after the origin."""
    order = []
    countries: list[str] = []
    for o in outlets:
        hours = None
        if origin_at is not None and o["first_at"] is not None:
            hours = round((o["first_at"] - origin_at).total_seconds() / 3600, 1)
        order.append({**o, "hours_after_origin": hours})
        if o["country"] and o["country"] not in countries:
            countries.append(o["country"])
    last = max((o["hours_after_origin"] or 0 for o in order), default=0)
    foreign = next((o for o in order if o["scope"] == "foreign"), None)
    return {
        "outlets_in_order": order,
        "countries_in_order": countries,
        "days_to_last_outlet": round(last / 24, 1),
        "first_foreign": foreign,
    }
