"""The scrapy crawl, in its child process, against the fixture server.

One crawl (module fixture) covers the ordinary outcomes; a few tests run their own small
crawl where the setup differs (rate limit, a crawl cut short).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from crawlers.pages import CrawlOptions, fetch_pages
from mediawatch.records import FeedItem, FetchRecord, Outlet, Page
from mediawatch.settings import Settings
from tests.crawlers.fixture_server import FixtureServer, Route

ARTICLE = "/lotus/en/2026/11/lam-ha-reservoir-opens.html"
FAST = CrawlOptions(retry_times=1, retry_backoff_s=0.1)


def crawl_settings(**overrides: object) -> Settings:
    return Settings(request_timeout_s=1.0, max_body_bytes=1_000_000, **overrides)  # type: ignore[arg-type]


def item(server: FixtureServer, path: str, outlet_id: str = "lotus", **fields: object) -> FeedItem:
    url = path if path.startswith("http") else server.url(path)
    defaults: dict = {"title": f"feed title of {path}", "summary": "", "published_at": None}
    defaults.update(fields)
    return FeedItem(outlet_id=outlet_id, feed_url=server.url("/lotus/rss.xml"), url=url, **defaults)


class Crawl:
    def __init__(
        self,
        requests: list[FeedItem],
        pages: list[Page],
        records: list[FetchRecord],
        seconds: float,
    ):
        self.requests, self.pages, self.records, self.seconds = requests, pages, records, seconds

    def record(self, url: str) -> FetchRecord:
        [found] = [r for r in self.records if r.url == url and r.kind == "page"]
        return found

    def page(self, url: str) -> Page:
        [found] = [p for p in self.pages if p.url == url]
        return found


@pytest.fixture(scope="module")
def crawl(
    outlet_server: FixtureServer,
    outlets: dict[str, Outlet],
    tmp_path_factory: pytest.TempPathFactory,
) -> Crawl:
    requests = [
        item(outlet_server, ARTICLE + "?utm_source=rss", author="Tran Minh Chau"),
        item(outlet_server, "/lotus/vi/2026/11/ho-chua-lam-ha-van-hanh.html"),
        item(outlet_server, "/lotus/private/embargoed.html"),
        item(outlet_server, "/lotus/en/2026/11/withdrawn-ferry-story.html"),
        item(outlet_server, "/lotus/files/annual-report-2026.pdf"),
        item(outlet_server, "/lotus/en/slow-page.html"),
        item(outlet_server, "/lotus/en/flaky.html"),
        item(outlet_server, "/lotus/en/always-503.html"),
        item(outlet_server, "/lotus/en/old-address.html"),
        item(outlet_server, "/lotus/en/moved-offsite.html"),
        item(outlet_server, outlet_server.base.replace("127.0.0.1", "localhost") + "/lotus/x.html"),
        item(outlet_server, "http://127.0.0.1:1/closed.html"),
        item(outlet_server, "/harbour/features/salt-tolerant-rice.html", outlet_id="harbour"),
        item(outlet_server, "/nowhere.html", outlet_id="not-in-registry"),
        item(outlet_server, ARTICLE + "?utm_source=rss"),  # listed twice: fetched once
    ]
    started = time.monotonic()
    pages, records = fetch_pages(
        requests,
        [outlets["lotus"], outlets["harbour"]],
        settings=crawl_settings(),
        work_dir=tmp_path_factory.mktemp("crawl"),
        options=FAST,
    )
    return Crawl(requests, pages, records, time.monotonic() - started)


def test_crawl_fetches_article_pages_and_keeps_their_feed_hints(
    crawl: Crawl, outlet_server: FixtureServer
) -> None:
    url = outlet_server.url(ARTICLE + "?utm_source=rss")
    page = crawl.page(url)

    assert page.status == 200 and page.outlet_id == "lotus"
    assert b"Lam Ha reservoir" in page.body
    assert page.content_type.startswith("text/html")
    assert page.feed_item is not None and page.feed_item.author == "Tran Minh Chau"
    assert crawl.record(url).ok and crawl.record(url).bytes == len(page.body)
    assert crawl.page(outlet_server.url("/harbour/features/salt-tolerant-rice.html")).outlet_id == (
        "harbour"
    )


def test_crawl_obeys_robots_txt_and_never_requests_disallowed_pages(
    crawl: Crawl, outlet_server: FixtureServer
) -> None:
    record = crawl.record(outlet_server.url("/lotus/private/embargoed.html"))

    assert record.error_class == "RobotsForbidden" and record.status is None
    assert "/lotus/private/embargoed.html" not in outlet_server.requested_paths()


def test_robots_txt_fetches_are_in_the_fetch_log_including_failed_ones(
    crawl: Crawl, outlet_server: FixtureServer
) -> None:
    robots = {r.url: (r.status, r.error_class) for r in crawl.records if r.kind == "robots"}

    assert robots == {
        outlet_server.url("/robots.txt"): (200, None),
        "http://127.0.0.1:1/robots.txt": (None, "ConnectionError"),
    }
    assert crawl.records[0].kind == crawl.records[1].kind == "robots"  # they come first


def test_crawl_logs_404_as_http_error(crawl: Crawl, outlet_server: FixtureServer) -> None:
    record = crawl.record(outlet_server.url("/lotus/en/2026/11/withdrawn-ferry-story.html"))

    assert (record.status, record.error_class) == (404, "HTTPError 404")


def test_crawl_logs_non_html_content_and_keeps_no_page(
    crawl: Crawl, outlet_server: FixtureServer
) -> None:
    url = outlet_server.url("/lotus/files/annual-report-2026.pdf")

    assert crawl.record(url).error_class == "NotHTML"
    assert "application/pdf" in (crawl.record(url).error_message or "")
    assert url not in [page.url for page in crawl.pages]


def test_crawl_retries_a_flaky_page_until_it_answers(
    crawl: Crawl, outlet_server: FixtureServer
) -> None:
    assert crawl.record(outlet_server.url("/lotus/en/flaky.html")).ok
    assert outlet_server.hit_count("/lotus/en/flaky.html") == 2


def test_crawl_gives_up_on_a_503_after_its_retries_with_backoff(
    crawl: Crawl, outlet_server: FixtureServer
) -> None:
    record = crawl.record(outlet_server.url("/lotus/en/always-503.html"))
    first, second = outlet_server.hit_times("/lotus/en/always-503.html")

    assert (record.status, record.error_class) == (503, "HTTPError 503")
    assert second - first >= FAST.retry_backoff_s


def test_crawl_times_out_a_page_that_does_not_answer(
    crawl: Crawl, outlet_server: FixtureServer
) -> None:
    assert crawl.record(outlet_server.url("/lotus/en/slow-page.html")).error_class == "Timeout"


def test_crawl_follows_redirects_and_reports_the_final_url(
    crawl: Crawl, outlet_server: FixtureServer
) -> None:
    page = crawl.page(outlet_server.url("/lotus/en/old-address.html"))

    assert page.final_url == outlet_server.url(ARTICLE)


def test_crawl_refuses_offsite_requests_and_offsite_redirects(
    crawl: Crawl, outlet_server: FixtureServer
) -> None:
    offsite = crawl.record(outlet_server.base.replace("127.0.0.1", "localhost") + "/lotus/x.html")
    redirected = crawl.record(outlet_server.url("/lotus/en/moved-offsite.html"))

    assert offsite.error_class == "Offsite" and redirected.error_class == "Offsite"
    assert "/lotus/x.html" not in outlet_server.requested_paths()


def test_crawl_logs_a_refused_connection(crawl: Crawl) -> None:
    assert crawl.record("http://127.0.0.1:1/closed.html").error_class == "ConnectionError"


def test_requests_for_outlets_not_in_the_registry_are_logged_not_fetched(
    crawl: Crawl, outlet_server: FixtureServer
) -> None:
    assert crawl.record(outlet_server.url("/nowhere.html")).error_class == "UnknownOutlet"
    assert "/nowhere.html" not in outlet_server.requested_paths()


def test_every_distinct_request_ends_in_exactly_one_record_in_request_order(crawl: Crawl) -> None:
    page_records = [record for record in crawl.records if record.kind == "page"]

    assert len(page_records) == 14 == len({record.url for record in page_records})
    # in request order, whatever order the crawl finished them in
    assert [r.url for r in page_records] == list(dict.fromkeys(i.url for i in crawl.requests))
    assert all(record.fetched_at.tzinfo is not None for record in crawl.records)


def test_crawl_of_a_dozen_pages_takes_seconds_not_minutes(crawl: Crawl) -> None:
    # child start-up, one timeout retried (2 x 1 s) and backoff: well under 15 s
    assert crawl.seconds < 15


def test_crawl_keeps_to_the_outlet_rate_limit(
    outlet_server: FixtureServer, outlets: dict[str, Outlet], tmp_path: Path
) -> None:
    slow_outlet = replace(outlets["harbour"], outlet_id="slow-harbour", requests_per_second=5.0)
    paths = [f"/harbour/rate/{n}.html" for n in range(4)]

    fetch_pages(
        [item(outlet_server, path, outlet_id="slow-harbour") for path in paths],
        [slow_outlet],
        settings=crawl_settings(),
        work_dir=tmp_path,
        options=FAST,
    )

    times = sorted(t for path in paths for t in outlet_server.hit_times(path))
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert len(times) == 4 and min(gaps) >= 0.9 / slow_outlet.requests_per_second


def test_a_crawl_cut_short_marks_unfinished_requests_as_aborted(
    outlet_server: FixtureServer, outlets: dict[str, Outlet], tmp_path: Path
) -> None:
    pages, records = fetch_pages(
        [item(outlet_server, "/lotus/en/slow-page.html")],
        [outlets["lotus"]],
        settings=crawl_settings(),
        work_dir=tmp_path,
        options=CrawlOptions(crawl_timeout_s=0.2),
    )

    assert pages == []
    assert [record.error_class for record in records] == ["CrawlAborted"]
    assert list(tmp_path.iterdir()) == []  # the run's files are cleaned up


def test_robots_txt_answering_a_server_error_disallows_the_whole_site(
    outlets: dict[str, Outlet], tmp_path: Path
) -> None:
    down = FixtureServer()
    down.routes.update(
        {
            "/robots.txt": Route(status=503, body=b"<html>maintenance</html>"),
            "/story.html": Route(body=b"<html><body><p>A story.</p></body></html>"),
        }
    )
    down.start()
    try:
        _, records = fetch_pages(
            [item(down, "/story.html")],
            [outlets["lotus"]],
            settings=crawl_settings(),
            work_dir=tmp_path,
            options=CrawlOptions(retry_times=0),
        )
    finally:
        down.stop()

    assert [(r.kind, r.error_class) for r in records] == [
        ("robots", "HTTPError 503"),
        ("page", "RobotsForbidden"),
    ]
    assert "/story.html" not in down.requested_paths()
