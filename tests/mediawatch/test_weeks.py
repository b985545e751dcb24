"""ISO weeks in the office's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mediawatch.weeks import WeekError, last_complete_week, parse_week

TZ = "Asia/Ho_Chi_Minh"


def test_week_starts_monday_midnight_local_time():
    week = parse_week("2026-W47", TZ)
    assert week.monday.isoformat() == "2026-11-16"
    assert week.start == datetime(2026, 11, 15, 17, 0, tzinfo=UTC)  # UTC+7
    assert week.end == parse_week("2026-W48", TZ).start


def test_last_complete_week_depends_on_the_local_day():
    # Monday 2026-11-23 02:00 in Hanoi is still Sunday in UTC: W47 has just ended locally
    sunday_utc = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)
    assert last_complete_week(TZ, sunday_utc).label == "2026-W47"
    assert last_complete_week("UTC", sunday_utc).label == "2026-W46"


def test_week_shift_crosses_years():
    assert parse_week("2026-W01", TZ).shifted(-1).label == "2025-W52"


@pytest.mark.parametrize("text", ["2026-47", "W47", "2026-W7", "last week", ""])
def test_malformed_week_is_a_clear_error(text):
    with pytest.raises(WeekError, match="is not an ISO week"):
        parse_week(text, TZ)


def test_week_that_does_not_exist_is_a_clear_error():
    with pytest.raises(WeekError, match="2025 has no week 53"):
        parse_week("2025-W53", TZ)
