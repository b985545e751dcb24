"""The `mediawatch` command. Heavy libraries load only inside the commands that need them."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
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
    pdf = "pdf"


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
    from nlp.embed import ModelNotFoundError
    from store.db import StoreError

    return (StoreError, WeekError, FileNotFoundError, ModelNotFoundError)


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
    _check_orchestration(settings)
    from flows.pipeline import mediawatch_run

    summary = _with_outlets(settings, lambda s: mediawatch_run(s.model_dump(mode="json"), week))
    from mediawatch.summary import print_summary

    print_summary(summary)


def _check_run_inputs(settings: Any, week: str | None) -> None:
    """Refuse bad input before anything starts, so nothing stored is touched."""
    from crawlers.sources import SourcesError, load_sources
    from mediawatch.weeks import WeekError, parse_week
    from store.db import StoreError, open_db
    from store.lock import busy_message, current_holder

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
    holder = current_holder(settings.db) if settings.db.parent.is_dir() else None
    if holder is not None and not settings.writer_wait_s:
        fail(busy_message(settings.db, holder, 0))
    try:
        open_db(settings.db).close()
    except StoreError as exc:
        fail(str(exc))
    if not settings.library_dir.is_dir():
        fail(f"rebuttal library folder {settings.library_dir} does not exist")


def _check_orchestration(settings: Any) -> None:
    """A Prefect API named by PREFECT_API_URL must answer; a Dask cluster must be given right."""
    import os

    from flows.schedule import ScheduleError, check_api

    if os.environ.get("PREFECT_API_URL"):
        try:
            check_api(os.environ["PREFECT_API_URL"])
        except ScheduleError as exc:
            fail(str(exc))
    address = settings.dask_address if settings.task_runner == "dask" else None
    if address and not address.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        fail(f"invalid setting dask_address {address!r}: "
             "give the scheduler's address, like tcp://10.0.0.5:8786")  # fmt: skip


def _with_outlets(settings: Any, call: Any) -> Any:
    """Call with the settings; with no source registry, serve the demo outlets meanwhile."""
    from store.db import StoreError

    try:
        if settings.sources is not None:
            return call(settings)
        from demo.server import serve_demo_outlets

        anchor = date.fromisoformat(settings.demo_anchor) if settings.demo_anchor else None
        with serve_demo_outlets(anchor) as site:
            settings.work_dir.mkdir(parents=True, exist_ok=True)
            registry = site.write_sources_yaml(settings.work_dir / "demo-sources.yaml")
            typer.echo(f"Demo outlets: {len(site.outlets)} outlets served at {site.base_url}")
            # the demo's outlets all live on one loopback server, built to take them at once
            return call(
                settings.model_copy(
                    update={"sources": registry,
                            "outlets_per_host": max(settings.outlets_per_host, 8)}  # fmt: skip
                )
            )
    except StoreError as exc:  # e.g. another run took the database meanwhile
        fail(str(exc))


# -- schedule and backfill -------------------------------------------------------------------


@app.command()
def schedule(
    sources: Annotated[
        Path | None, typer.Option(help="source registry YAML; default: the embedded demo outlets")
    ] = None,
    db: DbOption = None,
) -> None:
    """Serve the scheduled runs: hourly ingest, analysis after it, the Monday brief.

    The server is the one in PREFECT_API_URL, or one started here on 127.0.0.1.
    """
    settings = _settings(db=db, sources=sources)
    from flows.prefect_env import configure_prefect

    configure_prefect(settings.prefect_home)
    from flows.schedule import ScheduleError, Schedules, prefect_server

    try:
        Schedules.from_settings(settings)  # a bad cron is refused before anything starts
        _check_run_inputs(settings, None)
        with prefect_server(settings) as api_url:
            _with_outlets(settings, lambda s: _serve(s, api_url))
    except ScheduleError as exc:
        fail(str(exc))


def _serve(settings: Any, api_url: str) -> None:
    from flows.schedule import describe, serve_deployments

    typer.echo(f"Prefect API {api_url}; UI {api_url.removesuffix('/api')}/deployments")
    for line in describe(settings):
        typer.echo(f"  {line}")
    typer.echo("Serving the deployments; Ctrl-C stops.", err=True)
    serve_deployments(settings, api_url)


@app.command()
def backfill(
    since: Annotated[str, typer.Option(help="first day, YYYY-MM-DD")],
    until: Annotated[str | None, typer.Option(help="last day, YYYY-MM-DD (default: today)")] = None,
    sources: Annotated[
        Path | None, typer.Option(help="source registry YAML; default: the embedded demo outlets")
    ] = None,
    db: DbOption = None,
) -> None:
    """Catch up on a date range: sitemaps back to --since, analysis, the brief of each week."""
    settings = _settings(db=db, sources=sources)
    first = _day(since, "--since")
    last = _day(until, "--until") if until else datetime.now(UTC).date()
    if last < first:
        fail(f"--until {last} is before --since {first}")
    if last > datetime.now(UTC).date():
        fail(f"--until {last} is in the future")
    _check_run_inputs(settings, None)
    from flows.prefect_env import configure_prefect

    configure_prefect(settings.prefect_home)
    _check_orchestration(settings)
    from flows.backfill import backfill as backfill_flow

    summary = _with_outlets(
        settings,
        lambda s: backfill_flow(since=first, until=last, settings=s.model_dump(mode="json")),
    )
    from mediawatch.summary import print_summary

    print_summary(summary)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date like 2026-11-30")


# -- brief -----------------------------------------------------------------------------------


@app.command()
def brief(
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W47")] = None,
    format: Annotated[
        list[BriefFormat] | None,
        typer.Option("--format", help="html, md or pdf; repeat for several (default html and md)"),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="output folder")] = None,
    db: DbOption = None,
) -> None:
    """Write the weekly brief (default: the last complete week in the office's time zone)."""
    settings = _settings(db=db, briefs_dir=out)
    from brief.render import BriefError, render_brief

    chosen = format or [BriefFormat.html, BriefFormat.md]
    formats = tuple(dict.fromkeys(f.value for f in chosen))
    try:
        written = render_brief(settings, week=week, formats=formats)
    except (*_known_errors(), BriefError) as exc:
        fail(str(exc))
    for path in written.paths:
        typer.echo(str(path))
    if written.deferred:
        typer.echo("(a run is writing the database: this brief's record in `briefs` will be "
                   "recorded by the next run)")  # fmt: skip


# -- the rapid-response console ---------------------------------------------------------------

CsvOption = Annotated[bool, typer.Option("--csv", help="CSV output")]
WeekOption = Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W47 (office time)")]
SinceOption = Annotated[str | None, typer.Option(help="from this day (YYYY-MM-DD, office time)")]
UntilOption = Annotated[
    str | None, typer.Option(help="up to and including this day (YYYY-MM-DD)")
]
LangOption = Annotated[str | None, typer.Option(help="article language, e.g. vi")]
CountryOption = Annotated[str | None, typer.Option(help="outlet country, e.g. VN")]
ScopeOption = Annotated[str | None, typer.Option(help="domestic or foreign")]
TopicOption = Annotated[
    str | None, typer.Option(help="a word of the label or keywords, or a library topic")
]
OutletOption = Annotated[str | None, typer.Option(help="outlet id")]
StatusOption = Annotated[
    str | None, typer.Option(help="new, rising, steady, fading, answered or gap")
]


def _console_filters(
    settings: Any,
    week: str | None = None,
    since: str | None = None,
    until: str | None = None,
    lang: str | None = None,
    country: str | None = None,
    scope: str | None = None,
    topic: str | None = None,
    outlet: str | None = None,
    status: str | None = None,
):
    """The console filters, validated: a bad value is one line naming the option."""
    from pydantic import ValidationError

    from mediawatch.weeks import WeekError, parse_week
    from service.filters import Filters, first_error

    if week is not None:
        if since is not None or until is not None:
            fail("--week cannot be combined with --since or --until")
        try:
            w = parse_week(week, settings.timezone)
        except WeekError as exc:
            fail(str(exc))
        since, until = w.monday.isoformat(), (w.monday + timedelta(days=6)).isoformat()
    values = {
        "since": since,
        "until": until,
        "lang": lang,
        "country": country,
        "scope": scope,
        "topic": topic,
        "outlet": outlet,
        "status": status,
    }
    try:
        return Filters(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        fail("--" + first_error(exc))


def _count(text: str, option: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        fail(f"{option} {text!r} is not a whole number")
    if not low <= value <= high:
        fail(f"{option} must be between {low} and {high}")
    return value


def _one_format(as_json: bool, as_csv: bool) -> None:
    if as_json and as_csv:
        fail("choose one of --json and --csv")


def _console_errors() -> tuple[type[Exception], ...]:
    from service.store_access import StoreBusy, StoreUnavailable

    return (*_known_errors(), StoreBusy, StoreUnavailable)


@app.command()
def narratives(
    week: WeekOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    lang: LangOption = None,
    country: CountryOption = None,
    scope: ScopeOption = None,
    topic: TopicOption = None,
    outlet: OutletOption = None,
    status: StatusOption = None,
    limit: Annotated[str, typer.Option(metavar="N", help="rows to show (1-10000)")] = "50",
    offset: Annotated[str, typer.Option(metavar="N", help="rows to skip")] = "0",
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    db: DbOption = None,
) -> None:
    """Narratives with volume, trend, reach and matched responses (biggest first)."""
    _one_format(as_json, as_csv)
    settings = _settings(db=db)
    filters = _console_filters(
        settings, week, since, until, lang, country, scope, topic, outlet, status
    )
    rows_wanted = _count(limit, "--limit", 1, 10000)
    skip = _count(offset, "--offset", 0, 10_000_000)
    from service.narratives import list_narratives
    from service.store_access import StoreSource

    try:
        with StoreSource(settings.db).read() as con:
            total, rows = list_narratives(con, filters, settings, rows_wanted, skip)
    except _console_errors() as exc:
        fail(str(exc).splitlines()[0])
    from service import export

    if as_json:
        typer.echo(export.to_json(rows))
    elif as_csv:
        sys.stdout.write(export.to_csv(rows, export.NARRATIVE_COLUMNS))
    else:
        from mediawatch.tables import print_narratives

        print_narratives(rows, total)


@app.command()
def show(
    narrative_id: Annotated[str, typer.Argument(help="narrative id")],
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="its articles as CSV")] = False,
    db: DbOption = None,
) -> None:
    """One narrative in full: timeline, reach, origin and spread, responses, articles."""
    import re

    from service.filters import ID_PATTERN

    _one_format(as_json, as_csv)
    if not re.fullmatch(ID_PATTERN, narrative_id):
        fail(f"{narrative_id[:80]!r} is not a narrative id (letters, digits, - and _)")
    settings = _settings(db=db)
    from service.narratives import narrative_page
    from service.store_access import StoreSource

    try:
        with StoreSource(settings.db).read() as con:
            detail = narrative_page(con, narrative_id, settings)
    except _console_errors() as exc:
        fail(str(exc).splitlines()[0])
    if detail is None:
        fail(f"no narrative with id {narrative_id!r}", code=1)
    from service import export

    if as_json:
        typer.echo(export.to_json(detail))
    elif as_csv:
        sys.stdout.write(export.to_csv(detail["articles"], export.ARTICLE_COLUMNS))
    else:
        from mediawatch.tables import print_narrative

        print_narrative(detail)


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="a sentence, headline, claim or words, any language")],
    since: SinceOption = None,
    until: UntilOption = None,
    lang: LangOption = None,
    country: CountryOption = None,
    scope: ScopeOption = None,
    topic: TopicOption = None,
    outlet: OutletOption = None,
    status: StatusOption = None,
    limit: Annotated[str, typer.Option(metavar="N", help="results of each kind (1-100)")] = "10",
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    db: DbOption = None,
) -> None:
    """Narratives and articles for a text: by meaning and by words (hybrid search)."""
    from service.filters import MAX_QUERY_CHARS

    _one_format(as_json, as_csv)
    if not text.strip():
        fail("search text is empty")
    if len(text) > MAX_QUERY_CHARS:
        fail(f"search text is longer than {MAX_QUERY_CHARS:,} characters")
    settings = _settings(db=db)
    filters = _console_filters(
        settings, None, since, until, lang, country, scope, topic, outlet, status
    )
    rows_wanted = _count(limit, "--limit", 1, 100)
    from service.search import search_store

    try:
        result = search_store(settings, text.strip(), rows_wanted, filters)
    except _console_errors() as exc:
        fail(str(exc).splitlines()[0])
    from service import export

    if as_json:
        typer.echo(export.to_json(result))
    elif as_csv:
        sys.stdout.write(export.to_csv(export.search_rows(result), export.SEARCH_COLUMNS))
    else:
        from mediawatch.tables import print_search

        print_search(result)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[str, typer.Option(metavar="PORT", help="TCP port")] = "8765",
    db: DbOption = None,
) -> None:
    """The rapid-response web page and HTTP API (read-only). Off loopback, a token is needed:
    MEDIAWATCH_SERVICE_TOKEN."""
    settings = _settings(db=db)
    number = _count(port, "--port", 1, 65535)
    from service.serve import ServeError
    from service.serve import serve as run_server

    try:
        run_server(settings, host, number, log=typer.echo)
    except ServeError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot listen on {host}:{number}: {exc.strerror or exc}")


# -- match -----------------------------------------------------------------------------------


@app.command()
def match(
    text: Annotated[str | None, typer.Option("--text", help="one text to match")] = None,
    queries: Annotated[
        Path | None, typer.Option("--queries", help="qid<TAB>text lines to match in a batch")
    ] = None,
    library: Annotated[
        Path | None,
        typer.Option(
            "--library",
            help="JSONL ({id,title,claims}), ClaimReview JSON-LD or an entries folder"
            " (default: the vetted library)",
        ),
    ] = None,
    top: Annotated[
        str | None, typer.Option("--top", metavar="K", help="entries per query (5; 10 for files)")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="TREC run to write (with --queries)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Best library entries for a text, or for every line of a query file (a TREC run:
    `qid Q0 entry_id rank score mediawatch`). Scores are calibrated probabilities."""
    if (text is None) == (queries is None):
        fail("give either --text TEXT or --queries FILE")
    if queries is not None and output is None:
        fail("--queries needs --output RUN.tsv")
    if text is not None and output is not None:
        fail("--output goes with --queries (a TREC run), not --text")
    top_k = _count(top, "--top", 1, 1000) if top is not None else (5 if text else 10)
    settings = _settings()
    today = _office_today(settings.timezone)
    from nlp.match_run import MatchInputError, match_file, match_one

    try:
        if queries is not None:
            done = match_file(
                queries, output, settings, library, top_k, today,
                progress=lambda m: typer.echo(m, err=True),
            )
            if as_json:
                _print_json(done)
            else:
                typer.echo(
                    f"{done['queries']} queries, {done['lines']} run lines -> {output}"
                    f" ({done['entries']} entries, {done['index']} index"
                    f" {'loaded' if done['index_loaded'] else 'built'}, {done['seconds']} s)"
                )
            return
        result = match_one(text, settings, library, top_k, today)
    except (MatchInputError, *_known_errors()) as exc:
        fail(str(exc).splitlines()[0])
    if as_json:
        _print_json(result)
        return
    if not result["calibrated"]:
        typer.echo("note: no calibration for this embedding model; scores are uncalibrated")
    typer.echo(f"threshold {result['threshold']}  (* = over it)")
    for c in result["candidates"]:
        flag = "*" if c["above_threshold"] else " "
        status = c["status"] + (", expired" if c["expired"] else "")
        typer.echo(
            f"{c['rank']:>3} {flag} {c['score']:.3f}  {c['entry_id']:<10} {c['type']:<8}"
            f" [{status}]  {c['title']}"
        )


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


# -- acquisition: sources and extraction -----------------------------------------------------

sources_app = typer.Typer(
    help="The source registry and each outlet's health.", no_args_is_help=True
)
app.add_typer(sources_app, name="sources")
SourcesOption = Annotated[
    Path | None,
    typer.Option("--sources", help="registry YAML (default: settings, then crawlers/sources.yaml)"),
]


def _acquisition_call(call: Any) -> int:
    """Run a crawlers.commands function; its CommandError is the one-line error."""
    from crawlers.commands import CommandError, NoArticle

    try:
        return call()
    except NoArticle as exc:
        fail(str(exc), code=1)
    except CommandError as exc:
        fail(str(exc))


@sources_app.command("list")
def sources_list(
    sources: SourcesOption = None,
    country: Annotated[str | None, typer.Option(help="outlet country, e.g. VN")] = None,
    scope: Annotated[Scope | None, typer.Option(help="domestic or foreign")] = None,
    lang: Annotated[str | None, typer.Option(help="language code, e.g. vi")] = None,
    tag: Annotated[str | None, typer.Option(help="a tag of the outlet")] = None,
    enabled: Annotated[bool, typer.Option("--enabled", help="enabled outlets only")] = False,
    as_json: JsonOption = False,
) -> None:
    """The outlets of the source registry."""
    settings = _settings(sources=sources)
    from crawlers import commands

    raise typer.Exit(
        _acquisition_call(
            lambda: commands.sources_list(
                commands.registry_path(settings.sources),
                as_json=as_json,
                echo=typer.echo,
                country=country,
                scope=scope.value if scope else None,
                lang=lang,
                tag=tag,
                enabled_only=enabled,
            )
        )
    )


@sources_app.command("check")
def sources_check(sources: SourcesOption = None, as_json: JsonOption = False) -> None:
    """Validate the registry: every problem with file and line; exit 1 on errors."""
    settings = _settings(sources=sources)
    from crawlers import commands

    raise typer.Exit(
        _acquisition_call(
            lambda: commands.sources_check(
                commands.registry_path(settings.sources), as_json=as_json, echo=typer.echo
            )
        )
    )


@sources_app.command("health")
def sources_health(
    sources: SourcesOption = None,
    db: DbOption = None,
    days: Annotated[float, typer.Option(min=0.01, max=3660, help="window in days")] = 7.0,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="reference time (ISO date/time; default now)")
    ] = None,
    silent_after: Annotated[
        float | None, typer.Option(min=0.01, help="hours without a new article = silent")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="exit 1 if an outlet is failing or silent")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Per outlet: last success, error rate, articles per day, and who went silent."""
    from datetime import timedelta

    settings = _settings(db=db, sources=sources)
    from crawlers import commands
    from store import reads
    from store.db import connection

    now = _as_of(as_of)
    try:
        with connection(settings.db, read_only=True) as con:
            rows = reads.source_health(con, now - timedelta(days=days), now)
    except _known_errors() as exc:
        fail(str(exc))
    raise typer.Exit(
        _acquisition_call(
            lambda: commands.sources_health(
                rows,
                registry=commands.registry_path(settings.sources, required=False),
                as_of=now,
                days=days,
                silent_after_hours=silent_after or settings.silent_after_hours,
                as_json=as_json,
                strict=strict,
                echo=typer.echo,
            )
        )
    )


def _as_of(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--as-of {text!r} is not a date or time like 2026-11-23 or 2026-11-23T08:00+07:00")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@app.command()
def extract(
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="FILE_OR_URL", help="a saved page (HTML, or .html.gz) or an http(s) URL"
        ),
    ] = None,
    url: Annotated[str | None, typer.Option(help="the URL the saved page was fetched from")] = None,
    input: Annotated[  # noqa: A002 - the contract's option name
        Path | None, typer.Option("--input", help='JSONL of {"id", "path", "url"} lines')
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="JSONL to write, one line per input line")
    ] = None,
    jobs: Annotated[int, typer.Option(min=1, max=64, help="processes for --input")] = 1,
    as_json: JsonOption = False,
) -> None:
    """Main text and metadata of a page, exactly as the crawler would store them."""
    from crawlers import commands

    if input is not None:
        if target is not None or url is not None:
            fail("give either FILE_OR_URL or --input PAGES.jsonl, not both")
        if output is None:
            fail("--input needs --output OUT.jsonl")
        raise typer.Exit(
            _acquisition_call(
                lambda: commands.extract_batch(
                    input, output, jobs=jobs, echo=lambda line: typer.echo(line, err=True)
                )
            )
        )
    if target is None:
        fail("give a saved page or URL, or --input PAGES.jsonl --output OUT.jsonl")
    if output is not None:
        fail("--output goes with --input PAGES.jsonl")
    settings = _settings()
    raise typer.Exit(
        _acquisition_call(
            lambda: commands.extract_one(
                target,
                url=url,
                as_json=as_json,
                echo=typer.echo,
                user_agent=settings.user_agent,
                timeout_s=settings.request_timeout_s,
                max_bytes=settings.max_body_bytes,
            )
        )
    )


# -- embed, cluster: the pipeline's meaning stages on files ---------------------------------


def _batch_call(call: Any) -> None:
    from nlp.batch import BatchInputError

    try:
        counts = call()
    except (BatchInputError, *_known_errors()) as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    typer.echo(json.dumps(counts, ensure_ascii=False), err=True)


@app.command()
def embed(
    input: Annotated[  # noqa: A002 - the contract's option name
        Path, typer.Option("--input", help='JSONL of {"id", "text"} lines')
    ],
    output: Annotated[Path, typer.Option("--output", help="float32 .npy, one row per line")],
) -> None:
    """Vectors for {"id","text"} lines with the configured model, in input order."""
    settings = _settings()

    def call() -> dict:
        from nlp.batch import embed_file, read_jsonl
        from nlp.embed import load_embedder

        for _ in read_jsonl(input, ("id", "text")):  # bad input fails before the model loads
            pass
        embedder = load_embedder(
            settings.embedding_model, settings.models_dir, settings.embedding_batch_size
        )
        return {"embedded": embed_file(input, output, embedder), "model": embedder.model_id}

    _batch_call(call)


@app.command()
def cluster(
    input: Annotated[  # noqa: A002 - the contract's option name
        Path,
        typer.Option("--input", help='JSONL of {"id","title","text"[,"lang","published_at"]}'),
    ],
    output: Annotated[Path, typer.Option("--output", help="TSV: id<TAB>narrative_id")],
) -> None:
    """Narrative clustering of articles with the pipeline's own algorithm."""
    settings = _settings()

    def call() -> dict:
        from nlp.batch import cluster_file, read_cluster_input
        from nlp.embed import load_embedder
        from nlp.narratives import TwoStageClustering

        read_cluster_input(input)  # bad input fails before the model loads
        embedder = load_embedder(
            settings.embedding_model, settings.models_dir, settings.embedding_batch_size
        )
        strategy = TwoStageClustering(
            settings.narrative_threshold,
            settings.narrative_merge_threshold,
            settings.narrative_cross_language_bonus,
        )
        return cluster_file(input, output, embedder, strategy)

    _batch_call(call)


def main() -> None:
    app()
