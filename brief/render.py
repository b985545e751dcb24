"""Rendering the weekly brief: HTML (one self-contained file), Markdown, and PDF (WeasyPrint).

The brief reads the store and writes files; its only write to the store is the `briefs` row
that records which runs a brief was built from (made by the writing run, or left for it).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from brief import charts
from brief.model import BriefData, collect
from mediawatch.weeks import Week, WeekError, last_complete_week, parse_week
from store import deferred, snapshots, writes
from store.db import StoreError, connection

FORMATS = ("html", "md", "pdf")
TEMPLATES = Path(__file__).parent / "templates"


class BriefError(RuntimeError):
    """The brief cannot be written as asked (output folder, PDF engine missing, ...)."""


@dataclass
class BriefWritten:
    week: str
    paths: list[Path] = field(default_factory=list)
    gaps: int = 0
    deferred: bool = False  # recorded by the next run: a run was writing (store/deferred.py)


def resolve_week(week: str | None, timezone: str, now: datetime | None = None) -> Week:
    """The week asked for, or the last complete one; a week that has not started is refused."""
    now = now or datetime.now(UTC)
    if week is None:
        return last_complete_week(timezone, now)
    parsed = parse_week(week, timezone)
    if parsed.start > now:
        raise WeekError(
            f"week {parsed.label} has not started yet (the last complete week is "
            f"{last_complete_week(timezone, now).label})"
        )
    return parsed


def render_brief(
    settings: Any,
    week: str | None = None,
    formats: tuple[str, ...] = ("html", "md"),
    run_id: str | None = None,
    on_written: Callable[[Path], None] | None = None,
) -> BriefWritten:
    """Write the brief of a week into settings.briefs_dir and record each file in `briefs`.

    With `run_id` (a flow run, the writer), the brief reads and records in the database.
    Without it (`mediawatch brief`, a reader), it reads the readers' snapshot, so it never
    waits for a run nor sees half of one, and records its rows at once if nobody writes,
    else leaves them for the next run (store/deferred.py).
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise BriefError(
            f"unknown brief format {unknown[0]!r} (choose from {', '.join(FORMATS)})"
        )
    target = resolve_week(week, settings.timezone)
    db = Path(settings.db)
    if not db.exists():
        raise StoreError(f"database {db} does not exist (run `mediawatch run` first)")
    out = Path(settings.briefs_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BriefError(f"cannot write briefs into {out}: {exc.strerror or exc}") from exc
    source = db if run_id else snapshots.current(db)
    with connection(source, read_only=run_id is None) as con:
        data = collect(con, target, settings)
        written = BriefWritten(week=target.label, gaps=len(data.gaps))
        html = render_text(data, "html") if {"html", "pdf"} & set(formats) else ""
        records = []
        for fmt in formats:
            if fmt == "pdf":
                content = html_to_pdf(html)
            else:
                content = (html if fmt == "html" else render_text(data, fmt)).encode("utf-8")
            path = out / f"brief-{target.label}.{fmt}"
            _write_atomically(path, content)
            record = {
                "week": target.label,
                "fmt": fmt,
                "path": str(path),
                "content_sha256": hashlib.sha256(content).hexdigest(),
                "runs_read": data.runs_read,
                "run_id": run_id or "manual",
            }
            if run_id:
                writes.record_brief(con, **record)
            records.append(record)
            written.paths.append(path)
            if on_written:
                on_written(path)
    if not run_id:
        written.deferred = not all([deferred.record_brief_when_possible(db, r) for r in records])
    return written


def _write_atomically(path: Path, content: bytes) -> None:
    """A reader (or a crash) never finds half a brief: write beside it, then rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(content)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BriefError(f"cannot write {path}: {exc.strerror or exc}") from exc


def render_text(data: BriefData, fmt: str) -> str:
    """The brief as HTML or Markdown text (same data, same bytes)."""
    template = _environment(fmt).get_template(f"brief.{fmt}.j2")
    text = template.render(b=data, css=_css() if fmt == "html" else "")
    return re.sub(r"\n{3,}", "\n\n", text) if fmt == "md" else text


def offline_fetcher() -> Any:
    """WeasyPrint's URL fetcher for the brief: every request is refused (and noted).

    The brief loads nothing (styles and charts are inline); this makes sure of it.
    """
    from weasyprint.urls import URLFetcher, URLFetchingError

    class OfflineFetcher(URLFetcher):
        def __init__(self) -> None:
            super().__init__(allowed_protocols=())
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            self.refused.append(url)
            raise URLFetchingError(f"the brief loads nothing: {url}")

    return OfflineFetcher()


def html_to_pdf(html: str, fetcher: Any = None) -> bytes:
    """PDF of the brief's HTML with WeasyPrint, offline (Debian's fonts, no fetches)."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango missing from the system
        raise BriefError(
            "PDF needs WeasyPrint and the Pango library (Debian: libpango-1.0-0, "
            f"libpangoft2-1.0-0): {str(exc).splitlines()[0]}"
        ) from exc
    fetcher = fetcher or offline_fetcher()
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher)
    # a fixed identifier and no dates: the same HTML gives the same PDF
    return document.write_pdf(pdf_identifier=b"mediawatch-brief", uncompressed_pdf=False)


def _environment(fmt: str) -> Environment:
    env = Environment(
        loader=PackageLoader("brief", "templates"),
        autoescape=fmt == "html",
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["pct"] = lambda x: "n/a" if x is None else f"{100 * x:.0f}%"
    env.filters["count"] = count_noun
    env.filters["na"] = lambda x: "n/a" if x is None else x
    env.filters["signed"] = lambda x: f"{x:+d}"
    env.filters["safe_url"] = safe_url
    env.filters["md_url"] = md_url
    env.filters["short_week"] = charts.short_week
    env.filters["day"] = lambda d, tz: d.astimezone(_zone(tz)).strftime("%Y-%m-%d %H:%M")
    env.globals["charts"] = charts
    return env


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def count_noun(n: int, noun: str, plural: str | None = None) -> str:
    """'1 language', '3 languages'; irregular plurals given."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md_escape(value: Any) -> str:
    """Untrusted text inside Markdown: no links, images, HTML or emphasis can be injected."""
    text = " ".join(str(value).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def safe_url(value: Any) -> str:
    """Only http(s) links leave the brief; anything else (javascript:, data:) becomes '#'."""
    url = str(value or "").strip()
    return url if re.fullmatch(r"https?://[^\s\x00-\x1f\x7f]+", url, re.IGNORECASE) else "#"


_MD_URL_SPECIAL = {c: f"%{ord(c):02X}" for c in "()[]<>\\`"}


def md_url(value: Any) -> str:
    """A safe URL as a Markdown link target: brackets percent-encoded, so it cannot end early."""
    return "".join(_MD_URL_SPECIAL.get(c, c) for c in safe_url(value))


def _css() -> Markup:
    return Markup((TEMPLATES / "brief.css").read_text(encoding="utf-8"))
