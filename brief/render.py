"""Rendering the weekly brief to HTML (one self-contained file) and Markdown."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from brief.model import BriefData, collect
from mediawatch.weeks import Week, WeekError, last_complete_week, parse_week
from store import writes
from store.db import connection

FORMATS = ("html", "md")


@dataclass
class BriefWritten:
    week: str
    paths: list[Path] = field(default_factory=list)
    gaps: int = 0


def resolve_week(week: str | None, timezone: str, now: datetime | None = None) -> Week:
    now = now or datetime.now(UTC)
    if week is None:
        return last_complete_week(timezone, now)
    parsed = parse_week(week, timezone)
    if parsed.start > now:
        raise WeekError(f"week {parsed.label} has not started yet")
    return parsed


def render_brief(
    settings: Any,
    week: str | None = None,
    formats: tuple[str, ...] = FORMATS,
    run_id: str | None = None,
) -> BriefWritten:
    """Write the brief of a week into settings.briefs_dir and record it in `briefs`."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown brief format {unknown[0]!r} (choose from {', '.join(FORMATS)})")
    target = resolve_week(week, settings.timezone)
    with connection(settings.db) as con:
        data = collect(con, target, settings)
        out = Path(settings.briefs_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = BriefWritten(week=target.label, gaps=len(data.gaps))
        for fmt in formats:
            text = render_text(data, fmt)
            path = out / f"brief-{target.label}.{fmt}"
            path.write_text(text, encoding="utf-8")
            writes.record_brief(
                con,
                target.label,
                fmt,
                str(path),
                hashlib.sha256(text.encode()).hexdigest(),
                data.runs_read,
                run_id or "manual",
            )
            written.paths.append(path)
    return written


def render_text(data: BriefData, fmt: str) -> str:
    env = _environment(fmt)
    template = env.get_template(f"brief.{fmt}.j2")
    return template.render(b=data, css=_css() if fmt == "html" else "")


def _environment(fmt: str) -> Environment:
    env = Environment(
        loader=PackageLoader("brief", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False)
        if fmt == "html"
        else False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["spark"] = sparkline_svg
    env.filters["pct"] = lambda x: "n/a" if x is None else f"{100 * x:.0f}%"
    env.filters["count"] = count_noun
    env.filters["na"] = lambda x: "n/a" if x is None else x
    env.filters["signed"] = lambda x: f"{x:+d}"
    env.filters["bars"] = bars_svg
    env.filters["safe_url"] = safe_url
    return env


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
    return url if re.match(r"^https?://", url, re.IGNORECASE) else "#"


def sparkline_svg(values: list[int], width: int = 120, height: int = 28) -> Markup:
    """A small inline SVG of weekly volumes (no scripts, no remote resources)."""
    top = max(values) or 1
    step = width / max(len(values), 1)
    bars = []
    for k, v in enumerate(values):
        h = max(1.0, (height - 4) * v / top) if v else 0
        bars.append(
            f'<rect x="{k * step + 1:.1f}" y="{height - h:.1f}" width="{step - 2:.1f}" '
            f'height="{h:.1f}"><title>{v}</title></rect>'
        )
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="weekly volume: {escape(", ".join(map(str, values)))}">'
        + "".join(bars)
        + "</svg>"
    )


def bars_svg(pairs: list[tuple[str, int]], width: int = 360) -> Markup:
    """A horizontal bar chart of (label, count) pairs as inline SVG."""
    total = sum(n for _, n in pairs) or 1
    row = 20
    parts = []
    for k, (label, n) in enumerate(pairs):
        w = (width - 140) * n / total
        parts.append(
            f'<text x="0" y="{k * row + 14}">{escape(label)}</text>'
            f'<rect x="60" y="{k * row + 4}" width="{w:.1f}" height="12"></rect>'
            f'<text x="{64 + w:.1f}" y="{k * row + 14}">{n} ({100 * n / total:.0f}%)</text>'
        )
    return Markup(
        f'<svg class="bars" viewBox="0 0 {width} {row * len(pairs) + 4}" width="{width}" '
        f'height="{row * len(pairs) + 4}" role="img">' + "".join(parts) + "</svg>"
    )


def _css() -> Markup:
    return Markup((Path(__file__).parent / "templates" / "brief.css").read_text(encoding="utf-8"))
