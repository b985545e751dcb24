"""`mediawatch sources list|check|health` and `mediawatch extract`, as users run them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.health import assess
from mediawatch.records import Article, FetchRecord, Outlet, content_hash, stable_id
from store import reads, writes
from store.db import connection
from tests.crawlers.fixture_server import SITE, FixtureServer

EXAMPLE = Path(__file__).resolve().parents[2] / "crawlers" / "sources.example.yaml"
AS_OF = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ARTICLE = SITE / "lotus" / "en" / "2026" / "11" / "lam-ha-reservoir-opens.html"
INDEX = SITE / "lotus" / "tag" / "reservoirs.html"
BASE = "http://127.0.0.1:8000"


def saved(tmp_path: Path, source: Path = ARTICLE, name: str = "page.html") -> Path:
    """A fixture page as saved from the server at BASE."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(source.read_bytes().replace(b"{{BASE}}", BASE.encode()))
    return path


def mediawatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mediawatch", *args], capture_output=True, text=True, timeout=120
    )


# --------------------------------------------------------------------------- sources


def test_sources_check_reports_every_problem_with_file_and_line_and_exits_1(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text(
        "outlets:\n  - id: Lotus\n    name: Lotus\n    homepage: ftp://x\n    country: VN\n"
        "    languages: [vi]\n    scope: abroad\n    type: wire\n    feed: [http://a/]\n",
        encoding="utf-8",
    )

    done = mediawatch("sources", "check", "--sources", str(bad))

    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines[:4]] == [
        f"{bad}:2", f"{bad}:4", f"{bad}:7", f"{bad}:9"
    ]  # fmt: skip
    assert "scope" in lines[2] and "'abroad'" in lines[2] and "feed" in lines[3]
    assert lines[-1] == f"{bad}: 4 errors, 0 warnings"


def test_sources_check_passes_a_good_registry_and_warns_about_outlets_with_nothing_to_read(
    tmp_path: Path,
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "    feeds: [https://harbourtimes.example/world/asia/feed.atom]\n", ""
    )
    registry = tmp_path / "sources.yaml"
    registry.write_text(text, encoding="utf-8")

    done = mediawatch("sources", "check", "--sources", str(registry), "--json")

    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"] and report["outlets"] == 3
    [warning] = report["warnings"]
    assert "harbour-times" in warning["message"] and "nothing will be fetched" in warning["message"]
    assert isinstance(warning["line"], int)


def test_sources_list_filters_and_prints_json(tmp_path: Path) -> None:
    done = mediawatch("sources", "list", "--sources", str(EXAMPLE), "--scope", "foreign", "--json")

    outlets = json.loads(done.stdout)
    assert done.returncode == 0
    assert [o["outlet_id"] for o in outlets] == ["harbour-times", "paddyfield-notes"]
    assert outlets[1]["enabled"] is False and outlets[1]["requests_per_second"] == 0.2


def test_sources_commands_without_a_registry_say_how_to_give_one(tmp_path: Path) -> None:
    done = mediawatch("sources", "list", "--sources", str(tmp_path / "nope.yaml"))

    assert done.returncode == 2
    assert done.stderr.startswith("mediawatch: error: ") and "nope.yaml" in done.stderr


def _outlet(outlet_id: str, enabled: bool = True) -> Outlet:
    return Outlet(outlet_id, outlet_id.title(), f"http://{outlet_id}.example/", "VN", ("vi",),
                  "domestic", "private", (f"http://{outlet_id}.example/rss.xml",),
                  enabled=enabled)  # fmt: skip


def _fetch(outlet_id: str, kind: str, hours_ago: float, error: str | None = None, n: int = 0):
    return FetchRecord(
        outlet_id=outlet_id,
        url=f"http://{outlet_id}.example/{kind}/{n}",
        kind=kind,  # type: ignore[arg-type]
        status=500 if error else 200,
        bytes=100,
        elapsed_ms=5.0,
        fetched_at=AS_OF - timedelta(hours=hours_ago),
        error_class=error,
        error_message="500 Internal Server Error" if error else None,
    )


def _article(outlet_id: str, n: int, hours_ago: float) -> Article:
    url = f"http://{outlet_id}.example/{n}.html"
    when = AS_OF - timedelta(hours=hours_ago)
    return Article(stable_id(url), outlet_id, url, url, f"Story {n}", f"Text {n} of {outlet_id}",
                   when, "vi", None, content_hash(f"Story {n}", f"Text {outlet_id} {n}"),
                   when)  # fmt: skip


@pytest.fixture(scope="module")
def health_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five outlets: healthy, failing, silent, degraded by warnings, never fetched."""
    db = tmp_path_factory.mktemp("health") / "m.duckdb"
    outlets = [_outlet(o) for o in ("good", "down", "quiet", "grumpy", "new")]
    outlets.append(_outlet("off", enabled=False))
    records = [
        _fetch("good", "feed", 1), _fetch("good", "page", 1, n=1), _fetch("good", "page", 1, n=2),
        _fetch("down", "feed", 30), _fetch("down", "page", 30, n=1),
        _fetch("down", "feed", 1, "HTTPError 500"),
        _fetch("quiet", "feed", 1),
        _fetch("grumpy", "feed", 2),
    ]  # fmt: skip
    warning = FetchRecord(
        "grumpy",
        "http://grumpy.example/rss.xml",
        "feed",
        200,
        10,
        1.0,
        AS_OF - timedelta(hours=1),
        None,
        "malformed feed, 3 items recovered",
    )
    articles = [_article("good", n, hours) for n, hours in enumerate([2, 20, 50, 100])]
    articles += [_article("down", 1, 30), _article("quiet", 1, 24 * 6), _article("grumpy", 1, 5)]
    with connection(db) as con:
        writes.upsert_sources(con, outlets, "run-1")
        writes.insert_fetch_log(con, records[:5], "run-1")
        writes.insert_fetch_log(con, [*records[5:], warning], "run-2")
        writes.upsert_articles(con, articles, "run-1")
    return db


def test_health_tells_failing_silent_degraded_and_never_fetched_outlets_apart(
    health_db: Path,
) -> None:
    with connection(health_db, read_only=True) as con:
        rows = reads.source_health(con, AS_OF - timedelta(days=7), AS_OF)

    report = assess(rows, as_of=AS_OF, days=7, silent_after=timedelta(hours=72))

    status = {o.outlet_id: o.status for o in report.outlets}
    assert status == {"down": "failing", "quiet": "silent", "new": "never fetched",
                      "grumpy": "degraded", "good": "ok", "off": "disabled"}  # fmt: skip
    assert [o.outlet_id for o in report.outlets][:2] == ["down", "quiet"]  # worst first
    good = next(o for o in report.outlets if o.outlet_id == "good")
    assert (good.requests, good.failures, good.error_rate) == (3, 0, 0.0)
    assert good.articles_published == 4 and good.articles_per_day == round(4 / 7, 2)
    assert good.last_success == AS_OF - timedelta(hours=1)
    down = next(o for o in report.outlets if o.outlet_id == "down")
    assert down.error_rate == round(1 / 3, 4) and down.errors == {"HTTPError 500": 1}
    assert down.last_error.startswith("HTTPError 500: 500 Internal Server Error")
    assert down.last_success == AS_OF - timedelta(hours=30)
    assert "latest run" in down.reasons[0]


def test_sources_health_command_prints_json_and_strict_exits_1(health_db: Path) -> None:
    done = mediawatch(
        "sources", "health", "--db", str(health_db), "--as-of", AS_OF.isoformat(), "--json",
        "--strict", "--sources", str(EXAMPLE.parent / "missing.yaml"),
    )  # fmt: skip
    # a registry that does not exist is an error, even for health
    assert done.returncode == 2 and "missing.yaml" in done.stderr

    done = mediawatch(
        "sources", "health", "--db", str(health_db), "--as-of", AS_OF.isoformat(), "--json",
        "--strict",
    )  # fmt: skip

    report = json.loads(done.stdout)
    assert done.returncode == 1  # --strict: an outlet is failing or silent
    assert report["failing"] == ["down"] and report["silent"] == ["quiet"]


def test_sources_health_table_names_who_went_silent(health_db: Path) -> None:
    done = mediawatch("sources", "health", "--db", str(health_db), "--as-of", "2026-11-23T12:00")

    assert done.returncode == 0
    assert "Gone silent: quiet" in done.stdout and "Failing: down" in done.stdout


# --------------------------------------------------------------------------- extract


def test_extract_one_saved_page_as_json_is_what_the_crawler_stores(tmp_path: Path) -> None:
    url = BASE + "/lotus/en/2026/11/lam-ha-reservoir-opens.html"

    done = mediawatch("extract", str(saved(tmp_path)), "--url", url + "?utm_source=rss", "--json")

    result = json.loads(done.stdout)
    assert done.returncode == 0
    assert result["title"] == "Lam Ha reservoir begins operating ahead of the flood season"
    assert result["published_at"] == "2026-11-17T01:30:00+00:00"
    assert (result["language"], result["byline"]) == ("en", "Tran Minh Chau")
    assert result["canonical_url"] == url and result["article_id"] == stable_id(url)
    assert result["content_hash"] == content_hash(result["title"], result["text"])
    assert result["error"] is None


def test_extract_of_a_page_without_an_article_exits_1_with_the_reason() -> None:
    done = mediawatch("extract", str(INDEX))

    assert done.returncode == 1
    assert done.stderr.startswith("mediawatch: error: no article in") and "250" in done.stderr


def test_extract_batch_keeps_input_order_and_reports_pages_without_articles(
    tmp_path: Path,
) -> None:
    saved(tmp_path, name="saved/a.html")
    pages = tmp_path / "pages.jsonl"
    lines = [
        {"id": "index", "path": str(INDEX), "url": "http://127.0.0.1:8000/lotus/tag/x.html"},
        {"id": 7, "path": "saved/a.html", "url": "http://127.0.0.1:8000/lotus/a.html"},
        {"id": "inline", "html": saved(tmp_path).read_text(encoding="utf-8"), "url": None,
         "feed": {"title": "Feed title", "published_at": "2026-11-17T01:00:00Z"}},
    ]  # fmt: skip
    pages.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"

    done = mediawatch("extract", "--input", str(pages), "--output", str(out))

    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert done.returncode == 0, done.stderr
    assert [row["id"] for row in rows] == ["index", 7, "inline"]
    assert rows[0]["text"] == "" and "need 250" in rows[0]["error"]
    assert rows[1]["title"] == rows[2]["title"] != ""
    assert rows[1]["text"] == rows[2]["text"] and rows[1]["error"] is None
    # no URL given: the page's own canonical link says where it lives
    assert rows[2]["canonical_url"] == BASE + "/lotus/en/2026/11/lam-ha-reservoir-opens.html"
    assert rows[2]["published_at"] == "2026-11-17T01:30:00+00:00"  # the page's, not the feed's
    for key in ("id", "title", "text", "published_at", "language"):
        assert key in rows[0] and key in rows[1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a", "path": "x.html"}\n{"id": "b", "path": ', ":2: not valid JSON"),
        ('{"id": "a", "path": "nowhere.html"}\n', ":1: no such file 'nowhere.html'"),
        ('["a", "x.html"]\n', ":1: expected an object"),
        ('{"path": "x.html"}\n', ":1: 'id' must be"),
        ('{"id": "a"}\n', ":1: 'path' is missing"),
        ('{"id": "a", "path": "x.html"}\n{"id": "a", "path": "x.html"}\n', ":2: duplicate id"),
    ],
)
def test_extract_batch_refuses_a_bad_line_naming_it_and_writes_nothing(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "x.html").write_bytes(ARTICLE.read_bytes())
    pages = tmp_path / "pages.jsonl"
    pages.write_text(content, encoding="utf-8")
    out = tmp_path / "out.jsonl"

    done = mediawatch("extract", "--input", str(pages), "--output", str(out))

    assert done.returncode == 2
    assert done.stderr.startswith(f"mediawatch: error: {pages}{message}"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.glob(".extract-*")) == []


def test_extract_a_url_fetches_it_as_the_crawler_would_and_obeys_robots_txt(
    outlet_server: FixtureServer,
) -> None:
    url = outlet_server.url("/lotus/en/2026/11/lam-ha-reservoir-opens.html?utm_source=x")

    done = mediawatch("extract", url, "--json")
    forbidden = mediawatch("extract", outlet_server.url("/lotus/private/embargoed.html"))

    result = json.loads(done.stdout)
    assert done.returncode == 0
    assert result["canonical_url"] == outlet_server.url(
        "/lotus/en/2026/11/lam-ha-reservoir-opens.html"
    )
    assert forbidden.returncode == 2 and "robots.txt forbids" in forbidden.stderr
    assert "/lotus/private/embargoed.html" not in outlet_server.requested_paths()
