"""The acquisition room's commands as plain functions: `mediawatch extract` and
`mediawatch sources list|check|health` call these.

Each returns a process exit code (0 fine, 1 a finding such as "no article" or "registry
invalid", 2 bad input) and writes through `echo`, so the command-line framework stays in
`mediawatch/cli.py`. Input problems raise `CommandError` with one line naming the file and
line, which the CLI prints as `mediawatch: error: ...`.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from mediawatch.records import FeedItem, Page

Echo = Callable[[str], None]
# extraction results go to the workers' parent in batches of this many pages
_CHUNK = 16


class CommandError(ValueError):
    """Bad input: the message is one line, naming the file (and line) at fault."""


# --------------------------------------------------------------------------- extract


@dataclass(frozen=True)
class PageInput:
    """One page to extract: where its HTML is, the URL it was fetched from, feed hints."""

    id: Any
    url: str | None
    path: Path | None = None
    html: str | None = None
    content_type: str = ""
    hints: dict[str, Any] | None = None


def extract_result(page_input: PageInput, body: bytes | None = None) -> dict[str, Any]:
    """The output line for one page: what the crawler would store, or why nothing.

    Keys: id, title, text, published_at, language, byline, canonical_url, url, article_id,
    content_hash, method, date_source, error (None, or why the page has no article).
    """
    from crawlers.extract import ExtractionError, extract_for_store

    if body is None:
        body = _page_bytes(page_input)
    url = page_input.url or _declared_url(body, page_input) or _file_url(page_input)
    page = Page(
        outlet_id="",
        url=url,
        final_url=url,
        status=200,
        body=body,
        content_type=page_input.content_type,
        fetched_at=datetime.now(UTC),
        feed_item=_hints(page_input, url),
    )
    result: dict[str, Any] = {"id": page_input.id}
    try:
        article, extracted = extract_for_store(page)
    except ExtractionError as exc:
        return result | {
            "title": "",
            "text": "",
            "published_at": None,
            "language": None,
            "byline": None,
            "canonical_url": None,
            "url": url,
            "article_id": None,
            "content_hash": None,
            "method": None,
            "date_source": None,
            "error": exc.reason,
        }
    return result | {
        "title": article.title,
        "text": article.text,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "language": article.language,
        "byline": article.byline,
        "canonical_url": article.canonical_url,
        "url": url,
        "article_id": article.article_id,
        "content_hash": article.content_hash,
        "method": extracted.method,
        "date_source": extracted.date_source,
        "error": None,
    }


def extract_one(
    target: str,
    *,
    url: str | None,
    as_json: bool,
    echo: Echo,
    user_agent: str,
    timeout_s: float,
    max_bytes: int,
) -> int:
    """`mediawatch extract FILE_OR_URL`: 0 with the article, 1 when the page has none."""
    if urlsplit(target).scheme in ("http", "https"):
        body, content_type, final_url = fetch_for_extract(
            target, user_agent=user_agent, timeout_s=timeout_s, max_bytes=max_bytes
        )
        page_input = PageInput(id=target, url=url or final_url, content_type=content_type)
    else:
        path = Path(target)
        if not path.is_file():
            raise CommandError(f"{target}: no such file (give a saved page or an http(s) URL)")
        page_input = PageInput(id=str(path), url=url, path=path)
        body = _page_bytes(page_input)
    result = extract_result(page_input, body)
    if as_json:
        echo(json.dumps(result, ensure_ascii=False, indent=2))
    elif result["error"] is None:
        echo(_human(result))
    if result["error"] is not None:
        raise NoArticle(f"no article in {target}: {result['error']}")
    return 0


class NoArticle(CommandError):
    """The page was read but holds no article (exit code 1, not 2)."""


def _human(result: dict[str, Any]) -> str:
    lines = [f"title:         {result['title']}"]
    for key in ("published_at", "language", "byline", "canonical_url", "article_id"):
        lines.append(f"{key + ':':<15}{result[key] or '–'}")
    lines.append(f"{'method:':<15}{result['method']} (date from {result['date_source'] or '–'})")
    lines.append("")
    lines.append(result["text"])
    return "\n".join(lines)


def extract_batch(
    input_path: Path, output_path: Path, *, jobs: int = 1, echo: Echo | None = None
) -> int:
    """`mediawatch extract --input PAGES.jsonl --output OUT.jsonl`.

    Every input line is checked before anything is extracted (a bad line is a
    `CommandError` naming its line, and no output is written); then one output line per
    input line, in input order, written to a temporary file renamed into place at the end.
    """
    pages = read_page_inputs(input_path)
    output_path = Path(output_path)
    if not output_path.parent.is_dir():
        raise CommandError(f"output folder {output_path.parent} does not exist")
    fd, temporary = tempfile.mkstemp(dir=output_path.parent, prefix=".extract-", suffix=".tmp")
    found = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for result in _results(pages, jobs):
                found += result["error"] is None
                handle.write(json.dumps(result, ensure_ascii=False) + "\n")
        os.replace(temporary, output_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if echo is not None:
        echo(f"{output_path}: {len(pages)} pages, {found} articles, {len(pages) - found} without")
    return 0


def _results(pages: list[PageInput], jobs: int) -> Iterator[dict[str, Any]]:
    if jobs <= 1 or len(pages) <= _CHUNK:
        yield from map(extract_result, pages)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(extract_result, pages, chunksize=_CHUNK)


def read_page_inputs(input_path: Path) -> list[PageInput]:
    """Parse and check PAGES.jsonl; relative paths are taken from the file's folder first,
    then from the working directory."""
    input_path = Path(input_path)
    name = str(input_path)
    try:
        text = input_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"{name}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{name}: cannot read: {exc}") from None
    pages: list[PageInput] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        page = _page_input(line, f"{name}:{number}", input_path.parent)
        key = json.dumps(page.id)
        if key in first_line:
            raise CommandError(
                f"{name}:{number}: duplicate id {page.id!r} (first on line {first_line[key]})"
            )
        first_line[key] = number
        pages.append(page)
    if not pages:
        raise CommandError(f"{name}: no pages (expected one JSON object per line)")
    return pages


def _page_input(line: str, where: str, folder: Path) -> PageInput:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(row, dict):
        raise CommandError(f'{where}: expected an object like {{"id", "path", "url"}}')
    page_id = row.get("id")
    if not isinstance(page_id, str | int) or isinstance(page_id, bool) or page_id == "":
        raise CommandError(f"{where}: 'id' must be a non-empty string or an integer")
    url = row.get("url")
    if url is not None and (not isinstance(url, str) or not url.strip()):
        raise CommandError(f"{where}: 'url' must be a string (or left out)")
    content_type = row.get("content_type") or ""
    if not isinstance(content_type, str):
        raise CommandError(f"{where}: 'content_type' must be a string")
    hints = row.get("feed")
    if hints is not None and not isinstance(hints, dict):
        raise CommandError(f"{where}: 'feed' must be an object (title, published_at, ...)")
    html = row.get("html")
    raw_path = row.get("path")
    if html is not None:
        if not isinstance(html, str):
            raise CommandError(f"{where}: 'html' must be a string")
        return PageInput(page_id, url, None, html, content_type, hints)
    if not isinstance(raw_path, str) or not raw_path.strip():
        raise CommandError(f"{where}: 'path' is missing (the saved page's file)")
    path = _resolve(raw_path, folder)
    if path is None:
        raise CommandError(f"{where}: no such file {raw_path!r}")
    return PageInput(page_id, url.strip() if url else None, path, None, content_type, hints)


def _resolve(raw: str, folder: Path) -> Path | None:
    path = Path(raw).expanduser()
    candidates = [path] if path.is_absolute() else [folder / path, path]
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def _page_bytes(page_input: PageInput) -> bytes:
    if page_input.html is not None:
        return page_input.html.encode("utf-8")
    assert page_input.path is not None
    data = page_input.path.read_bytes()
    if data[:2] == b"\x1f\x8b":  # a saved page kept gzipped (.html.gz)
        data = gzip.decompress(data)
    return data


def _declared_url(body: bytes, page_input: PageInput) -> str | None:
    """With no URL given, where the page says it lives (rel=canonical, og:url)."""
    from crawlers.extract import _as_text, read_page_meta

    declared = read_page_meta(_as_text(body, page_input.content_type)).canonical
    if declared and urlsplit(declared).scheme in ("http", "https"):
        return declared
    return None


def _file_url(page_input: PageInput) -> str:
    if page_input.path is not None:
        return page_input.path.resolve().as_uri()
    return "about:blank"


def _hints(page_input: PageInput, url: str) -> FeedItem | None:
    """Optional feed metadata for a page (`"feed": {"title", "published_at", ...}`)."""
    if not page_input.hints:
        return None
    from crawlers.feeds import parse_iso_datetime

    hints = page_input.hints

    def text(key: str) -> str:
        value = hints.get(key)
        return value if isinstance(value, str) else ""

    return FeedItem(
        outlet_id="",
        feed_url=text("feed_url"),
        url=url,
        title=text("title"),
        summary=text("summary"),
        published_at=parse_iso_datetime(hints.get("published_at")),
        author=text("author") or None,
        language=text("language") or None,
    )


def fetch_for_extract(
    url: str, *, user_agent: str, timeout_s: float, max_bytes: int
) -> tuple[bytes, str, str]:
    """(body, content type, final URL) of a page, fetched as the crawler would: robots.txt
    obeyed, size and time capped, redirects followed. Problems are `CommandError`s."""
    from crawlers.httpfetch import fetch, make_client

    with make_client(timeout_s=timeout_s, user_agent=user_agent) as client:
        if not robots_allow(client, url, user_agent, timeout_s=timeout_s):
            raise CommandError(f"{url}: robots.txt forbids fetching it")
        result = fetch(client, url, timeout_s=timeout_s, max_bytes=max_bytes)
    if result.error_class is not None:
        raise CommandError(f"{url}: {result.error_class}: {result.error_message}")
    media_type = result.content_type.split(";")[0].strip().lower()
    if media_type and media_type not in ("text/html", "application/xhtml+xml"):
        raise CommandError(f"{url}: not an HTML page (content type {media_type!r})")
    return result.body, result.content_type, result.final_url


def robots_allow(client: Any, url: str, user_agent: str, *, timeout_s: float) -> bool:
    """RFC 9309 as the crawl applies it: no robots.txt (4xx) allows all, a server error
    disallows all, an unreachable one allows (the page request will fail on its own)."""
    from protego import Protego

    from crawlers.httpfetch import fetch

    robots_url = urljoin(url, "/robots.txt")
    result = fetch(client, robots_url, timeout_s=timeout_s, max_bytes=500_000)
    if result.status is not None and result.status >= 500:
        return False
    if result.error_class is not None or result.status is None or result.status >= 400:
        return True
    parser = Protego.parse(result.body.decode("utf-8", errors="replace"))
    return bool(parser.can_fetch(url, user_agent))


# --------------------------------------------------------------------------- sources

DEFAULT_REGISTRY = Path(__file__).resolve().parent / "sources.yaml"


def registry_path(configured: Path | None, *, required: bool = True) -> Path | None:
    """The registry to read: `--sources` or the `sources` setting, else crawlers/sources.yaml."""
    if configured is not None:
        return Path(configured)
    if DEFAULT_REGISTRY.is_file():
        return DEFAULT_REGISTRY
    if required:
        raise CommandError(
            "no source registry: give --sources FILE, set `sources` in mediawatch.toml, or "
            "write crawlers/sources.yaml (start from crawlers/sources.example.yaml)"
        )
    return None


def _load(path: Path):
    from crawlers.sources import SourcesError, load_sources

    try:
        return load_sources(path)
    except SourcesError as exc:
        first = exc.problems[0]
        more = f" (and {len(exc.problems) - 1} more: `mediawatch sources check`)"
        raise CommandError(str(first) + (more if len(exc.problems) > 1 else "")) from None


def sources_list(
    path: Path,
    *,
    as_json: bool,
    echo: Echo,
    country: str | None = None,
    scope: str | None = None,
    lang: str | None = None,
    tag: str | None = None,
    enabled_only: bool = False,
) -> int:
    """`mediawatch sources list`: the outlets of the registry, filtered."""
    outlets = [
        o
        for o in _load(path)
        if (country is None or o.country == country.upper())
        and (scope is None or o.scope == scope)
        and (lang is None or any(x.split("-")[0] == lang.lower() for x in o.languages))
        and (tag is None or tag in o.tags)
        and (not enabled_only or o.enabled)
    ]
    if as_json:
        echo(json.dumps([_outlet_dict(o) for o in outlets], ensure_ascii=False, indent=2))
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{path}: {len(outlets)} outlets", title_justify="left")
    for column in ("id", "name", "country", "languages", "scope", "type", "feeds",
                   "sitemaps", "sections", "req/s", "enabled"):  # fmt: skip
        table.add_column(column)
    for o in outlets:
        table.add_row(
            o.outlet_id,
            escape(o.name),
            o.country,
            ", ".join(o.languages),
            o.scope,
            o.type,
            str(len(o.feeds)),
            str(len(o.sitemaps)),
            str(len(o.sections)),
            f"{o.requests_per_second:g}",
            "yes" if o.enabled else "no",
        )
    Console(width=160).print(table)
    return 0


def _outlet_dict(outlet: Any) -> dict[str, Any]:
    from dataclasses import asdict

    data = asdict(outlet)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def sources_check(path: Path, *, as_json: bool, echo: Echo) -> int:
    """`mediawatch sources check`: every problem with file and line; 1 if any error."""
    from crawlers.sources import SourcesError, check_sources

    try:
        outlets, warnings = check_sources(path)
        errors = []
    except SourcesError as exc:
        outlets, warnings, errors = [], [], exc.problems
    if as_json:
        echo(
            json.dumps(
                {
                    "file": str(path),
                    "ok": not errors,
                    "outlets": len(outlets),
                    "enabled": sum(o.enabled for o in outlets),
                    "errors": [_problem_dict(p) for p in errors],
                    "warnings": [_problem_dict(p) for p in warnings],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for problem in errors:
            echo(f"{problem} [error]")
        for problem in warnings:
            echo(f"{problem} [warning]")
        counts = f"{len(errors)} error{'s' * (len(errors) != 1)}, "
        counts += f"{len(warnings)} warning{'s' * (len(warnings) != 1)}"
        if errors:
            echo(f"{path}: {counts}")
        else:
            enabled = sum(o.enabled for o in outlets)
            echo(f"{path}: {len(outlets)} outlets ({enabled} enabled), {counts}")
    return 1 if errors else 0


def _problem_dict(problem: Any) -> dict[str, Any]:
    return {"file": problem.file, "line": problem.line, "message": problem.message}


def sources_health(
    rows: list[dict[str, Any]],
    *,
    registry: Path | None,
    as_of: datetime,
    days: float,
    silent_after_hours: float,
    as_json: bool,
    strict: bool,
    echo: Echo,
) -> int:
    """`mediawatch sources health`: per outlet, from the fetch log and the articles."""
    from datetime import timedelta

    from crawlers.health import assess

    report = assess(
        rows,
        as_of=as_of,
        days=days,
        silent_after=timedelta(hours=silent_after_hours),
        registry=_load(registry) if registry is not None else None,
    )
    if as_json:
        echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_health(report, echo)
    return 1 if strict and (report.failing or report.silent) else 0


def _print_health(report: Any, echo: Echo) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(width=160)
    table = Table(
        title=f"Source health, {report.days:g} days to {report.as_of:%Y-%m-%d %H:%M} UTC",
        title_justify="left",
    )
    for column, justify in [
        ("outlet", "left"), ("status", "left"), ("last success", "left"),
        ("requests", "right"), ("errors", "right"), ("articles/day", "right"),
        ("last article", "left"), ("why", "left"),
    ]:  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    colours = {"failing": "red", "silent": "yellow", "degraded": "yellow", "ok": "green"}
    for o in report.outlets:
        colour = colours.get(o.status)
        status = f"[{colour}]{o.status}[/{colour}]" if colour else o.status
        rate = f"{o.failures} ({o.error_rate:.0%})" if o.error_rate is not None else "–"
        why = "; ".join(o.reasons)
        if o.errors:
            why += ("; " if why else "") + ", ".join(f"{k} ×{v}" for k, v in o.errors.items())
        table.add_row(
            escape(o.outlet_id),
            status,
            _ago(o.last_success, report.as_of),
            str(o.requests),
            rate,
            f"{o.articles_per_day:.1f}",
            _ago(o.last_published or o.last_stored, report.as_of),
            escape(why),
        )
    console.print(table)
    for label, group in (("Failing", report.failing), ("Gone silent", report.silent)):
        if group:
            console.print(f"{label}: " + ", ".join(o.outlet_id for o in group))
    last_errors = [o for o in report.outlets if o.last_error and o.status in ("failing",)]
    for o in last_errors:
        console.print(f"  {escape(o.outlet_id)}: last error {escape(o.last_error or '')}")


def _ago(moment: datetime | None, as_of: datetime) -> str:
    if moment is None:
        return "never"
    hours = (as_of - moment).total_seconds() / 3600
    if hours < 0:
        return f"{moment:%Y-%m-%d %H:%M}"
    if hours < 1:
        return f"{hours * 60:.0f} min ago"
    if hours < 48:
        return f"{hours:.0f} h ago"
    return f"{hours / 24:.0f} days ago"


# --------------------------------------------------------------------------- helpers


def json_lines(rows: Iterable[dict[str, Any]]) -> str:
    return "\n".join(json.dumps(row, ensure_ascii=False, default=str) for row in rows)
