"""Small stores for the brief's tests, written with store.writes like the pipeline does."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from mediawatch.records import (
    Article,
    FetchRecord,
    Match,
    Narrative,
    Outlet,
    content_hash,
    stable_id,
)
from mediawatch.settings import load_settings
from mediawatch.weeks import parse_week
from rebuttal_library.schema import Evidence, RebuttalEntry
from store import writes
from store.db import connection

WEEK = "2026-W46"
SCRIPT = "<script>alert('x')</script>"
IMG = '<img src="https://tracker.example/p.gif" onerror="alert(1)">'
ATTR = '"><svg onload=alert(1)>'
SECTIONS = ("summary", "top-narratives", "new-and-rising", "needs-a-response",
            "favourable-coverage", "reach", "coverage-and-health", "method")
CHARTS = ("chart-volume", "chart-coverage", "chart-languages", "chart-countries", "chart-scope")


def settings_for(tmp_path: Path):
    return load_settings(db=tmp_path / "m.duckdb", briefs_dir=tmp_path / "briefs")


def article(
    n: int,
    outlet: str,
    when: datetime,
    title: str,
    url: str | None = None,
    language: str | None = "en",
    duplicate_of: str | None = None,
) -> Article:
    url = url or f"https://{outlet}.example/a{n}"
    return Article(stable_id(url), outlet, url, url, title, f"Body {n} " * 20, when, language,
                   None, content_hash(title, f"Body {n}"), when, duplicate_of)


def entry(entry_id: str, kind: str, status: str, title: str, reviewed: str | None = None,
          expires: str | None = None, publisher: str = "Ministry") -> RebuttalEntry:
    return RebuttalEntry(
        id=entry_id, type=kind, title=title, claims=[f"claim of {entry_id}"],
        response={"en": "The facts."}, status=status,
        reviewed_by="Head of Rapid Response" if reviewed else None,
        reviewed_at=reviewed, expires_at=expires,
        evidence=[Evidence(title=f"Evidence for {entry_id}",
                           url=f"https://gov.example/{entry_id.lower()}",
                           publisher=publisher, date="2026-11-01")],
    )


def narrative(narrative_id: str, label: str, members: list[Article], keywords=None) -> Narrative:
    ids = [a.article_id for a in members]
    first = min(members, key=lambda a: a.published_at)
    last = max(members, key=lambda a: a.published_at)
    return Narrative(narrative_id, label, keywords or [label.split()[0].lower()], ids,
                     first.article_id, first.published_at, last.published_at, ids[0],
                     dict.fromkeys(ids, 0.9))


def build_payload_store(tmp_path: Path):
    """Titles, outlet names and entries carrying markup and script payloads."""
    settings = settings_for(tmp_path)
    week = parse_week(WEEK, settings.timezone)
    monday = week.start + timedelta(hours=10)
    outlets = [
        Outlet("evil", f"Evil Outlet {IMG}", "https://evil.example/", "ZZ", ("en",), "foreign",
               "blog", ()),
        Outlet("home", "Home Daily", "https://home.example/", "VN", ("vi",), "domestic",
               "state", ()),
    ]
    articles = [
        article(1, "evil", monday, f"Shocking {SCRIPT} claim [click](javascript:alert(1))",
                url="javascript:alert(1)"),
        article(2, "home", monday + timedelta(days=1), "Home follows the *claim* <b>too</b>"),
        article(3, "evil", monday + timedelta(days=2), "Third telling of the claim"),
        article(4, "home", monday - timedelta(days=7), "Last week's first telling"),
    ]
    ids = [a.article_id for a in articles]
    story = Narrative("nar1", articles[0].title, ["claim", SCRIPT], ids, ids[3],
                      articles[3].published_at, articles[2].published_at, ids[0],
                      dict.fromkeys(ids, 0.9))
    refute = RebuttalEntry(
        id="E01", type="refute", title=f"Entry title {SCRIPT}", claims=["the claim"],
        response={"en": "The facts."}, status="approved", reviewed_by="Head of Rapid Response",
        reviewed_at="2026-11-01", expires_at="2027-11-01",
        evidence=[Evidence(title=f"Evidence {IMG}", url="https://moh.example/r",
                           publisher="Ministry", date="2026-11-01")],
    )
    with connection(settings.db) as con:
        writes.upsert_sources(con, outlets, "run-a")
        writes.upsert_articles(con, articles, "run-a")
        writes.replace_narratives(con, [story], {"nar1": np.ones(4, np.float32) / 2},
                                  "model", "run-b")
        writes.replace_rebuttals(con, [refute], "run-b")
        writes.replace_matches(con, [Match("nar1", "E01", refute.version, 0.93, 1, True)],
                               "run-c")
    return settings


def add_chart_payloads(settings) -> None:
    """Payloads where chart labels come from: a country, a language, a scope, a label."""
    week = parse_week(WEEK, settings.timezone)
    monday = week.start + timedelta(hours=12)
    outlet = Outlet("odd", f"Odd {ATTR}", "https://odd.example/", ATTR, ("xx",), ATTR, "blog", ())
    articles = [
        article(50 + k, "odd", monday + timedelta(hours=k), f"Odd | piped {IMG} {k}",
                language=f"</text><script>alert({k})</script>")
        for k in range(3)
    ]
    with connection(settings.db) as con:
        writes.upsert_sources(con, [outlet], "run-d")
        writes.upsert_articles(con, articles, "run-d")
        current = [
            Narrative("nar1", *row)
            for row in con.execute(
                "SELECT label, keywords, list(article_id ORDER BY article_id), origin_article_id,"
                " first_seen_at, last_seen_at, representative_article_id FROM narratives"
                " JOIN narrative_members USING (narrative_id) GROUP BY ALL"
            ).fetchall()
        ]
        odd = narrative("nar2", f"Chart {ATTR} | {SCRIPT} label", articles)
        writes.replace_narratives(
            con, current + [odd],
            {"nar1": np.ones(4, np.float32) / 2, "nar2": np.ones(4, np.float32) / 2},
            "model", "run-d",
        )


def build_world(tmp_path: Path):
    """A week with every case the brief distinguishes.

    - `gapnar`: 6 articles this week, 1 last week, matched to a draft entry only (a gap);
    - `answered`: 5 this week, 5 last week, matched to an approved refute entry (E01, reviewed
      on the Tuesday of the brief's week, so the week before counts it as unanswered);
    - `expired`: 5 this week, matched to an approved entry that expired (a gap, "expired");
    - `promo`: 2 this week, matched to an approved promote entry (favourable coverage);
    - `gone`: 4 last week, none this week;
    - outlets: `home` and `abroad` publish, `quiet` published last week only, `broken` failed
      2 of 3 requests in the latest run; one article is in no narrative, one is a copy.
    """
    settings = settings_for(tmp_path)
    week = parse_week(WEEK, settings.timezone)
    this = week.start + timedelta(hours=9)
    last = week.shifted(-1).start + timedelta(hours=9)
    outlets = [
        Outlet("home", "Home Daily", "https://home.example/", "VN", ("vi",), "domestic",
               "state", ()),
        Outlet("abroad", "Abroad Times", "https://abroad.example/", "GB", ("en",), "foreign",
               "private", ()),
        Outlet("quiet", "Quiet Gazette", "https://quiet.example/", "US", ("en",), "foreign",
               "private", ()),
        Outlet("broken", "Broken Post", "https://broken.example/", "VN", ("vi",), "domestic",
               "private", ()),
    ]
    n = iter(range(1000))

    def some(outlet_ids: list[str], start: datetime, count: int, title: str) -> list[Article]:
        return [
            article(next(n), outlet_ids[k % len(outlet_ids)], start + timedelta(hours=5 * k),
                    f"{title} {k}", language="vi" if outlet_ids[k % len(outlet_ids)] in
                    ("home", "broken") else "en")
            for k in range(count)
        ]

    gap_this = some(["home", "abroad", "broken"], this, 6, "Gap story")
    gap_last = some(["home"], last, 1, "Gap story early")
    ans_this = some(["home", "abroad"], this, 5, "Answered story")
    ans_last = some(["home", "abroad"], last, 5, "Answered story before")
    exp_this = some(["abroad"], this, 5, "Expired story")
    promo_this = some(["home"], this, 2, "Promo story")
    gone_last = some(["quiet", "home"], last, 4, "Gone story")
    loner = some(["home"], this + timedelta(days=3), 1, "Lonely story")
    copy = article(999, "abroad", this + timedelta(days=4), "Answered story 0 (wire copy)",
                   duplicate_of=ans_this[0].article_id)
    articles = (gap_this + gap_last + ans_this + ans_last + exp_this + promo_this + gone_last
                + loner + [copy])
    narratives = [
        narrative("gapnar", "Gap story spreads", gap_this + gap_last),
        narrative("answered", "Answered story continues", ans_this + ans_last + [copy]),
        narrative("expired", "Expired story returns", exp_this),
        narrative("promo", "Promo story shines", promo_this),
        narrative("gone", "Gone story fades", gone_last),
    ]
    entries = [
        entry("E01", "refute", "approved", "The answered claim is false", "2026-11-10",
              "2027-06-30"),
        entry("E06", "promote", "approved", "Good news worth telling", "2026-10-01",
              "2027-06-30"),
        entry("E10", "refute", "draft", "A draft answer to the gap story"),
        entry("E11", "clarify", "approved", "An answer that expired", "2025-01-01",
              "2026-01-31"),
    ]
    matches = [
        Match("gapnar", "E10", entries[2].version, 0.91, 1, True),
        Match("answered", "E01", entries[0].version, 0.95, 1, True),
        Match("expired", "E11", entries[3].version, 0.90, 1, True),
        Match("promo", "E06", entries[1].version, 0.92, 1, True),
        Match("gone", "E01", entries[0].version, 0.50, 1, False),
    ]
    fetched = week.end + timedelta(hours=2)
    log = [
        FetchRecord("broken", "https://broken.example/feed", "feed", 200, 100, 5.0, fetched),
        FetchRecord("broken", "https://broken.example/a", "page", 500, 0, 5.0, fetched,
                    "HTTPError 500", "server error"),
        FetchRecord("broken", "https://broken.example/b", "page", None, 0, 5.0, fetched,
                    "Timeout", "timed out"),
        FetchRecord("home", "https://home.example/feed", "feed", 200, 100, 5.0, fetched),
    ]
    with connection(settings.db) as con:
        writes.start_run(con, "run-1", "mediawatch-run", {})
        writes.upsert_sources(con, outlets, "run-1")
        writes.insert_fetch_log(con, log, "run-1")
        writes.upsert_articles(con, articles, "run-1")
        writes.replace_narratives(
            con, narratives, {x.narrative_id: np.ones(4, np.float32) / 2 for x in narratives},
            "test-model", "run-1",
        )
        writes.replace_rebuttals(con, entries, "run-1")
        writes.replace_matches(con, matches, "run-1")
        writes.finish_run(con, "run-1", "completed", {}, {})
    return settings

