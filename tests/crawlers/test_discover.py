"""Sitemaps (news sitemaps, indexes, gzip) and section pages as sources of article links."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from crawlers.discover import discover, looks_like_article, parse_sitemap, section_links
from mediawatch.records import Outlet
from tests.crawlers.fixture_server import FixtureServer, Route

NOW = datetime.now(UTC)
XML = "application/xml"


def _day(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat(timespec="seconds")


def _urlset(entries: list[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        + "".join(entries)
        + "</urlset>"
    ).encode()


def _news(url: str, days_ago: float, title: str, language: str = "vi") -> str:
    return (
        f"<url><loc>{url}</loc><news:news><news:publication><news:name>Lotus</news:name>"
        f"<news:language>{language}</news:language></news:publication>"
        f"<news:publication_date>{_day(days_ago)}</news:publication_date>"
        f"<news:title>{title}</news:title></news:news></url>"
    )


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureServer]:
    server = FixtureServer()
    base = server.base
    offsite = base.replace("127.0.0.1", "localhost")
    server.routes.update(
        {
            "/robots.txt": Route(
                body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"
            ),
            "/news-sitemap.xml": Route(
                content_type=XML,
                etag='"news-1"',
                body=_urlset(
                    [
                        _news(f"{base}/lotus/vi/2026/11/old-story.html", 30, "Old"),
                        _news(f"{base}/lotus/vi/2026/11/ho-chua-lam-ha.html", 1, "Hồ chứa"),
                        _news(f"{offsite}/lotus/vi/2026/11/elsewhere.html", 1, "Offsite"),
                        _news(f"{base}/lotus/vi/2026/11/stored-already.html", 1, "Known"),
                        _news(f"{base}/lotus/en/2026/11/newest.html", 0.1, "Newest", "en"),
                    ]
                ),
            ),
            "/sitemap-index.xml": Route(
                content_type=XML,
                body=(
                    '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    f"<sitemap><loc>{base}/sitemap-1.xml.gz</loc><lastmod>{_day(1)}</lastmod>"
                    f"</sitemap><sitemap><loc>{base}/sitemap-2019.xml</loc>"
                    f"<lastmod>2019-01-01</lastmod></sitemap>"
                    f"<sitemap><loc>{offsite}/sitemap-x.xml</loc></sitemap></sitemapindex>"
                ).encode(),
            ),
            "/sitemap-1.xml.gz": Route(
                content_type="application/x-gzip",
                body=gzip.compress(
                    _urlset(
                        [
                            f"<url><loc>{base}/lotus/en/2026/11/from-the-index.html</loc>"
                            f"<lastmod>{_day(2)}</lastmod></url>"
                        ]
                    )
                ),
            ),
            "/private/sitemap.xml": Route(content_type=XML, body=_urlset([])),
            "/html-sitemap.xml": Route(body=b"<!DOCTYPE html><html><body>Home</body></html>"),
            "/garbage-sitemap.xml": Route(content_type=XML, body=b"\x00\x01 not xml at all"),
            "/section/economy/": Route(
                body=(
                    "<html><body><header><nav><a href='/lotus/en/2026/11/in-the-menu.html'>"
                    "Menu story</a></nav></header><main><h1>Economy</h1><ul>"
                    "<li><a href='/lotus/en/2026/11/rice-exports-steady.html'>Rice exports"
                    " steady</a></li>"
                    "<li><a href='/lotus/en/markets/coffee-prices-rise-again'>Coffee prices"
                    " rise again</a></li>"
                    "<li><a href='/lotus/tag/rice/'>Rice</a></li>"
                    "<li><a href='/lotus/files/report-2026.pdf'>Report</a></li>"
                    f"<li><a href='{offsite}/lotus/en/2026/11/offsite.html'>Offsite</a></li>"
                    "<li><a href='/section/economy/'>Economy</a></li>"
                    "<li><a href='/lotus/vi/2026/11/stored-already.html#comments'>Known</a></li>"
                    "</ul></main><footer><a href='/about/privacy-policy-page'>Privacy</a>"
                    "</footer></body></html>"
                ).encode()
            ),
        }
    )
    server.start()
    yield server
    server.stop()


def outlet(server: FixtureServer, sitemaps: list[str] = (), sections: list[str] = ()) -> Outlet:
    return Outlet(
        outlet_id="lotus",
        name="Lotus",
        homepage=server.url("/"),
        country="VN",
        languages=("vi", "en"),
        scope="domestic",
        type="wire",
        feeds=(),
        sitemaps=tuple(server.url(s) for s in sitemaps),
        sections=tuple(server.url(s) for s in sections),
        allowed_domains=("127.0.0.1",),
        requests_per_second=50,
    )


def run(server: FixtureServer, **kwargs: object):
    params: dict = {
        "timeout_s": 2.0,
        "max_bytes": 1_000_000,
        "user_agent": "MediawatchBot/test",
        "known_urls": {server.url("/lotus/vi/2026/11/stored-already.html")},
    }
    params.update(kwargs)
    outlets = params.pop("outlets")
    return discover(outlets, **params)


def test_news_sitemap_lists_fresh_allowed_unknown_articles_newest_first(
    site: FixtureServer,
) -> None:
    found = run(site, outlets=[outlet(site, sitemaps=["/news-sitemap.xml"])])

    assert [item.url for item in found.items] == [
        site.url("/lotus/en/2026/11/newest.html"),
        site.url("/lotus/vi/2026/11/ho-chua-lam-ha.html"),
    ]
    first = found.items[1]
    assert (first.title, first.language, first.feed_url) == (
        "Hồ chứa",
        "vi",
        site.url("/news-sitemap.xml"),
    )
    assert first.published_at is not None and abs(first.published_at - (NOW - timedelta(1))) < (
        timedelta(seconds=2)
    )
    [record] = [r for r in found.records if r.kind == "sitemap"]
    assert record.ok and "1 link(s) outside allowed domains skipped" in record.error_message
    assert found.validators == {("lotus", site.url("/news-sitemap.xml")): ('"news-1"', None)}


def test_a_sitemap_answers_304_when_asked_with_its_etag(site: FixtureServer) -> None:
    key = ("lotus", site.url("/news-sitemap.xml"))

    found = run(
        site,
        outlets=[outlet(site, sitemaps=["/news-sitemap.xml"])],
        validators={key: ('"news-1"', None)},
    )

    [record] = [r for r in found.records if r.kind == "sitemap"]
    assert (record.status, record.error_class, record.error_message) == (304, None, "not modified")
    assert found.items == [] and found.validators == {}


def test_sitemap_index_follows_fresh_children_on_allowed_hosts_including_gzip(
    site: FixtureServer,
) -> None:
    found = run(site, outlets=[outlet(site, sitemaps=["/sitemap-index.xml"])])

    assert [item.url for item in found.items] == [site.url("/lotus/en/2026/11/from-the-index.html")]
    assert [r.url for r in found.records if r.kind == "sitemap"] == [
        site.url("/sitemap-index.xml"),
        site.url("/sitemap-1.xml.gz"),
    ]
    assert "/sitemap-2019.xml" not in site.requested_paths()


@pytest.mark.parametrize(
    ("path", "error_class"),
    [
        ("/private/sitemap.xml", "RobotsForbidden"),
        ("/html-sitemap.xml", "NotASitemap"),
        ("/garbage-sitemap.xml", "MalformedSitemap"),
        ("/missing-sitemap.xml", "HTTPError 404"),
    ],
)
def test_bad_sitemaps_end_in_a_record_with_a_reason(
    site: FixtureServer, path: str, error_class: str
) -> None:
    found = run(site, outlets=[outlet(site, sitemaps=[path])])

    [record] = [r for r in found.records if r.kind == "sitemap"]
    assert record.error_class == error_class and found.items == []
    if error_class == "RobotsForbidden":
        assert path not in site.requested_paths()


def test_section_page_yields_its_story_links_not_navigation_files_or_known_pages(
    site: FixtureServer,
) -> None:
    found = run(site, outlets=[outlet(site, sections=["/section/economy/"])])

    assert [(item.url, item.title) for item in found.items] == [
        (site.url("/lotus/en/2026/11/rice-exports-steady.html"), "Rice exports steady"),
        (site.url("/lotus/en/markets/coffee-prices-rise-again"), "Coffee prices rise again"),
    ]
    assert [(r.kind, r.error_class) for r in found.records] == [
        ("robots", None),
        ("section", None),
    ]


def test_links_beyond_the_cap_are_left_for_the_next_run(site: FixtureServer) -> None:
    found = run(site, outlets=[outlet(site, sections=["/section/economy/"])], max_links=1)

    assert len(found.items) == 1
    [record] = [r for r in found.records if r.kind == "section"]
    assert "1 new link(s) beyond 1 left" in (record.error_message or "")


def test_disabled_outlets_and_outlets_without_sitemaps_or_sections_cost_nothing(
    site: FixtureServer,
) -> None:
    before = len(site.requested_paths())
    off = outlet(site, sitemaps=["/news-sitemap.xml"])
    off = Outlet(**{**off.__dict__, "enabled": False})

    found = run(site, outlets=[off, outlet(site)])

    assert found.items == [] and found.records == []
    assert len(site.requested_paths()) == before


def test_parse_sitemap_never_resolves_entities() -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>http://a.example/&x;</loc></url></urlset>"
    )

    parsed = parse_sitemap(hostile)

    assert all("root:" not in entry.url for entry in parsed.entries)


def test_gzip_bomb_sitemap_is_refused_while_inflating() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000 + b"</urlset>")

    parsed = parse_sitemap(bomb, max_bytes=100_000)

    assert parsed.error_class == "TooLarge" and parsed.entries == []


@pytest.mark.parametrize(
    ("url", "article"),
    [
        ("http://a.example/2026/11/17/flood-reservoir.html", True),
        ("http://a.example/news/ho-chua-lam-ha-van-hanh-truoc-mua-lu", True),
        ("http://a.example/story/1234567", True),
        ("http://a.example/economy/", False),
        ("http://a.example/tag/rice-exports-news/", False),
        ("http://a.example/files/annual-report-2026.pdf", False),
        ("http://a.example/", False),
        ("mailto:desk@a.example", False),
    ],
)
def test_article_shaped_urls(url: str, article: bool) -> None:
    assert looks_like_article(url) is article


def test_section_links_skip_menus_and_keep_page_order() -> None:
    html = (
        "<nav><a href='/2026/11/menu-story.html'>x</a></nav>"
        "<div><a href='/2026/11/b-story.html'>B</a><a href='/2026/11/a-story.html'>A</a>"
        "<a href='/2026/11/b-story.html#top'>B again</a></div>"
    )

    assert section_links(html, "http://a.example/economy/") == [
        ("http://a.example/2026/11/b-story.html", "B"),
        ("http://a.example/2026/11/a-story.html", "A"),
    ]
