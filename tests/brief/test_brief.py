"""The weekly brief: sections, safety against untrusted text, reproducibility, bad weeks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from brief.render import render_brief
from mediawatch.records import Article, Match, Narrative, Outlet, content_hash, stable_id
from mediawatch.settings import load_settings
from mediawatch.weeks import WeekError, parse_week
from rebuttal_library.schema import Evidence, RebuttalEntry
from store import writes
from store.db import connection

WEEK = "2026-W46"
SCRIPT = "<script>alert('x')</script>"
IMG = '<img src="https://tracker.example/p.gif" onerror="alert(1)">'


def _settings(tmp_path: Path):
    return load_settings(db=tmp_path / "m.duckdb", briefs_dir=tmp_path / "briefs")


def _article(n: int, outlet: str, when: datetime, title: str, url: str | None = None) -> Article:
    url = url or f"https://{outlet}.example/a{n}"
    return Article(stable_id(url), outlet, url, url, title, f"Body {n} " * 20, when, "en", None,
                   content_hash(title, f"Body {n}"), when)


@pytest.fixture
def store_with_payloads(tmp_path):
    """A small store whose titles, outlet names and entries carry markup and script payloads."""
    settings = _settings(tmp_path)
    week = parse_week(WEEK, settings.timezone)
    monday = week.start + timedelta(hours=10)
    outlets = [
        Outlet("evil", f"Evil Outlet {IMG}", "https://evil.example/", "ZZ", ("en",), "foreign",
               "blog", ()),
        Outlet("home", "Home Daily", "https://home.example/", "VN", ("vi",), "domestic",
               "state", ()),
    ]
    articles = [
        _article(1, "evil", monday, f"Shocking {SCRIPT} claim [click](javascript:alert(1))",
                 url="javascript:alert(1)"),
        _article(2, "home", monday + timedelta(days=1), "Home follows the *claim* <b>too</b>"),
        _article(3, "evil", monday + timedelta(days=2), "Third telling of the claim"),
        _article(4, "home", monday - timedelta(days=7), "Last week's first telling"),
    ]
    ids = [a.article_id for a in articles]
    narrative = Narrative("nar1", articles[0].title, ["claim", SCRIPT], ids, ids[3],
                          articles[3].published_at, articles[2].published_at, ids[0],
                          dict.fromkeys(ids, 0.9))
    entry = RebuttalEntry(
        id="E01", type="refute", title=f"Entry title {SCRIPT}", claims=["the claim"],
        response={"en": "The facts."}, status="approved", reviewed_by="Head of Rapid Response",
        reviewed_at="2026-11-01", expires_at="2027-11-01",
        evidence=[Evidence(title=f"Evidence {IMG}", url="https://moh.example/r",
                           publisher="Ministry", date="2026-11-01")],
    )
    with connection(settings.db) as con:
        writes.upsert_sources(con, outlets, "run-a")
        writes.upsert_articles(con, articles, "run-a")
        writes.replace_narratives(con, [narrative], {"nar1": np.ones(4, np.float32) / 2},
                                  "model", "run-b")
        writes.replace_rebuttals(con, [entry], "run-b")
        writes.replace_matches(con, [Match("nar1", "E01", entry.version, 0.93, 1, True)],
                               "run-c")
    return settings


def test_untrusted_text_is_escaped_in_html(store_with_payloads):
    written = render_brief(store_with_payloads, week=WEEK)
    html = next(p for p in written.paths if p.suffix == ".html").read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "onerror=\"alert" not in html
    assert 'href="javascript:' not in html
    assert "https://tracker.example" not in html.replace("&#34;", '"').split("<body>")[0]
    # every link opens without a referrer or opener, and the page loads nothing remote
    assert html.count("<a ") == html.count('rel="noopener noreferrer"')
    assert "default-src 'none'" in html
    assert 'src="http' not in html


def test_untrusted_text_cannot_inject_markdown(store_with_payloads):
    written = render_brief(store_with_payloads, week=WEEK)
    md = next(p for p in written.paths if p.suffix == ".md").read_text()
    assert "<script>" not in md
    assert "](javascript:" not in md
    assert "\\[click\\]" in md


def test_brief_has_every_section_and_traces_its_runs(store_with_payloads):
    written = render_brief(store_with_payloads, week=WEEK)
    md = next(p for p in written.paths if p.suffix == ".md").read_text()
    for heading in ("## Summary", "## Top narratives", "## New and rising",
                    "## Needs a response", "## Favourable coverage", "## Coverage and health",
                    "## Method"):
        assert heading in md
    assert "3 articles from 2 outlets in 1 language; 0 syndicated copies" in md
    assert "Response **E01** (refute, score 0.930)" in md
    assert "Runs read: run-a, run-b, run-c" in md
    with connection(store_with_payloads.db, read_only=True) as con:
        rows = con.execute("SELECT week, format, runs_read FROM briefs ORDER BY format").fetchall()
    assert rows == [(WEEK, "html", ["run-a", "run-b", "run-c"]),
                    (WEEK, "md", ["run-a", "run-b", "run-c"])]


def test_same_store_and_week_give_the_same_markdown_byte_for_byte(store_with_payloads):
    first = render_brief(store_with_payloads, week=WEEK, formats=("md",)).paths[0].read_bytes()
    second = render_brief(store_with_payloads, week=WEEK, formats=("md",)).paths[0].read_bytes()
    assert first == second


def test_week_without_data_gives_a_brief_that_says_so(store_with_payloads):
    written = render_brief(store_with_payloads, week="2025-W10", formats=("md",))
    md = written.paths[0].read_text()
    assert "0 articles from 0 outlets" in md
    assert "No narrative had articles this week." in md


def test_week_in_the_future_is_refused(store_with_payloads):
    with pytest.raises(WeekError, match="has not started yet"):
        render_brief(store_with_payloads, week="2099-W01")


def test_store_without_narratives_gives_a_brief_not_a_traceback(tmp_path):
    settings = _settings(tmp_path)
    with connection(settings.db):
        pass
    written = render_brief(settings, week=WEEK)
    assert "No narrative had articles this week." in written.paths[-1].read_text()


def test_default_week_is_the_last_complete_one(store_with_payloads):
    written = render_brief(store_with_payloads, formats=("md",))
    now = datetime.now(UTC)
    assert parse_week(written.week, "Asia/Ho_Chi_Minh").end <= now
