"""Trends and provenance per narrative: volume and reach per day and week, status, pickup.

Pure functions over plain rows (the store hands them over; nothing here reads SQL). Days and
weeks are the office's (settings.timezone); a week starts on Monday (ISO).

Status of a narrative in a period, against the period before:
  new     its first article falls in this period;
  rising  at least RISE x the previous period's articles and at least RISE_MIN more;
  fading  at most FADE x the previous period's articles (or none);
  steady  otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

RISE = 1.5
RISE_MIN = 2
FADE = 0.5


@dataclass(frozen=True)
class MemberRow:
    narrative_id: str
    article_id: str
    outlet_id: str
    published_at: datetime | None
    language: str | None
    country: str | None
    scope: str | None  # domestic | foreign


@dataclass
class TrendRow:
    narrative_id: str
    period: str  # day | week
    period_start: date
    articles: int
    outlets: int
    countries: list[str]
    languages: list[str]
    domestic: int
    foreign: int
    status: str = "steady"


@dataclass
class Pickup:
    narrative_id: str
    rank: int  # 1 = origin outlet
    outlet_id: str
    article_id: str
    first_published_at: datetime | None


@dataclass
class Trends:
    rows: list[TrendRow] = field(default_factory=list)
    pickups: list[Pickup] = field(default_factory=list)
    undated: int = 0  # members without a date: in pickups (last), not in any period


def _start(moment: datetime, period: str, zone: ZoneInfo) -> date:
    day = moment.astimezone(zone).date()
    return day - timedelta(days=day.weekday()) if period == "week" else day


def _status(articles: int, previous: int | None) -> str:
    if previous is None:
        return "new"
    if articles >= max(RISE * previous, previous + RISE_MIN):
        return "rising"
    if articles <= FADE * previous:
        return "fading"
    return "steady"


def compute_trends(members: Iterable[MemberRow], timezone: str = "UTC") -> Trends:
    zone = ZoneInfo(timezone)
    by_narrative: dict[str, list[MemberRow]] = defaultdict(list)
    for m in members:
        by_narrative[m.narrative_id].append(m)
    trends = Trends()
    for narrative_id, rows in sorted(by_narrative.items()):
        dated = [m for m in rows if m.published_at is not None]
        trends.undated += len(rows) - len(dated)
        for period in ("day", "week"):
            buckets: dict[date, list[MemberRow]] = defaultdict(list)
            for m in dated:
                buckets[_start(m.published_at, period, zone)].append(m)
            step = timedelta(days=1 if period == "day" else 7)
            if not buckets:
                continue
            first, last = min(buckets), max(buckets)
            previous: int | None = None
            moment = first
            while moment <= last:  # empty periods between are rows too (a pause is news)
                inside = buckets.get(moment, [])
                trends.rows.append(
                    TrendRow(
                        narrative_id=narrative_id,
                        period=period,
                        period_start=moment,
                        articles=len(inside),
                        outlets=len({m.outlet_id for m in inside}),
                        countries=sorted({m.country for m in inside if m.country}),
                        languages=sorted({m.language for m in inside if m.language}),
                        domestic=sum(m.scope == "domestic" for m in inside),
                        foreign=sum(m.scope == "foreign" for m in inside),
                        status=_status(len(inside), previous),
                    )
                )
                previous = len(inside)
                moment += step
        order = sorted(
            rows,
            key=lambda m: (m.published_at is None, m.published_at or datetime.min, m.article_id),
        )
        seen: set[str] = set()
        for m in order:
            if m.outlet_id in seen:
                continue
            seen.add(m.outlet_id)
            trends.pickups.append(
                Pickup(narrative_id, len(seen), m.outlet_id, m.article_id, m.published_at)
            )
    return trends
