"""The acquisition stages run after run against one small outlet whose server misbehaves.

Calls `flows.stages` directly (no Prefect): feeds + sitemap + section -> pages -> extract ->
store -> duplicates, five times on one database, and checks after each run what an analyst
relies on: every failure has a reason in fetch_log, nothing stored is lost or stored twice,
a page that failed for a while is picked up once it answers, an unchanged feed answers 304
and its pages are not asked for again, and a corrected article keeps its first version.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from crawlers.sources import load_sources
from flows import stages
from mediawatch.settings import Settings
from store.db import connection
from tests.crawlers.fixture_server import FixtureServer, Route, _gzip_bomb

REGISTRY = """\
outlets:
  - id: lotus
    name: Lotus Wire Service
    homepage: {base}/lotus/
    country: VN
    languages: [en]
    scope: domestic
    type: wire
    feeds: [{base}/lotus/rss.xml]
    sitemaps: [{base}/lotus/news-sitemap.xml]
    sections: [{base}/lotus/economy/]
    allowed_domains: [127.0.0.1]
    rate_limit: {{requests_per_second: 50}}
"""
STORIES = {
    "a": "Lam Ha reservoir begins operating ahead of the flood season",
    "b": "Ferry to the islands resumes after three weeks of repairs",
    "f": "Rice exporters expect a steady season despite lower prices",
    "g": "Coffee growers in the highlands switch to drip irrigation",
}
SENTENCES = [
    "The provincial department said the work had been planned for two years.",
    "Officials expect the change to affect about {n} thousand households this year.",
    "Local traders told reporters that prices had been stable for several weeks.",
    "A spokesman said further details would be published on the department's website.",
    "Farmers' associations in {n} districts have been consulted on the timetable.",
]


def article_html(key: str, version: int = 1) -> bytes:
    title = STORIES[key]
    body = " ".join(s.format(n=ord(key) + version) for s in SENTENCES)
    correction = "<p>Correction: an earlier version gave the wrong date.</p>" if version > 1 else ""
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        "<meta property='og:type' content='article'>"
        f"<meta property='article:published_time' content='2026-11-1{ord(key) % 9}T08:30:00+07:00'>"
        f"</head><body><article><h1>{title}</h1><p>{title}: {body}</p><p>{body}</p>"
        f"{correction}</article></body></html>"
    ).encode()


def rss(base: str) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{base}{path}</link></item>"
        for title, path in [
            (STORIES["a"], "/lotus/en/2026/11/a-story.html?utm_source=rss"),
            (STORIES["b"], "/lotus/en/2026/11/b-story.html"),
            ("Withdrawn", "/lotus/en/2026/11/withdrawn.html"),
            ("Bomb", "/lotus/en/2026/11/bomb.html"),
            ("Loop", "/lotus/en/2026/11/loop.html"),
            ("Embargoed", "/lotus/private/embargoed.html"),
        ]
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel>{items}</channel></rss>".encode()


@dataclass
class World:
    server: FixtureServer
    settings: Settings
    runs: int = 0

    def route(self, path: str, route: Route) -> None:
        self.server.routes[path] = route

    def run(self) -> dict:
        """One acquisition run, as flows/pipeline.py calls the stages."""
        self.runs += 1
        run_id = f"run-{self.runs}"
        outlets = stages.read_sources(self.settings)
        stages.register_sources(self.settings, run_id, outlets)
        acquired, counts = stages.fetch_feeds(self.settings, run_id, outlets)
        acquired, more = stages.fetch_pages(self.settings, run_id, outlets, acquired)
        counts |= more
        acquired, more = stages.extract_articles(self.settings, run_id, outlets, acquired)
        counts |= more | stages.store_articles(self.settings, run_id, acquired)
        counts |= stages.mark_duplicates(self.settings, run_id)
        return counts | {"run_id": run_id}

    def query(self, sql: str, *params: object) -> list[tuple]:
        with connection(self.settings.db, read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()

    def log(self, run: int) -> dict[str, tuple]:
        rows = self.query(
            "SELECT url, kind, status, error_class, error_message FROM fetch_log WHERE run_id = ?",
            f"run-{run}",
        )
        base = self.server.base
        return {url.replace(base, ""): (kind, status, error, message)
                for url, kind, status, error, message in rows}  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("rerun")
    server = FixtureServer()
    base = server.base
    server.routes.update(
        {
            "/robots.txt": Route(
                body=b"User-agent: *\nDisallow: /lotus/private/\n", content_type="text/plain"
            ),  # fmt: skip
            "/lotus/rss.xml": Route(
                body=rss(base), content_type="application/rss+xml", etag='"feed-1"'
            ),  # fmt: skip
            "/lotus/news-sitemap.xml": Route(
                content_type="application/xml",
                etag='"sitemap-1"',
                body=(
                    "<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
                    f"<url><loc>{base}/lotus/en/2026/11/f-story.html</loc></url></urlset>"
                ).encode(),
            ),
            "/lotus/economy/": Route(
                body=f"<html><body><main><a href='{base}/lotus/en/2026/11/g-story.html'>"
                f"{STORIES['g']}</a></main></body></html>".encode()
            ),
            "/lotus/en/2026/11/a-story.html": Route(body=article_html("a")),
            "/lotus/en/2026/11/b-story.html": Route(status=503, body=b"busy"),
            "/lotus/en/2026/11/f-story.html": Route(body=article_html("f")),
            "/lotus/en/2026/11/g-story.html": Route(body=article_html("g")),
            "/lotus/en/2026/11/bomb.html": _gzip_bomb(5_000_000, "text/html"),
            "/lotus/en/2026/11/loop.html": Route(
                status=302, headers={"Location": "/lotus/en/2026/11/loop.html"}
            ),
        }
    )
    server.start()
    registry = tmp / "sources.yaml"
    registry.write_text(REGISTRY.format(base=base), encoding="utf-8")
    settings = Settings(
        db=tmp / "m.duckdb",
        work_dir=tmp / "work",
        sources=registry,
        request_timeout_s=1.0,
        max_body_bytes=1_000_000,
        crawl_retry_times=0,
        crawl_retry_backoff_s=0.05,
    )
    assert [o.outlet_id for o in load_sources(registry)] == ["lotus"]
    yield World(server, settings)
    server.stop()


@pytest.fixture(scope="module")
def first(world: World) -> dict:
    return world.run()


def stored(world: World) -> dict[str, str]:
    rows = world.query("SELECT canonical_url, content_hash FROM articles")
    return {url.replace(world.server.base, ""): digest for url, digest in rows}


def test_first_run_stores_the_good_pages_and_logs_every_failure_with_its_reason(
    world: World, first: dict
) -> None:
    log = world.log(1)

    assert set(stored(world)) == {
        "/lotus/en/2026/11/a-story.html",  # tracking parameter gone: canonical URL
        "/lotus/en/2026/11/f-story.html",  # from the news sitemap
        "/lotus/en/2026/11/g-story.html",  # from the section page
    }
    assert log["/lotus/en/2026/11/b-story.html"][1:3] == (503, "HTTPError 503")
    assert log["/lotus/en/2026/11/withdrawn.html"][2] == "HTTPError 404"
    assert log["/lotus/en/2026/11/bomb.html"][2] == "TooLarge"
    assert log["/lotus/en/2026/11/loop.html"][2] == "TooManyRedirects"
    assert log["/lotus/private/embargoed.html"][2] == "RobotsForbidden"
    listings = ("/lotus/rss.xml", "/lotus/news-sitemap.xml", "/lotus/economy/")
    assert [log[p][0] for p in listings] == ["feed", "sitemap", "section"]
    assert first["pages_fetched"] == 3 and first["articles_new"] == 3


def test_a_feed_whose_page_failed_for_now_keeps_no_validator_the_sitemap_does(
    world: World, first: dict
) -> None:
    state = dict(world.query("SELECT url, etag FROM feed_state"))

    assert state[world.server.url("/lotus/rss.xml")] is None  # b-story must be listed again
    assert state[world.server.url("/lotus/news-sitemap.xml")] == '"sitemap-1"'


@pytest.fixture(scope="module")
def second(world: World, first: dict) -> dict:
    world.route("/lotus/en/2026/11/b-story.html", Route(body=article_html("b")))
    return world.run()


def test_a_rerun_after_a_failure_picks_up_the_page_and_duplicates_nothing(
    world: World, first: dict, second: dict
) -> None:
    articles = world.query("SELECT count(*), count(DISTINCT canonical_url) FROM articles")

    assert "/lotus/en/2026/11/b-story.html" in stored(world)
    assert articles == [(4, 4)]
    assert world.query("SELECT count(*) FROM article_versions") == [(4,)]
    assert (second["articles_new"], second["articles_changed"]) == (1, 0)
    assert world.log(2)["/lotus/news-sitemap.xml"][1:] == (304, None, "not modified")
    assert world.query(
        "SELECT etag FROM feed_state WHERE url = ?", world.server.url("/lotus/rss.xml")
    ) == [('"feed-1"',)]


@pytest.fixture(scope="module")
def third(world: World, second: dict) -> tuple[dict, dict[str, int]]:
    paths = ["/lotus/en/2026/11/a-story.html", "/lotus/en/2026/11/b-story.html"]
    before = {path: world.server.hit_count(path) for path in paths}
    counts = world.run()
    return counts, {path: world.server.hit_count(path) - before[path] for path in paths}


def test_an_unchanged_feed_answers_304_and_its_pages_are_not_requested_again(
    world: World, third: tuple[dict, dict[str, int]]
) -> None:
    counts, new_hits = third
    log = world.log(3)

    assert log["/lotus/rss.xml"][1:] == (304, None, "not modified")
    assert [kind for kind, *_ in log.values() if kind == "page"] == []
    assert new_hits == {"/lotus/en/2026/11/a-story.html": 0, "/lotus/en/2026/11/b-story.html": 0}
    assert counts["listings_not_modified"] == 2 and counts["pages_fetched"] == 0


@pytest.fixture(scope="module")
def fourth(world: World, third: tuple) -> dict:
    world.route("/lotus/en/2026/11/a-story.html", Route(body=article_html("a", version=2)))
    feed = world.server.routes["/lotus/rss.xml"]
    world.route("/lotus/rss.xml", Route(body=feed.body, content_type=feed.content_type,
                                        etag='"feed-2"'))  # fmt: skip
    return world.run()


def test_a_corrected_article_gets_a_new_version_and_keeps_the_first(
    world: World, first: dict, fourth: dict
) -> None:
    url = world.server.url("/lotus/en/2026/11/a-story.html")
    versions = world.query(
        "SELECT v.text, v.run_id FROM article_versions v JOIN articles a USING (article_id)"
        " WHERE a.canonical_url = ? ORDER BY v.seen_at",
        url,
    )
    [(text, first_run)] = world.query(
        "SELECT text, first_run_id FROM articles WHERE canonical_url = ?", url
    )

    assert [run for _, run in versions] == ["run-1", "run-4"]
    assert "Correction" not in versions[0][0] and "Correction" in versions[1][0]
    assert "Correction" in text and first_run == "run-1"
    assert (fourth["articles_changed"], fourth["articles_new"]) == (1, 0)
    assert world.query("SELECT count(*) FROM articles") == [(4,)]


def test_when_the_outlet_is_down_the_run_goes_on_and_nothing_stored_is_lost(
    world: World, fourth: dict
) -> None:
    before = world.query("SELECT * FROM articles ORDER BY ALL")
    versions = world.query("SELECT count(*) FROM article_versions")
    world.server.stop()

    counts = world.run()

    log = world.log(world.runs)
    assert world.query("SELECT * FROM articles ORDER BY ALL") == before
    assert world.query("SELECT count(*) FROM article_versions") == versions
    assert log["/lotus/rss.xml"][2] == "ConnectionError"
    assert {kind for kind, *_ in log.values()} >= {"feed", "robots"}
    assert all(error for _, _, error, _ in log.values())
    assert counts["articles_new"] == counts["articles_changed"] == 0
