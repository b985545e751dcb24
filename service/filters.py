"""The console's filters, validated once for the command line, the API and the web page."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    StringConstraints,
    field_validator,
    model_validator,
)

LANG_PATTERN = r"^[A-Za-z]{2,3}$"
COUNTRY_PATTERN = r"^[A-Za-z]{2}$"
OUTLET_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
MAX_QUERY_CHARS = 2000
MAX_MATCH_CHARS = 20000
MAX_TOPIC_CHARS = 100


class Scope(StrEnum):
    domestic = "domestic"
    foreign = "foreign"


class Status(StrEnum):
    new = "new"
    rising = "rising"
    steady = "steady"
    fading = "fading"
    answered = "answered"
    gap = "gap"


TREND_STATUSES = ("new", "rising", "steady", "fading")


class Filters(BaseModel):
    """since/until are whole days in the office's time zone, both included."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    since: date | None = None
    until: date | None = None
    lang: Annotated[str, StringConstraints(pattern=LANG_PATTERN, to_lower=True)] | None = None
    country: Annotated[str, StringConstraints(pattern=COUNTRY_PATTERN, to_upper=True)] | None = None
    scope: Scope | None = None
    topic: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TOPIC_CHARS)
        ]
        | None
    ) = None
    outlet: Annotated[str, StringConstraints(pattern=OUTLET_PATTERN)] | None = None
    status: Status | None = None

    @field_validator("since", "until")
    @classmethod
    def _plausible_day(cls, value: date | None) -> date | None:
        if value is not None and not (date(1990, 1, 1) <= value <= date(2200, 1, 1)):
            raise ValueError("date out of range (1990-01-01 to 2200-01-01)")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Filters:
        if self.since and self.until and self.since > self.until:
            raise ValueError("since is after until")
        return self

    def bounds(self, timezone: str) -> tuple[datetime | None, datetime | None]:
        """[start, end) in UTC: since at 00:00 and the day after until at 00:00, office time."""
        tz = ZoneInfo(timezone)

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)

        start = midnight(self.since) if self.since else None
        end = midnight(self.until + timedelta(days=1)) if self.until else None
        return start, end

    def for_store(self, timezone: str) -> dict[str, Any]:
        """The keyword arguments store.reads' console questions take."""
        start, end = self.bounds(timezone)
        return {
            "since": start,
            "until": end,
            "language": self.lang,
            "country": self.country,
            "scope": self.scope.value if self.scope else None,
            "outlet": self.outlet,
            "topic": self.topic,
        }

    def query_string(self, **extra: Any) -> str:
        """These filters as URL parameters (for export links and pagination)."""
        from urllib.parse import urlencode

        items = {k: v for k, v in self.model_dump(mode="json").items() if v is not None}
        items |= {k: v for k, v in extra.items() if v is not None}
        return urlencode(items)

    @property
    def active(self) -> bool:
        return any(v is not None for v in self.model_dump().values())


def first_error(exc: Exception) -> str:
    """One line from a pydantic ValidationError (or any exception)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "__root__")
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        value = first.get("input")
        shown = f" (got {value!r})" if isinstance(value, str | int) and where else ""
        return f"{where}: {message}{shown}" if where else message
    return str(exc).splitlines()[0]
