"""Extraction: the article's own text and metadata, without the page's chrome."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawlers.extract import ExtractionError, extract_html, extract_page
from mediawatch.records import FeedItem, Page, content_hash, stable_id
from tests.crawlers.fixture_server import SITE

BASE = "http://127.0.0.1:8000"
EN_ARTICLE = "/lotus/en/2026/11/lam-ha-reservoir-opens.html"
VI_ARTICLE = "/lotus/vi/2026/11/ho-chua-lam-ha-van-hanh.html"
RICE_FEATURE = "/harbour/features/salt-tolerant-rice.html"
VN = timezone(timedelta(hours=7))


def html_of(path: str) -> bytes:
    return (SITE / path.lstrip("/")).read_bytes().replace(b"{{BASE}}", BASE.encode())


def hint(**fields: object) -> FeedItem:
    values: dict = {
        "outlet_id": "harbour",
        "feed_url": BASE + "/harbour/atom.xml",
        "url": BASE + RICE_FEATURE,
        "title": "In the delta, farmers bet on rice that can live with salt",
        "summary": "Each dry season the sea pushes further up the rivers of the southern delta.",
        "published_at": datetime(2026, 11, 19, 3, 0, tzinfo=UTC),
        "author": "Amelia Okafor",
        "language": "en-GB",
    }
    values.update(fields)
    return FeedItem(**values)


def test_article_title_text_date_byline_language_and_canonical_are_extracted() -> None:
    article = extract_html(html_of(EN_ARTICLE), BASE + EN_ARTICLE + "?utm_source=rss")

    assert article.title == "Lam Ha reservoir begins operating ahead of the flood season"
    assert article.text.startswith("The Lam Ha reservoir in the central province of Song Lam")
    assert article.text.endswith("every morning during the season.")
    assert article.published_at == datetime(2026, 11, 17, 1, 30, tzinfo=UTC)  # 08:30 +07:00
    assert article.byline == "Tran Minh Chau"
    assert article.language == "en"
    assert article.canonical_url == BASE + EN_ARTICLE
    assert (article.method, article.date_source) == ("trafilatura", "page")


@pytest.mark.parametrize(
    "chrome",
    [
        "Politics",  # main menu
        "Search the wire",  # search box
        "Accept all cookies",  # cookie banner
        "Share on Facebook",  # share buttons
        "Dyke repairs finished",  # related stories
        "Who pays for the new houses?",  # reader comments
        "Sign up for our newsletter",  # newsletter box
        "All rights reserved",  # footer
        "Privacy policy",  # footer links
    ],
)
def test_menus_banners_related_links_comments_and_footer_are_stripped(chrome: str) -> None:
    article = extract_html(html_of(EN_ARTICLE), BASE + EN_ARTICLE)

    assert chrome not in article.text


def test_headline_is_not_repeated_as_the_first_line_of_the_text() -> None:
    article = extract_html(html_of(EN_ARTICLE), BASE + EN_ARTICLE)

    assert not article.text.startswith(article.title)


def test_vietnamese_article_keeps_its_diacritics_and_language() -> None:
    article = extract_html(html_of(VI_ARTICLE), BASE + VI_ARTICLE)

    assert article.title == "Hồ chứa Lâm Hà đi vào vận hành trước mùa lũ"
    assert "Bà Nguyễn Thị Hoa, Phó Giám đốc Sở" in article.text
    assert "Tin liên quan" not in article.text and "Quảng cáo" not in article.text
    assert article.language == "vi"
    assert article.byline == "Trần Minh Châu"
    assert article.published_at == datetime(2026, 11, 17, 0, 45, tzinfo=UTC)


def test_legacy_windows_1258_page_behind_a_lying_header_is_decoded() -> None:
    path = "/lotus/vi/legacy/pha-hoat-dong-tro-lai.html"

    article = extract_html(html_of(path), BASE + path, content_type="text/html; charset=utf-8")

    assert article.title == "Phà ra đảo hoạt động trở lại sau khi sửa chữa"
    assert "Người dân trên đảo đã phải đi thuyền nhỏ" in article.text
    assert unicodedata.is_normalized("NFC", article.text)


def test_feed_date_and_author_fill_in_when_the_page_has_none() -> None:
    article = extract_html(html_of(RICE_FEATURE), BASE + RICE_FEATURE, hint())

    assert article.published_at == datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
    assert article.date_source == "feed"
    assert article.byline == "Amelia Okafor"


def test_page_date_wins_over_the_feed_date() -> None:
    feed_says = hint(published_at=datetime(2026, 11, 20, 12, 0, tzinfo=UTC))

    article = extract_html(html_of(EN_ARTICLE), BASE + EN_ARTICLE, feed_says)

    assert article.published_at == datetime(2026, 11, 17, 1, 30, tzinfo=UTC)


def test_page_day_without_time_takes_the_feed_time_of_that_day() -> None:
    html = ARTICLE_SHELL.format(
        meta='<meta property="article:published_time" content="2026-11-19">'
    )
    feed_says = hint(published_at=datetime(2026, 11, 19, 3, 0, tzinfo=UTC))

    article = extract_html(html, BASE + "/story", feed_says)

    assert (article.published_at, article.date_source) == (feed_says.published_at, "page+feed")


def test_page_time_without_zone_is_read_in_the_given_zone() -> None:
    html = ARTICLE_SHELL.format(
        meta='<meta property="article:published_time" content="2026-11-19T09:15:00">'
    )

    article = extract_html(html, BASE + "/story", naive_tz=VN)

    assert article.published_at == datetime(2026, 11, 19, 2, 15, tzinfo=UTC)
    assert article.published_at.tzinfo is UTC


def test_untrusted_canonical_on_another_site_is_ignored() -> None:
    html = ARTICLE_SHELL.format(meta='<link rel="canonical" href="https://aggregator.example/x">')

    article = extract_html(html, BASE + "/story?utm_campaign=share#top")

    assert article.canonical_url == BASE + "/story"


def test_relative_canonical_with_tracking_parameters_is_resolved_and_cleaned() -> None:
    article = extract_html(html_of(RICE_FEATURE), BASE + RICE_FEATURE + "?ref_src=twsrc")

    assert article.canonical_url == BASE + RICE_FEATURE


def test_index_page_without_an_article_raises_with_a_reason() -> None:
    with pytest.raises(ExtractionError) as caught:
        extract_html(html_of("/lotus/tag/reservoirs.html"), BASE + "/lotus/tag/reservoirs.html")

    assert "not an article" in caught.value.reason


def test_page_whose_article_element_is_empty_has_no_article() -> None:
    path = "/harbour/live/weekend-traffic.html"
    listed = hint(
        title="Live: weekend traffic around the harbour",
        summary="Live: weekend traffic around the harbour",
    )

    with pytest.raises(ExtractionError) as caught:
        extract_html(html_of(path), BASE + path, listed)

    # neither the newsletter box nor the related links, nor the headline repeated as text
    assert "<article> element is empty" in caught.value.reason


def test_site_name_in_og_title_is_not_taken_for_the_headline() -> None:
    html = ARTICLE_SHELL.format(
        meta='<meta property="og:title" content="Harbour Media">'
        '<meta property="og:site_name" content="Harbour Media">'
    ).replace("<title>Ferry services resume</title>", "<title>Harbour Media</title>")

    assert extract_html(html, BASE + "/story").title == "Ferry services resume"


def test_site_name_appended_to_the_title_is_trimmed() -> None:
    html = ARTICLE_SHELL.format(
        meta='<meta property="og:title" content="Ferry services resume | Harbour Media">'
    ).replace(
        "<title>Ferry services resume</title>",
        "<title>Ferry services resume | Harbour Media</title>",
    )

    assert extract_html(html, BASE + "/story").title == "Ferry services resume"


def test_feed_summary_is_the_last_resort_for_a_page_the_feed_lists() -> None:
    listed = hint(summary="Breeders say the new rice survives two weeks in brackish water.")

    article = extract_html(html_of("/lotus/tag/reservoirs.html"), BASE + "/lotus/x", listed)

    assert article.text == listed.summary and article.method == "feed-summary"


def test_short_article_declared_as_such_falls_back_to_its_description() -> None:
    html = """<html lang="en"><head><title>Brief</title>
      <meta property="og:type" content="article">
      <meta name="description" content="The morning ferry to the islands runs again after repairs.">
      </head><body><nav><a href="/">Home</a></nav><div id="app"></div></body></html>"""

    article = extract_html(html, BASE + "/brief")

    assert article.method == "description"
    assert article.text == "The morning ferry to the islands runs again after repairs."


def test_decomposed_vietnamese_is_stored_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "Nông dân đồng bằng thử giống lúa chịu mặn")
    html = ARTICLE_SHELL.format(meta="").replace("Ferry services resume", decomposed)

    article = extract_html(html, BASE + "/story")

    assert article.title == "Nông dân đồng bằng thử giống lúa chịu mặn"
    assert unicodedata.is_normalized("NFC", article.title)


def test_extract_page_builds_an_article_with_stable_id_and_content_hash() -> None:
    fetched = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    page = Page(
        outlet_id="lotus",
        url=BASE + EN_ARTICLE + "?utm_source=rss",
        final_url=BASE + EN_ARTICLE + "?utm_source=rss",
        status=200,
        body=html_of(EN_ARTICLE),
        content_type="text/html; charset=utf-8",
        fetched_at=fetched,
    )

    article = extract_page(page)

    assert article is not None
    assert article.article_id == stable_id(BASE + EN_ARTICLE)
    assert article.content_hash == content_hash(article.title, article.text)
    assert (article.outlet_id, article.fetched_at, article.duplicate_of) == ("lotus", fetched, None)


def test_extract_page_returns_none_for_a_page_without_an_article() -> None:
    page = Page(
        outlet_id="lotus",
        url=BASE + "/lotus/tag/reservoirs.html",
        final_url=BASE + "/lotus/tag/reservoirs.html",
        status=200,
        body=html_of("/lotus/tag/reservoirs.html"),
        content_type="text/html",
        fetched_at=datetime.now(UTC),
    )

    assert extract_page(page) is None


ARTICLE_SHELL = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Ferry services resume</title>{meta}</head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Ferry services resume</h1>
<p>The morning ferry to the islands is running again after two weeks of repairs to its engine
and hull, the harbour office said on Thursday.</p>
<p>Four crossings a day are planned, the first leaving at six. Islanders used small boats while
the ferry was out of service, and fares are unchanged.</p>
</article><footer>© Harbour Media</footer></body></html>"""


class _Doc:
    """A stand-in for trafilatura's document."""

    def __init__(self, text: str):
        self.text = text
        self.title = "Ferry services resume"
        self.sitename = self.author = self.date = self.url = None


@pytest.mark.parametrize(
    ("precision", "balanced", "method"),
    [
        ("Short. " * 20, "Longer and complete. " * 30, "balanced"),  # precision lost half
        ("Short. " * 20, "Short. " * 30, "trafilatura"),  # balanced not twice as long
        ("Long enough. " * 200, "Much longer. " * 800, "trafilatura"),  # no second pass
    ],
)
def test_short_precision_text_gets_a_balanced_second_opinion_that_wins_only_if_twice_as_long(
    monkeypatch: pytest.MonkeyPatch, precision: str, balanced: str, method: str
) -> None:
    import crawlers.extract as extract

    calls: list[str] = []

    def fake(html: str, url: str, *, mode: str) -> _Doc:
        calls.append(mode)
        return _Doc(precision.strip() if mode == "precision" else balanced.strip())

    monkeypatch.setattr(extract, "_trafilatura", fake)
    html = ARTICLE_SHELL.format(meta="").replace("</article>", balanced * 2 + "</article>")

    article = extract_html(html, BASE + "/story")

    assert article.method == method
    assert calls == (["precision"] if len(precision) >= 2000 else ["precision", "balanced"])


def test_second_pass_is_skipped_when_the_page_has_too_little_text_for_it_to_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import crawlers.extract as extract

    calls: list[str] = []
    original = extract._trafilatura

    def counting(html: str, url: str, *, mode: str):  # noqa: ANN202
        calls.append(mode)
        return original(html, url, mode=mode)

    monkeypatch.setattr(extract, "_trafilatura", counting)

    extract_html(html_of(EN_ARTICLE), BASE + EN_ARTICLE)

    assert calls == ["precision"]  # the page's whole text is under twice the article


def test_article_rendered_by_script_is_read_from_its_json_ld_body() -> None:
    body = "The morning ferry to the islands runs again after three weeks of repairs. " * 4
    html = (
        '<html lang="en"><head><title>Ferry back</title><script type="application/ld+json">'
        + json.dumps({"@type": "NewsArticle", "headline": "Ferry back", "articleBody": body})
        + '</script></head><body><div id="app"></div></body></html>'
    )

    article = extract_html(html, BASE + "/ferry")

    assert article.text == body.strip()
    # trafilatura's recall mode and baseline read articleBody themselves; ours is the last net
    assert article.method in ("recall", "baseline", "json-ld")


def test_the_second_pass_does_not_turn_an_index_page_into_an_article(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import crawlers.extract as extract

    def fake(html: str, url: str, *, mode: str) -> _Doc:
        return _Doc("Short teaser. " * 10 if mode == "precision" else "Menu item link. " * 200)

    monkeypatch.setattr(extract, "_trafilatura", fake)
    index = "<html><body><div>" + "<p>Menu item link.</p>" * 400 + "</div></body></html>"

    with pytest.raises(ExtractionError, match="not an article"):
        extract_html(index, BASE + "/economy/")
    # the same page listed by a feed as an article may be rescued
    assert extract_html(index, BASE + "/economy/", hint()).method == "balanced"
