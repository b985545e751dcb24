"""Trends per narrative per day and week, status, and the order outlets picked it up."""

from __future__ import annotations

from datetime import UTC, date, datetime

from nlp.trends import MemberRow, compute_trends
from store import reads, writes
from store.db import connection


def member(i, day, outlet, scope="domestic", lang="vi", country="VN", hour=3):
    when = None if day is None else datetime(2026, 11, day, hour, tzinfo=UTC)
    return MemberRow("n1", f"a{i:02d}", outlet, when, lang, country, scope)


ROWS = [
    member(0, 2, "vnx"),  # origin
    member(1, 2, "vnx"),
    member(2, 3, "wire", "foreign", "en", "US"),
    member(3, 9, "tuoi"),
    *[member(10 + k, 10, f"o{k}", "foreign", "en", "GB") for k in range(6)],
    member(20, 17, "vnx"),
    member(30, None, "undated"),
    # 23:30 UTC on the 10th is the 11th in Hanoi: days are the office's
    member(40, 10, "late", hour=23),
]


def test_days_weeks_status_and_reach():
    trends = compute_trends(ROWS, "Asia/Ho_Chi_Minh")
    weeks = {r.period_start: r for r in trends.rows if r.period == "week"}
    assert [(d, r.articles, r.status) for d, r in sorted(weeks.items())] == [
        (date(2026, 11, 2), 3, "new"),
        (date(2026, 11, 9), 8, "rising"),
        (date(2026, 11, 16), 1, "fading"),
    ]
    second = weeks[date(2026, 11, 9)]
    assert second.outlets == 8 and second.countries == ["GB", "VN"]
    assert (second.domestic, second.foreign) == (2, 6) and second.languages == ["en", "vi"]
    days = {r.period_start: r for r in trends.rows if r.period == "day"}
    assert days[date(2026, 11, 11)].articles == 1  # the late article, in office time
    assert days[date(2026, 11, 5)].articles == 0  # a pause is a row too
    assert trends.undated == 1


def test_pickup_order_starts_at_the_origin_and_lists_each_outlet_once():
    pickups = compute_trends(ROWS).pickups
    assert [p.outlet_id for p in pickups[:3]] == ["vnx", "wire", "tuoi"]
    assert pickups[0].article_id == "a00" and pickups[0].rank == 1
    assert len({p.outlet_id for p in pickups}) == len(pickups)
    assert pickups[-1].outlet_id == "undated"  # no date: last, never dropped


def test_stored_and_rebuilt_idempotently(tmp_path):
    trends = compute_trends(ROWS, "Asia/Ho_Chi_Minh")
    with connection(tmp_path / "m.duckdb") as con:
        for _ in range(2):
            writes.replace_narrative_trends(con, trends.rows, trends.pickups, "run-1")
        weeks = reads.narrative_trend_rows(con, "n1", "week")
        assert [(w[0], w[1], w[-1]) for w in weeks][0] == (date(2026, 11, 2), 3, "new")
        count = con.execute("SELECT count(*) FROM narrative_pickup").fetchone()[0]
        assert count == len(trends.pickups)
