"""Feeds: RSS, Atom and JSON Feed read over real HTTP; every failure is a record, not a crash."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from crawlers.feeds import fetch_feed, fetch_feeds
from mediawatch.records import Outlet
from tests.crawlers.fixture_server import FixtureServer

LIMITS = {"timeout_s": 2.0, "max_bytes": 100_000, "user_agent": "MediawatchBot/test"}


def read(outlet: Outlet, server: FixtureServer, path: str, **overrides: object):
    return fetch_feed(outlet, server.url(path), **{**LIMITS, **overrides})  # type: ignore[arg-type]


def test_rss_items_carry_link_title_date_author_and_plain_summary(
    outlet_server: FixtureServer, outlets: dict[str, Outlet]
) -> None:
    items, record = read(outlets["lotus"], outlet_server, "/lotus/rss.xml")

    assert record.ok and record.status == 200 and record.kind == "feed"
    assert record.outlet_id == "lotus" and record.bytes > 0 and record.error_message is None
    assert len(items) == 5
    first = items[0]
    assert first.url == outlet_server.url(
        "/lotus/en/2026/11/lam-ha-reservoir-opens.html?utm_source=rss&utm_medium=feed"
    )
    assert first.title == "Lam Ha reservoir begins operating ahead of the flood season"
    assert first.summary.startswith("The Lam Ha reservoir in Song Lam province")  # no <p>
    assert first.published_at == datetime(2026, 11, 17, 1, 30, tzinfo=UTC)
    assert first.author == "Tran Minh Chau"
    assert first.language == "en-GB"
    assert first.feed_url == outlet_server.url("/lotus/rss.xml")


def test_relative_links_are_resolved_and_dates_converted_to_utc(
    outlet_server: FixtureServer, outlets: dict[str, Outlet]
) -> None:
    items, _ = read(outlets["lotus"], outlet_server, "/lotus/rss.xml")

    vietnamese = items[1]
    assert vietnamese.url == outlet_server.url("/lotus/vi/2026/11/ho-chua-lam-ha-van-hanh.html")
    assert vietnamese.title == "Hồ chứa Lâm Hà đi vào vận hành trước mùa lũ"
    # "Tue, 17 Nov 2026 07:45:00 +0700" is 00:45 UTC
    assert vietnamese.published_at == datetime(2026, 11, 17, 0, 45, tzinfo=UTC)


def test_atom_feed_is_parsed_with_html_titles_unescaped(
    outlet_server: FixtureServer, outlets: dict[str, Outlet]
) -> None:
    items, record = read(outlets["harbour"], outlet_server, "/harbour/atom.xml")

    assert record.ok
    assert [item.title for item in items] == [
        "Vietnam’s Song Lam province switches on flood reservoir as storm season nears",
        "In the delta, farmers bet on rice that can live with salt",
    ]
    assert items[1].url == outlet_server.url("/harbour/features/salt-tolerant-rice.html")
    assert items[1].published_at == datetime(2026, 11, 19, 3, 0, tzinfo=UTC)  # was +01:00
    assert (
        items[1].summary
        == "Each dry season the sea pushes further up the rivers of the southern delta."
    )
    assert items[0].author == "Lotus Wire Service"


def test_json_feed_is_read_and_items_without_url_are_skipped_with_a_warning(
    outlet_server: FixtureServer, outlets: dict[str, Outlet]
) -> None:
    items, record = read(outlets["paddy"], outlet_server, "/paddy/feed.json")

    assert record.ok
    assert "1 item(s) without a usable link skipped" in (record.error_message or "")
    assert [item.url for item in items] == [
        outlet_server.url("/paddy/2026/11/marche-flottant.html"),
        outlet_server.url("/paddy/2026/11/soupe-du-matin.html"),
    ]
    assert items[0].published_at == datetime(2026, 11, 18, 22, 30, tzinfo=UTC)
    assert items[0].author == "Camille Nguyễn"  # the feed's author when the item has none
    assert items[1].author == "Lan Phạm"
    assert items[1].summary == "Chaque matin, la même file d'attente devant la même marmite."
    assert items[0].language == "fr"


def test_malformed_feed_is_read_as_far_as_possible_and_the_problem_logged(
    outlet_server: FixtureServer, outlets: dict[str, Outlet], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="crawlers.feeds"):
        items, record = read(outlets["lotus"], outlet_server, "/broken/malformed.xml")

    assert [item.title for item in items] == [
        "Rice & fish prices steady at Cai Lon market",
        "Ferry to the islands resumes after repairs",
    ]
    assert record.error_class is None  # something usable came back: a warning, not a failure
    assert (record.error_message or "").startswith("malformed feed, 2 item(s) recovered")
    assert "malformed feed" in caplog.text


def test_feed_with_nothing_readable_is_a_malformed_feed_failure(
    outlet_server: FixtureServer, outlets: dict[str, Outlet]
) -> None:
    items, record = read(outlets["lotus"], outlet_server, "/broken/truncated.xml")

    assert items == []
    assert record.error_class == "MalformedFeed"
    assert record.status == 200


def test_html_page_where_the_feed_should_be_is_not_a_feed(
    outlet_server: FixtureServer, outlets: dict[str, Outlet]
) -> None:
    items, record = read(outlets["lotus"], outlet_server, "/broken/homepage.html")

    assert items == [] and record.error_class == "NotAFeed"


def test_utf8_feed_served_and_declared_as_latin1_is_decoded_as_utf8(
    outlet_server: FixtureServer, outlets: dict[str, Outlet]
) -> None:
    items, record = read(outlets["lotus"], outlet_server, "/broken/utf8-labelled-latin1.xml")

    assert [item.title for item in items] == [
        "Hồ chứa Lâm Hà đi vào vận hành trước mùa lũ",
        "Nông dân đồng bằng thử giống lúa chịu mặn",
    ]
    assert record.ok
    assert record.error_message == "declared charset iso-8859-1, decoded as utf-8"


def test_cp1252_feed_declared_as_utf8_is_decoded_and_the_lie_logged(
    outlet_server: FixtureServer, outlets: dict[str, Outlet]
) -> None:
    items, record = read(outlets["lotus"], outlet_server, "/broken/cp1252-labelled-utf8.xml")

    assert items[0].title == "« Déjà l’hiver » : les pêcheurs rentrent tôt"
    assert "la mer était trop forte – même" in items[0].summary
    assert record.ok and "decoded as cp1252" in (record.error_message or "")


def test_http_500_feed_is_logged_and_skipped(
    outlet_server: FixtureServer, outlets: dict[str, Outlet], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="crawlers.feeds"):
        items, record = read(outlets["paddy"], outlet_server, "/broken/500.xml")

    assert items == []
    assert (record.status, record.error_class) == (500, "HTTPError 500")
    assert "HTTPError 500" in caplog.text


def test_missing_feed_is_an_http_404_record(
    outlet_server: FixtureServer, outlets: dict[str, Outlet]
) -> None:
    _, record = read(outlets["lotus"], outlet_server, "/lotus/old-feed.xml")

    assert record.error_class == "HTTPError 404"


def test_slow_feed_times_out_into_a_record(
    outlet_server: FixtureServer, outlets: dict[str, Outlet]
) -> None:
    items, record = read(outlets["lotus"], outlet_server, "/broken/slow.xml", timeout_s=0.3)

    assert items == [] and record.error_class == "Timeout"
    assert record.elapsed_ms < 2_000


@pytest.mark.parametrize("path", ["/broken/huge.xml", "/broken/huge-stream.xml"])
def test_oversized_feed_is_cut_off_whether_or_not_its_length_is_declared(
    outlet_server: FixtureServer, outlets: dict[str, Outlet], path: str
) -> None:
    items, record = read(outlets["lotus"], outlet_server, path, max_bytes=50_000)

    assert items == [] and record.error_class == "TooLarge"
    assert record.bytes <= 50_000


def test_unreachable_server_is_a_connection_error(outlets: dict[str, Outlet]) -> None:
    # port 1 on the loopback: nothing listens there, the connection is refused at once
    items, record = fetch_feed(outlets["lotus"], "http://127.0.0.1:1/rss.xml", **LIMITS)  # type: ignore[arg-type]

    assert items == [] and record.error_class == "ConnectionError" and record.status is None


def test_fetch_feeds_reads_enabled_outlets_in_registry_order(
    outlet_server: FixtureServer, outlets: dict[str, Outlet]
) -> None:
    items, records = fetch_feeds(list(outlets.values()), **LIMITS)  # type: ignore[arg-type]

    # mekong is disabled: its (malformed) feed is never requested
    assert [record.url for record in records] == [
        outlet_server.url("/lotus/rss.xml"),
        outlet_server.url("/harbour/atom.xml"),
        outlet_server.url("/paddy/feed.json"),
        outlet_server.url("/broken/500.xml"),
    ]
    assert [record.error_class for record in records] == [None, None, None, "HTTPError 500"]
    assert [item.outlet_id for item in items] == ["lotus"] * 5 + ["harbour"] * 2 + ["paddy"] * 2
    assert all(item.published_at.tzinfo is UTC for item in items if item.published_at)
