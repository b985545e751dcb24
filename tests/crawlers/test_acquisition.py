"""The acquisition room end to end: registry -> feeds -> pages -> articles -> duplicates."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from crawlers.dedup import find_duplicates
from crawlers.extract import extract_pages
from crawlers.feeds import fetch_feeds
from crawlers.pages import CrawlOptions, fetch_pages
from crawlers.sources import load_sources
from mediawatch.settings import Settings
from tests.crawlers.fixture_server import FixtureServer


def test_registry_to_deduplicated_articles(
    outlet_server: FixtureServer, registry_file: Path, tmp_path: Path
) -> None:
    settings = Settings(request_timeout_s=2.0)
    outlets = load_sources(registry_file)

    items, feed_records = fetch_feeds(
        outlets,
        timeout_s=settings.request_timeout_s,
        max_bytes=settings.max_body_bytes,
        user_agent=settings.user_agent,
    )
    pages, page_records = fetch_pages(
        items,
        outlets,
        settings=settings,
        work_dir=tmp_path,
        options=CrawlOptions(retry_times=0),
    )
    articles, skipped = extract_pages(pages)
    duplicates = find_duplicates(articles)

    by_url = {article.canonical_url: article for article in articles}
    wire = by_url[outlet_server.url("/lotus/en/2026/11/lam-ha-reservoir-opens.html")]
    copy = by_url[outlet_server.url("/harbour/2026/11/18/song-lam-flood-reservoir.html")]
    assert len(articles) == 4 and skipped == {}
    assert duplicates == {copy.article_id: wire.article_id}
    assert wire.byline == "Tran Minh Chau" and wire.language == "en"
    assert Counter(record.error_class for record in feed_records) == {None: 3, "HTTPError 500": 1}
    assert Counter(r.error_class for r in page_records if r.kind == "page") == {
        None: 4,
        "RobotsForbidden": 1,
        "HTTPError 404": 3,  # the withdrawn story and Paddyfield's two missing pages
        "NotHTML": 1,
    }
