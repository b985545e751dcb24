"""The `mediawatch` command. Heavy libraries load only inside the commands that need them."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

app = typer.Typer(
    name="mediawatch",
    help="Watch news outlets, group coverage into narratives, match them to vetted responses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
library_app = typer.Typer(help="The vetted rebuttal library.", no_args_is_help=True)
app.add_typer(library_app, name="library")

DbOption = Annotated[Path | None, typer.Option("--db", help="DuckDB file (default from settings)")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]


class Scope(StrEnum):
    domestic = "domestic"
    foreign = "foreign"


class BriefFormat(StrEnum):
    html = "html"
    md = "md"


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr, non-zero exit: how every command reports bad input."""
    typer.echo(f"mediawatch: error: {message}", err=True)
    raise typer.Exit(code)


def _settings(**overrides: Any):
    from pydantic import ValidationError

    from mediawatch.settings import load_settings

    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        fail(f"invalid setting {where}: {first['msg']}")


def _known_errors() -> tuple[type[Exception], ...]:
    from mediawatch.weeks import WeekError
    from store.db import StoreError

    return (StoreError, WeekError, FileNotFoundError)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


# -- run -------------------------------------------------------------------------------------


@app.command()
def run(
    sources: Annotated[
        Path | None, typer.Option(help="source registry YAML; default: the embedded demo outlets")
    ] = None,
    db: DbOption = None,
    week: Annotated[str | None, typer.Option(help="brief week, e.g. 2026-W47")] = None,
) -> None:
    """Crawl, store, enrich, embed, cluster, match, and write the brief for the latest week."""
    settings = _settings(db=db, sources=sources)
    _check_run_inputs(settings, week)
    from flows.prefect_env import configure_prefect

    configure_prefect(settings.prefect_home)
    if settings.sources is not None:
        summary = _run_flow(settings, week)
    else:
        summary = _run_on_demo(settings, week)
    from mediawatch.summary import print_summary

    print_summary(summary)


def _check_run_inputs(settings: Any, week: str | None) -> None:
    """Refuse bad input before anything starts, so nothing stored is touched."""
    from crawlers.sources import SourcesError, load_sources
    from mediawatch.weeks import WeekError, parse_week
    from store.db import StoreError, open_db

    if week is not None:
        try:
            parse_week(week, settings.timezone)
        except WeekError as exc:
            fail(str(exc))
    if settings.sources is not None:
        try:
            load_sources(settings.sources)
        except SourcesError as exc:
            fail(str(exc).splitlines()[0])
    try:
        open_db(settings.db).close()
    except StoreError as exc:
        fail(str(exc))
    if not settings.library_dir.is_dir():
        fail(f"rebuttal library folder {settings.library_dir} does not exist")


def _run_flow(settings: Any, week: str | None):
    from flows.pipeline import mediawatch_run

    return mediawatch_run(settings.model_dump(mode="json"), week)


def _run_on_demo(settings: Any, week: str | None):
    from demo.server import serve_demo_outlets

    anchor = date.fromisoformat(settings.demo_anchor) if settings.demo_anchor else None
    with serve_demo_outlets(anchor) as site:
        settings.work_dir.mkdir(parents=True, exist_ok=True)
        registry = site.write_sources_yaml(settings.work_dir / "demo-sources.yaml")
        typer.echo(f"Demo outlets: {len(site.outlets)} outlets served at {site.base_url}")
        return _run_flow(settings.model_copy(update={"sources": registry}), week)


# -- brief -----------------------------------------------------------------------------------


@app.command()
def brief(
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W47")] = None,
    format: Annotated[list[BriefFormat] | None, typer.Option("--format", help="html, md")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder")] = None,
    db: DbOption = None,
) -> None:
    """Write the weekly brief (default: the last complete week in the office's time zone)."""
    settings = _settings(db=db, briefs_dir=out)
    from brief.render import render_brief

    formats = tuple(f.value for f in (format or [BriefFormat.html, BriefFormat.md]))
    try:
        written = render_brief(settings, week=week, formats=formats)
    except _known_errors() as exc:
        fail(str(exc))
    for path in written.paths:
        typer.echo(str(path))


# -- the rapid-response console ---------------------------------------------------------------


def _period(week: str | None, since: str | None, until: str | None, timezone: str):
    from mediawatch.weeks import parse_week

    if week:
        w = parse_week(week, timezone)
        return w.start, w.end
    return _day(since, "--since"), _day(until, "--until")


def _day(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        fail(f"{option} {text!r} is not a date like 2026-11-16")


@app.command()
def narratives(
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W47")] = None,
    since: Annotated[str | None, typer.Option(help="from this date (YYYY-MM-DD)")] = None,
    until: Annotated[str | None, typer.Option(help="before this date (YYYY-MM-DD)")] = None,
    lang: Annotated[str | None, typer.Option(help="language code, e.g. vi")] = None,
    country: Annotated[str | None, typer.Option(help="outlet country, e.g. VN")] = None,
    scope: Annotated[Scope | None, typer.Option(help="domestic or foreign")] = None,
    outlet: Annotated[str | None, typer.Option(help="outlet id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV output")] = False,
    db: DbOption = None,
) -> None:
    """Narratives with volume, reach and matched responses."""
    settings = _settings(db=db)
    from store import reads
    from store.db import connection

    try:
        start, end = _period(week, since, until, settings.timezone)
        with connection(settings.db, read_only=True) as con:
            rows = reads.narrative_list(
                con,
                start,
                end,
                lang,
                country.upper() if country else None,
                scope.value if scope else None,
                outlet,
            )[:limit]
    except _known_errors() as exc:
        fail(str(exc))
    if as_json:
        _print_json(rows)
    elif as_csv:
        _write_csv(rows)
    else:
        from mediawatch.tables import print_narratives

        print_narratives(rows)


def _write_csv(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: "|".join(map(str, v)) if isinstance(v, list) else v for k, v in row.items()}
        )


@app.command()
def show(
    narrative_id: Annotated[str, typer.Argument(help="narrative id")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """One narrative in full: articles, outlets, matched responses."""
    settings = _settings(db=db)
    from store import reads
    from store.db import connection

    try:
        with connection(settings.db, read_only=True) as con:
            detail = reads.narrative_detail(con, narrative_id)
    except _known_errors() as exc:
        fail(str(exc))
    if detail is None:
        fail(f"no narrative with id {narrative_id!r}", code=1)
    if as_json:
        _print_json(detail)
    else:
        from mediawatch.tables import print_narrative

        print_narrative(detail)


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="a sentence, headline or claim, in any language")],
    limit: Annotated[int, typer.Option(min=1, max=200)] = 10,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Narratives and articles closest in meaning to a text."""
    if not text.strip():
        fail("search text is empty")
    if len(text) > 5000:
        fail("search text is longer than 5,000 characters")
    settings = _settings(db=db)
    from service.search import search_store

    try:
        result = search_store(settings, text, limit)
    except _known_errors() as exc:
        fail(str(exc))
    if as_json:
        _print_json(result)
    else:
        from mediawatch.tables import print_search

        print_search(result)


# -- library ---------------------------------------------------------------------------------


def _office_today(timezone: str) -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(timezone)).date()


@library_app.command("check")
def library_check(
    entries: Annotated[Path | None, typer.Option("--dir", help="entries folder")] = None,
) -> None:
    """Validate every entry; print each problem with file and line; exit 1 on errors."""
    settings = _settings(library_dir=entries)
    from rebuttal_library.cli import check_command

    raise typer.Exit(
        check_command(settings.library_dir, _office_today(settings.timezone), typer.echo)
    )


@library_app.command("import")
def library_import(
    source: Annotated[Path, typer.Argument(help="JSONL, or ClaimReview JSON-LD (.json/.jsonld)")],
    entries: Annotated[Path | None, typer.Option("--dir", help="entries folder")] = None,
) -> None:
    """Write the entries of a JSONL or ClaimReview file into the library, then check it."""
    settings = _settings(library_dir=entries)
    if not source.is_file():
        fail(f"{source} does not exist")
    from rebuttal_library.cli import import_command

    raise typer.Exit(
        import_command(source, settings.library_dir, _office_today(settings.timezone), typer.echo)
    )


@library_app.command("export")
def library_export(
    target: Annotated[Path, typer.Argument(help="JSONL, or ClaimReview JSON-LD (.json/.jsonld)")],
    entries: Annotated[Path | None, typer.Option("--dir", help="entries folder")] = None,
    usable_only: Annotated[bool, typer.Option(help="only approved, unexpired entries")] = False,
) -> None:
    """Export the library as JSONL or ClaimReview JSON-LD (chosen by the file suffix)."""
    settings = _settings(library_dir=entries)
    from rebuttal_library.cli import export_command

    raise typer.Exit(
        export_command(
            target, settings.library_dir, _office_today(settings.timezone), usable_only, typer.echo
        )
    )


def main() -> None:
    app()
