"""Canonical URLs: one address per article, whatever link led to it."""

from __future__ import annotations

import pytest

from crawlers.canonical import canonical_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # case of scheme and host, default port, fragment
        ("HTTP://News.Example.COM:80/world/story#comments", "http://news.example.com/world/story"),
        ("https://news.example.com:443/a", "https://news.example.com/a"),
        ("https://news.example.com:8443/a", "https://news.example.com:8443/a"),
        # tracking parameters go, the rest are sorted
        (
            "https://news.example.com/a?utm_source=rss&utm_medium=feed&id=7&fbclid=XYZ&b=2",
            "https://news.example.com/a?b=2&id=7",
        ),
        (
            "https://news.example.com/a?gclid=1&mc_cid=2&mc_eid=3&_ga=4",
            "https://news.example.com/a",
        ),
        ("https://news.example.com/a?page=2&page=1", "https://news.example.com/a?page=1&page=2"),
        # empty path, dot segments, doubled slashes; a single trailing slash is significant
        ("https://news.example.com", "https://news.example.com/"),
        ("https://news.example.com/a//b/./c/../d", "https://news.example.com/a/b/d"),
        ("https://news.example.com/world/story//", "https://news.example.com/world/story/"),
        ("https://news.example.com/world/story/", "https://news.example.com/world/story/"),
        ("https://news.example.com/world/story", "https://news.example.com/world/story"),
        # one spelling of non-ASCII paths and of percent-escapes
        ("https://news.example.com/tin-tức", "https://news.example.com/tin-t%E1%BB%A9c"),
        ("https://news.example.com/tin-t%e1%bb%a9c", "https://news.example.com/tin-t%E1%BB%A9c"),
        ("https://news.example.com/%7Euser", "https://news.example.com/~user"),
        # credentials never become part of an id
        ("https://editor:secret@news.example.com/a", "https://news.example.com/a"),
    ],
)
def test_urls_are_normalised(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_declared_canonical_on_the_same_site_is_preferred() -> None:
    assert (
        canonical_url("https://m.news.example.com/story/42?utm_source=app", "https://www.news.example.com/story/42/")
        == "https://www.news.example.com/story/42/"
    )  # fmt: skip


def test_relative_declared_canonical_is_resolved_against_the_page() -> None:
    assert (
        canonical_url("https://news.example.com/amp/story/42", "/story/42?utm_campaign=amp")
        == "https://news.example.com/story/42"
    )


def test_declared_canonical_on_another_site_is_ignored() -> None:
    assert (
        canonical_url("https://news.example.com/story/42", "https://aggregator.example/copy/42")
        == "https://news.example.com/story/42"
    )


def test_declared_canonical_on_an_allowed_host_is_accepted() -> None:
    assert (
        canonical_url(
            "https://news.example.com/story/42",
            "https://archive.partner.example/story/42",
            allowed_hosts=["partner.example"],
        )
        == "https://archive.partner.example/story/42"
    )


def test_homepage_declared_as_canonical_of_an_article_is_ignored() -> None:
    # a CMS that declares its homepage everywhere would merge every article into one
    assert canonical_url("https://news.example.com/story/42", "https://news.example.com/") == (
        "https://news.example.com/story/42"
    )


def test_non_http_urls_are_left_alone() -> None:
    assert canonical_url(" mailto:desk@news.example.com ") == "mailto:desk@news.example.com"
