"""Bad input from the fault routes: each ends in one record with a clear reason, nothing crashes.

Pages go through one crawl (module fixture) in the scrapy child; feeds are read directly.
Malformed XML, lying charsets, 404/500, slowness, oversize and robots.txt are covered in
test_feeds.py and test_pages.py; this file adds what they did not.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from crawlers.extract import ExtractionError, extract_html, extract_pages
from crawlers.feeds import fetch_feed
from crawlers.pages import CrawlOptions, fetch_pages
from mediawatch.records import FeedItem, FetchRecord, Outlet, Page
from mediawatch.settings import Settings
from tests.crawlers.fixture_server import FixtureServer

FAULTS = [
    "/faults/gzip-bomb.html",
    "/faults/loop-a.html",
    "/faults/gone.html",
    "/faults/hang.html",
    "/faults/data.json",
    "/faults/photo.jpg",
    "/faults/empty.html",
    "/faults/mixed-encoding.html",
]
LIMITS = {"timeout_s": 1.0, "max_bytes": 1_000_000, "user_agent": "MediawatchBot/test"}


class Crawl:
    def __init__(self, pages: list[Page], records: list[FetchRecord], seconds: float):
        self.pages, self.records, self.seconds = pages, records, seconds

    def record(self, server: FixtureServer, path: str) -> FetchRecord:
        [found] = [r for r in self.records if r.url == server.url(path) and r.kind == "page"]
        return found


@pytest.fixture(scope="module")
def crawl(
    outlet_server: FixtureServer,
    outlets: dict[str, Outlet],
    tmp_path_factory: pytest.TempPathFactory,
) -> Crawl:
    items = [
        FeedItem(
            "lotus", outlet_server.url("/lotus/rss.xml"), outlet_server.url(path), "", "", None
        )
        for path in FAULTS
    ]
    started = time.monotonic()
    pages, records = fetch_pages(
        items,
        [outlets["lotus"]],
        settings=Settings(request_timeout_s=1.0, max_body_bytes=1_000_000),
        work_dir=tmp_path_factory.mktemp("faults"),
        options=CrawlOptions(retry_times=0),
    )
    return Crawl(pages, records, time.monotonic() - started)


@pytest.mark.parametrize(
    ("path", "error_class", "words"),
    [
        ("/faults/gzip-bomb.html", "TooLarge", "decompress"),
        ("/faults/loop-a.html", "TooManyRedirects", "loop"),
        ("/faults/gone.html", "HTTPError 410", "410 Gone"),
        ("/faults/hang.html", "Timeout", ""),
        ("/faults/data.json", "NotHTML", "application/json"),
        ("/faults/photo.jpg", "NotHTML", "image/jpeg"),
    ],
)
def test_each_bad_page_ends_in_one_record_with_a_clear_reason(
    crawl: Crawl, outlet_server: FixtureServer, path: str, error_class: str, words: str
) -> None:
    record = crawl.record(outlet_server, path)

    assert record.error_class == error_class
    assert words in (record.error_message or "")
    assert outlet_server.url(path) not in [page.url for page in crawl.pages]


def test_a_gzip_bomb_is_refused_while_inflating_not_after(crawl: Crawl) -> None:
    # 20 MB of inflated spaces against a 1 MB cap: refused, and the crawl did not stall
    assert crawl.seconds < 15


def test_a_redirect_loop_is_cut_after_a_few_hops(
    crawl: Crawl, outlet_server: FixtureServer
) -> None:
    hops = outlet_server.hit_count("/faults/loop-a.html") + outlet_server.hit_count(
        "/faults/loop-b.html"
    )
    assert 2 <= hops <= 7


def test_html_with_no_article_and_mixed_encodings_reach_extraction_without_crashing(
    crawl: Crawl, outlet_server: FixtureServer
) -> None:
    pages = [p for p in crawl.pages if p.url.endswith(("empty.html", "mixed-encoding.html"))]

    articles, skipped = extract_pages(pages)

    assert skipped == {outlet_server.url("/faults/empty.html"): "empty page"}
    [mixed] = articles
    assert mixed.title == "Lam Ha reservoir begins operating ahead of the flood season"
    assert "every morning during the season" in mixed.text


def test_a_page_in_two_encodings_at_once_is_still_read() -> None:
    body = (
        "<html><head><meta charset='utf-8'><title>Hồ chứa Lâm Hà</title></head><body><article>"
        "<h1>Hồ chứa Lâm Hà đi vào vận hành</h1><p>"
        + "Nước hồ dâng 1,4 mét trong sáu giờ đầu tiên, theo Sở Tài nguyên nước. " * 5
        + "</p></article></body></html>"
    ).encode() + " – café".encode("cp1252")

    article = extract_html(body, "http://127.0.0.1/lotus/vi/ho-chua.html")

    assert "Nước hồ dâng 1,4 mét" in article.text  # not mojibake


def test_html_with_no_article_raises_a_reason_not_an_empty_article() -> None:
    with pytest.raises(ExtractionError, match="no main text|characters of main text"):
        extract_html(b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "http://x/")


@pytest.mark.parametrize(
    ("path", "error_class"),
    [
        ("/faults/gzip-bomb.xml", "TooLarge"),
        ("/faults/loop.xml", "TooManyRedirects"),
        ("/faults/busy.xml", "HTTPError 503"),
        ("/faults/hang.xml", "Timeout"),
        ("/faults/gone.html", "HTTPError 410"),
    ],
)
def test_each_bad_feed_ends_in_one_record_with_a_clear_reason(
    outlet_server: FixtureServer, outlets: dict[str, Outlet], path: str, error_class: str
) -> None:
    started = time.monotonic()
    items, record = fetch_feed(outlets["lotus"], outlet_server.url(path), **LIMITS)  # type: ignore[arg-type]

    assert items == [] and record.error_class == error_class
    assert record.bytes <= LIMITS["max_bytes"]
    assert time.monotonic() - started < 3  # a hanging server costs the timeout, no more


def test_a_transient_feed_failure_is_retried_with_backoff_and_says_so(
    outlet_server: FixtureServer, outlets: dict[str, Outlet]
) -> None:
    before = outlet_server.hit_count("/faults/busy.xml")

    _, record = fetch_feed(
        outlets["lotus"],
        outlet_server.url("/faults/busy.xml"),
        retry_times=2,
        backoff_s=0.05,
        **LIMITS,  # type: ignore[arg-type]
    )

    assert outlet_server.hit_count("/faults/busy.xml") - before == 3
    assert record.error_class == "HTTPError 503"
    assert "after 3 attempts" in (record.error_message or "")


def test_a_feed_that_is_gone_is_not_retried(
    outlet_server: FixtureServer, outlets: dict[str, Outlet]
) -> None:
    before = outlet_server.hit_count("/faults/gone.html")

    fetch_feed(outlets["lotus"], outlet_server.url("/faults/gone.html"), retry_times=2, **LIMITS)  # type: ignore[arg-type]

    assert outlet_server.hit_count("/faults/gone.html") - before == 1


def test_crawl_cache_for_development_replays_pages_without_asking_the_server(
    outlet_server: FixtureServer, outlets: dict[str, Outlet], tmp_path: Path
) -> None:
    path = "/lotus/vi/2026/11/ho-chua-lam-ha-van-hanh.html"
    item = FeedItem("lotus", outlet_server.url("/lotus/rss.xml"), outlet_server.url(path) + "?c=1",
                    "", "", None)  # fmt: skip
    options = CrawlOptions(retry_times=0, http_cache_dir=tmp_path / "cache")
    settings = Settings(request_timeout_s=1.0)

    first, _ = fetch_pages([item], [outlets["lotus"]], settings=settings, work_dir=tmp_path,
                           options=options)  # fmt: skip
    hits = outlet_server.hit_count(path)
    second, records = fetch_pages([item], [outlets["lotus"]], settings=settings,
                                  work_dir=tmp_path, options=options)  # fmt: skip

    assert outlet_server.hit_count(path) == hits  # the second crawl never reached the server
    assert [p.body for p in second] == [p.body for p in first]
    assert [r.error_class for r in records if r.kind == "page"] == [None]


def test_a_feed_in_utf8_with_windows_1252_pieces_is_read_and_the_mix_logged() -> None:
    from crawlers.feeds import parse_feed

    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><item>'
        "<title>Hồ chứa Lâm Hà đi vào vận hành</title><link>http://a.example/1.html</link>"
        "<description>".encode()
        + "Caf\xe9 \u2013 prix".encode("cp1252")
        + (b"</description></item></channel></rss>")
    )

    parsed = parse_feed(body, outlet_id="lotus", feed_url="http://a.example/rss.xml")

    [item] = parsed.items
    assert item.title == "Hồ chứa Lâm Hà đi vào vận hành" and item.summary == "Café – prix"
    assert parsed.warnings == ["mixed encodings: UTF-8 with pieces in Windows-1252"]
