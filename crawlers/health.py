"""Source health: is each outlet being read, and is it still publishing?

`assess(rows, ...)` turns the store's per-outlet fetch and article figures
(`store.reads.source_health`) into one `OutletHealth` each, with a status an analyst can
act on, worst first:

- `failing`: in the outlet's latest run every feed, sitemap and section request failed, or
  at least half of its requests in the window failed;
- `silent`: enabled, and no article published (or first stored, when pages give no
  date) for `silent_after` before the reference time: the outlet stopped publishing, or
  we stopped getting its articles;
- `never fetched`: in the registry or store, but no request was ever made for it;
- `degraded`: at least a tenth of its requests in the window failed, or some succeeded with
  a warning (malformed feed, charset lie);
- `ok` (a stray 404 is listed with the errors, not a status); `disabled` for outlets
  switched off in the registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mediawatch.records import Outlet

STATUS_ORDER = ("failing", "silent", "never fetched", "degraded", "ok", "disabled")
FAILING_ERROR_RATE = 0.5
DEGRADED_ERROR_RATE = 0.1


@dataclass(frozen=True)
class OutletHealth:
    outlet_id: str
    name: str
    enabled: bool
    status: str
    reasons: list[str]
    requests: int  # in the window, robots.txt fetches left out
    failures: int
    warnings: int
    not_modified: int
    error_rate: float | None
    last_success: datetime | None
    last_attempt: datetime | None
    last_error: str | None  # "HTTPError 500: 500 Internal Server Error (url)"
    errors: dict[str, int] = field(default_factory=dict)  # error class -> count in window
    articles_total: int = 0
    articles_published: int = 0  # published within the window
    articles_new: int = 0  # first stored within the window
    articles_per_day: float = 0.0
    last_published: datetime | None = None
    last_stored: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        return data


@dataclass(frozen=True)
class HealthReport:
    as_of: datetime
    since: datetime
    days: float
    outlets: list[OutletHealth]

    @property
    def silent(self) -> list[OutletHealth]:
        return [o for o in self.outlets if o.status == "silent"]

    @property
    def failing(self) -> list[OutletHealth]:
        return [o for o in self.outlets if o.status == "failing"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "since": self.since.isoformat(),
            "days": self.days,
            "outlets": [o.as_dict() for o in self.outlets],
            "failing": [o.outlet_id for o in self.failing],
            "silent": [o.outlet_id for o in self.silent],
        }


def assess(
    rows: Iterable[Mapping[str, Any]],
    *,
    as_of: datetime,
    days: float,
    silent_after: timedelta,
    registry: Iterable[Outlet] | None = None,
) -> HealthReport:
    """Health per outlet, worst first. `registry` (if given) decides which outlets exist,
    their names and whether they are enabled; outlets only in the store are kept too."""
    by_id = {row["outlet_id"]: row for row in rows}
    registered = {outlet.outlet_id: outlet for outlet in registry or ()}
    ids = list(registered) + [oid for oid in by_id if oid not in registered]
    outlets = [
        _outlet_health(oid, by_id.get(oid, {}), registered.get(oid), as_of, days, silent_after)
        for oid in ids
    ]
    outlets.sort(key=lambda o: (STATUS_ORDER.index(o.status), o.outlet_id))
    return HealthReport(as_of, as_of - timedelta(days=days), days, outlets)


def _outlet_health(
    outlet_id: str,
    row: Mapping[str, Any],
    outlet: Outlet | None,
    as_of: datetime,
    days: float,
    silent_after: timedelta,
) -> OutletHealth:
    enabled = outlet.enabled if outlet is not None else row.get("enabled") is not False
    name = outlet.name if outlet is not None else row.get("name") or outlet_id
    requests = int(row.get("requests") or 0)
    failures = int(row.get("failures") or 0)
    warnings = int(row.get("warnings") or 0)
    error_rate = failures / requests if requests else None
    last_published = row.get("last_published")
    last_stored = row.get("last_stored")
    last_seen = last_published or last_stored
    errors = {e["error_class"]: int(e["count"]) for e in row.get("errors") or []}
    status, reasons = _status(
        enabled=enabled,
        ever_fetched=row.get("last_attempt") is not None,
        error_rate=error_rate,
        latest_listings=int(row.get("latest_listings") or 0),
        latest_listings_failed=int(row.get("latest_listings_failed") or 0),
        warnings=warnings,
        failures=failures,
        last_seen=last_seen,
        as_of=as_of,
        silent_after=silent_after,
    )
    last_error = None
    if row.get("last_error_class"):
        last_error = f"{row['last_error_class']}: {row.get('last_error_message') or ''}".strip()
        if row.get("last_error_url"):
            last_error += f" ({row['last_error_url']})"
    return OutletHealth(
        outlet_id=outlet_id,
        name=name,
        enabled=enabled,
        status=status,
        reasons=reasons,
        requests=requests,
        failures=failures,
        warnings=warnings,
        not_modified=int(row.get("not_modified") or 0),
        error_rate=round(error_rate, 4) if error_rate is not None else None,
        last_success=row.get("last_success"),
        last_attempt=row.get("last_attempt"),
        last_error=last_error,
        errors=errors,
        articles_total=int(row.get("articles_total") or 0),
        articles_published=int(row.get("articles_published") or 0),
        articles_new=int(row.get("articles_new") or 0),
        articles_per_day=round(int(row.get("articles_published") or 0) / days, 2),
        last_published=last_published,
        last_stored=last_stored,
    )


def _status(
    *,
    enabled: bool,
    ever_fetched: bool,
    error_rate: float | None,
    latest_listings: int,
    latest_listings_failed: int,
    warnings: int,
    failures: int,
    last_seen: datetime | None,
    as_of: datetime,
    silent_after: timedelta,
) -> tuple[str, list[str]]:
    if not enabled:
        return "disabled", ["switched off in the registry"]
    if not ever_fetched:
        return "never fetched", ["no request was ever made for it"]
    reasons = []
    if latest_listings and latest_listings_failed == latest_listings:
        reasons.append(f"every feed/sitemap/section failed in its latest run ({latest_listings})")
    if error_rate is not None and error_rate >= FAILING_ERROR_RATE:
        reasons.append(f"{error_rate:.0%} of requests failed in the window")
    if reasons:
        return "failing", reasons
    if last_seen is None:
        return "silent", ["no article stored yet"]
    if as_of - last_seen > silent_after:
        hours = (as_of - last_seen).total_seconds() / 3600
        return "silent", [f"no new article for {_duration(hours)}"]
    degraded = error_rate is not None and error_rate >= DEGRADED_ERROR_RATE
    if degraded or warnings:
        parts = []
        if degraded:
            parts.append(f"{failures} failed request(s)")
        if warnings:
            parts.append(f"{warnings} warning(s)")
        return "degraded", [", ".join(parts) + " in the window"]
    return "ok", []


def _duration(hours: float) -> str:
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} days"
