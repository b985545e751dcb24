"""ISO weeks in the office's time zone: parsing, the last complete week, bounds in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class WeekError(ValueError):
    """A week string that is malformed or names a week that does not exist."""


@dataclass(frozen=True)
class Week:
    year: int
    number: int
    timezone: str

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def start(self) -> datetime:
        """Monday 00:00 local time, as an aware datetime in UTC."""
        local = datetime.combine(self.monday, time(0), tzinfo=ZoneInfo(self.timezone))
        return local.astimezone(UTC)

    @property
    def end(self) -> datetime:
        return self.shifted(1).start

    def shifted(self, weeks: int) -> Week:
        year, number, _ = (self.monday + timedelta(weeks=weeks)).isocalendar()
        return Week(year, number, self.timezone)

    def __str__(self) -> str:
        return self.label


def parse_week(text: str, timezone: str) -> Week:
    match = _WEEK.match(text.strip())
    if not match:
        raise WeekError(f"week {text!r} is not an ISO week like 2026-W47")
    year, number = int(match.group(1)), int(match.group(2))
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError as exc:
        raise WeekError(f"week {text!r} does not exist ({year} has no week {number})") from exc
    return Week(year, number, timezone)


def last_complete_week(timezone: str, now: datetime | None = None) -> Week:
    """The latest ISO week that has fully ended in the given time zone."""
    now = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone))
    year, number, _ = (now.date() - timedelta(weeks=1)).isocalendar()
    return Week(year, number, timezone)


def week_of(day: date, timezone: str) -> Week:
    year, number, _ = day.isocalendar()
    return Week(year, number, timezone)


def weeks_between(since: date, until: date, timezone: str) -> list[Week]:
    """Every ISO week that overlaps [since, until], oldest first."""
    weeks, week = [], week_of(since, timezone)
    while week.monday <= until:
        weeks.append(week)
        week = week.shifted(1)
    return weeks
