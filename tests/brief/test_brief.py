"""The weekly brief: sections, safety against untrusted text, reproducibility, bad weeks."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from brief.render import BriefError, html_to_pdf, offline_fetcher, render_brief, resolve_week
from mediawatch.weeks import WeekError, parse_week
from store.db import StoreError, connection
from tests.brief.stores import (
    CHARTS,
    SECTIONS,
    WEEK,
    add_chart_payloads,
    build_payload_store,
    build_world,
    settings_for,
)


@pytest.fixture
def store_with_payloads(tmp_path):
    """A small store whose titles, outlet names and entries carry markup and script payloads."""
    return build_payload_store(tmp_path)


@pytest.fixture
def world(tmp_path):
    return build_world(tmp_path)


def _files(written) -> dict[str, Path]:
    return {p.suffix[1:]: p for p in written.paths}


class _Elements(HTMLParser):
    """Every start tag and attribute name of a page, to look for active content."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)


def _elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


def _assert_no_active_content(html: str) -> None:
    found = _elements(html)
    assert not {"script", "img", "iframe", "object", "embed", "foreignobject", "link",
                "image", "use"} & set(found.tags)
    assert not [a for a in found.attributes if a[1].startswith("on")]
    hrefs = [v for _, name, v in found.attributes if name in ("href", "src", "xlink:href")]
    assert all(v == "#" or v.startswith(("https://", "http://", "#")) for v in hrefs)
    assert not [v for v in hrefs if v.lower().startswith(("javascript:", "data:"))]


# -- safety ----------------------------------------------------------------------------------


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
    _assert_no_active_content(html)


def test_untrusted_text_cannot_inject_markdown(store_with_payloads):
    written = render_brief(store_with_payloads, week=WEEK)
    md = next(p for p in written.paths if p.suffix == ".md").read_text()
    assert "<script>" not in md
    assert "](javascript:" not in md
    assert "\\[click\\]" in md


def test_chart_labels_from_untrusted_text_are_escaped(store_with_payloads):
    """Narrative labels, countries, languages and scopes end up in SVG text and aria-labels."""
    add_chart_payloads(store_with_payloads)
    files = _files(render_brief(store_with_payloads, week=WEEK))
    html = files["html"].read_text()
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
    assert len(svgs) >= 5
    for svg in svgs:
        _assert_no_active_content(svg)
        assert "<script" not in svg and "<svg onload" not in svg
    _assert_no_active_content(html)
    # the payloads are there, as text
    assert "&lt;/text&gt;&lt;script&gt;alert(0)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;svg onload=alert(1)&gt;" in html
    assert "Chart &#34;&gt;&lt;svg" in html
    md = files["md"].read_text()
    assert not re.search(r"(?<!\\)<", md)  # every < from outside is backslash-escaped
    # a pipe in a label cannot break the Markdown tables it sits in: 1 + 1 + 8 cells
    row = next(line for line in md.splitlines() if line.startswith("| ") and "Chart" in line)
    assert "Chart \"&gt;" not in row and "\\|" in row
    assert len(re.split(r"(?<!\\)\|", row.strip())) - 2 == 10


def test_links_only_leave_by_http(tmp_path):
    from brief.render import md_url, safe_url

    assert safe_url("javascript:alert(1)") == "#"
    assert safe_url("data:text/html,<b>") == "#"
    assert safe_url(" https://ok.example/a ") == "https://ok.example/a"
    assert safe_url("https://a b.example") == "#"
    assert md_url("https://x.example/a)[e](javascript:alert(1)") == (
        "https://x.example/a%29%5Be%5D%28javascript:alert%281%29"
    )


# -- what the brief says ---------------------------------------------------------------------


def test_brief_has_every_section_and_traces_its_runs(store_with_payloads):
    written = render_brief(store_with_payloads, week=WEEK)
    md = next(p for p in written.paths if p.suffix == ".md").read_text()
    for heading in ("## Summary", "## Top narratives", "## New and rising",
                    "## Needs a response", "## Favourable coverage", "## Who carried it",
                    "## Coverage and health", "## Method"):
        assert heading in md
    assert "3 articles from 2 outlets in 1 language; 0 syndicated copies" in md
    assert "Response **E01** (refute, score 0.930)" in md
    assert "Runs read: run-a, run-b, run-c" in md
    with connection(store_with_payloads.db, read_only=True) as con:
        rows = con.execute("SELECT week, format, runs_read FROM briefs ORDER BY format").fetchall()
    assert rows == [(WEEK, "html", ["run-a", "run-b", "run-c"]),
                    (WEEK, "md", ["run-a", "run-b", "run-c"])]


def test_html_has_every_section_and_chart(world):
    html = _files(render_brief(world, week=WEEK, formats=("html",)))["html"].read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    for chart in CHARTS:
        block = html.split(f'<figure id="{chart}">', 1)[1].split("</figure>", 1)[0]
        assert "<svg" in block and 'role="img"' in block and "aria-label=" in block


def test_needs_a_response_ranks_gaps_and_shows_drafts_as_not_usable(world):
    md = _files(render_brief(world, week=WEEK, formats=("md",)))["md"].read_text()
    answered = md.split("### Answered by the library", 1)[1].split("### Gaps", 1)[0]
    gaps = md.split("### Gaps", 1)[1].split("## Favourable coverage", 1)[0]
    favourable = md.split("## Favourable coverage", 1)[1].split("## Who carried it", 1)[0]
    assert "Response **E01** (refute, score 0.950): The answered claim is false" in answered
    assert "Evidence: [Evidence for E01](https://gov.example/e01), Ministry" in answered
    # by weight: the 6-article gap first, then the 5-article one; drafts are not usable
    assert gaps.index("Gap story spreads: 6 articles (+5)") < gaps.index("Expired story returns")
    assert "Not yet usable (draft): E10 (refute, score 0.910)" in gaps
    assert "Not yet usable (expired 2026-01-31): E11 (clarify" in gaps
    assert "E10" not in answered and "E11" not in answered and "E06" not in gaps
    assert "Promote **E06** (score 0.920): Good news worth telling" in favourable
    assert "Promo story" not in gaps  # 2 articles: below the weight of a gap


def test_summary_new_rising_and_gone(world):
    md = _files(render_brief(world, week=WEEK, formats=("md",)))["md"].read_text()
    summary = md.split("## Top narratives", 1)[0]
    assert "19 articles from 3 outlets in 2 languages; 1 syndicated copy counted once; +9" \
        in summary
    assert "4 narratives active (2 new); 2 gaps" in summary
    assert "library coverage 33% of narratives with 5+ articles" in summary
    moved = summary.split("What moved:", 1)[1]
    assert "1. Rising: Gap story spreads: 6 articles (+5 on last week) in 3 outlets; " \
           "no approved response." in moved
    assert "2. New: Expired story returns: 5 articles (+5 on last week) in 1 outlet" in moved
    assert "3. Gone: Gone story fades: 0 articles (-4 on last week)." in moved
    assert "\n4. " not in moved
    rising = md.split("## New and rising", 1)[1].split("## Needs a response", 1)[0]
    assert "**rising**: Gap story spreads (6 articles, +5" in rising
    assert "**new**: Expired story returns" in rising
    assert "Answered story" not in rising


def test_top_narratives_show_reach_origin_and_headlines(world):
    md = _files(render_brief(world, week=WEEK, formats=("md",)))["md"].read_text()
    top = md.split("### 2. Gap story spreads", 1)[1].split("### 3.", 1)[0]
    assert "rising, gap; topic (keywords): gap" in top
    assert "Volume 6 (+5 on last week), 7 in all; last 8 weeks: 0 0 0 0 0 0 1 6" in top
    assert "3 outlets; countries GB, VN; languages en, vi; domestic 67%, foreign 33%" in top
    assert "First seen 2026-11-02 at Home Daily: [Gap story early 0](https://home.example/" in top
    assert top.count("\n- [Gap story") == 3  # one headline per outlet, three at most
    table = md.split("Articles a week (", 1)[1].split("### 1.", 1)[0]
    assert "| 1 | Answered story continues | 0 | 0 | 0 | 0 | 0 | 0 | 5 | 6 |" in table
    assert "| 2 | Gap story spreads | 0 | 0 | 0 | 0 | 0 | 0 | 1 | 6 |" in table


def test_coverage_week_over_week_counts_entries_from_their_review_date(world):
    md = _files(render_brief(world, week=WEEK, formats=("md",)))["md"].read_text()
    table = md.split("Library coverage (", 1)[1].split("### Answered", 1)[0]
    # W45: only `answered` weighed (5 articles) and E01 was reviewed on Tuesday of W46
    assert "| coverage | n/a | n/a | n/a | n/a | n/a | n/a | 0% | 33% |" in table
    assert "| answered / weighted | 0/0 | 0/0 | 0/0 | 0/0 | 0/0 | 0/0 | 0/1 | 1/3 |" in table


def test_health_and_method(world):
    md = _files(render_brief(world, week=WEEK, formats=("md",)))["md"].read_text()
    health = md.split("## Coverage and health", 1)[1].split("## Method", 1)[0]
    assert "Quiet Gazette (`quiet`, US, foreign): 0 articles this week, 2 last week" in health
    assert "Broken Post (`broken`, VN, domestic): 2 articles this week" in health
    assert "2 of 3 requests failed in the latest run (HTTPError 500, Timeout)" in health
    assert "Quiet Gazette" in health and "not fetched in the latest run" in health
    assert "Home Daily" not in health and "Abroad Times" not in health
    method = md.split("## Method", 1)[1]
    assert "Runs read: run-1" in method
    assert "Model: test-model; narrative threshold 0.45; match threshold 0.885" in method
    assert "usable at the week's end 2, expired 1, not yet approved 1, retired 0" in method
    assert "1 syndicated copy (counted once; narrative volume includes them), " \
           "1 article in no narrative" in method
    assert "Dropped, page HTTPError 500: 1" in method and "Dropped, page Timeout: 1" in method
    scope = md.split("| scope |", 1)[1].split("## Coverage", 1)[0]
    assert "| domestic | 0 | 0 | 0 | 0 | 0 | 0 | 6 | 10 |" in scope
    assert "| foreign | 0 | 0 | 0 | 0 | 0 | 0 | 4 | 9 |" in scope


# -- reproducible ----------------------------------------------------------------------------


def test_same_store_and_week_give_the_same_markdown_byte_for_byte(store_with_payloads):
    first = render_brief(store_with_payloads, week=WEEK, formats=("md",)).paths[0].read_bytes()
    second = render_brief(store_with_payloads, week=WEEK, formats=("md",)).paths[0].read_bytes()
    assert first == second


def test_same_store_and_week_give_the_same_html_and_pdf(world, tmp_path):
    pytest.importorskip("weasyprint")
    first = _files(render_brief(world, week=WEEK, formats=("html", "pdf")))
    saved = {k: p.read_bytes() for k, p in first.items()}
    second = _files(render_brief(world, week=WEEK, formats=("html", "pdf")))
    assert {k: p.read_bytes() for k, p in second.items()} == saved
    assert saved["pdf"].startswith(b"%PDF-")
    with connection(world.db, read_only=True) as con:
        formats = con.execute("SELECT format FROM briefs ORDER BY format").fetchall()
    assert formats == [("html",), ("pdf",)]


def test_pdf_engine_fetches_nothing():
    pytest.importorskip("weasyprint")
    fetcher = offline_fetcher()
    pdf = html_to_pdf(
        '<html><head><link rel="stylesheet" href="https://cdn.example/x.css"></head>'
        '<body><img src="https://tracker.example/p.gif"><p>text</p></body></html>',
        fetcher,
    )
    assert pdf.startswith(b"%PDF-")
    assert sorted(fetcher.refused) == ["https://cdn.example/x.css", "https://tracker.example/p.gif"]


# -- bad input -------------------------------------------------------------------------------


def test_week_without_data_gives_a_brief_that_says_so(store_with_payloads):
    written = render_brief(store_with_payloads, week="2025-W10", formats=("md", "html"))
    md, html = (p.read_text() for p in written.paths)
    assert "0 articles from 0 outlets" in md
    assert "No narrative had articles this week." in md
    assert "there is nothing to brief on this week" in md
    assert "there is nothing to brief on this week" in html
    assert "<svg" in html  # the charts are drawn, empty


def test_week_in_the_future_is_refused(store_with_payloads):
    with pytest.raises(WeekError, match="has not started yet"):
        render_brief(store_with_payloads, week="2099-W01")


@pytest.mark.parametrize("week, message", [
    ("2026-47", "is not an ISO week"), ("2026-W54", "has no week 54"), ("", "is not an ISO week"),
    ("2026-W47; DROP TABLE articles", "is not an ISO week"),
])
def test_malformed_week_is_refused(store_with_payloads, week, message):
    with pytest.raises(WeekError, match=message):
        render_brief(store_with_payloads, week=week)


def test_the_current_week_is_allowed_but_the_next_is_not():
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert resolve_week("2026-W48", "Asia/Ho_Chi_Minh", now).label == "2026-W48"
    with pytest.raises(WeekError, match="last complete week is 2026-W47"):
        resolve_week("2026-W49", "Asia/Ho_Chi_Minh", now)


def test_store_without_narratives_gives_a_brief_not_a_traceback(tmp_path):
    settings = settings_for(tmp_path)
    with connection(settings.db):
        pass
    written = render_brief(settings, week=WEEK, formats=("html", "md"))
    assert "No narrative had articles this week." in written.paths[-1].read_text()
    assert "nothing to brief" in written.paths[0].read_text()


def test_missing_database_is_named_and_not_created(tmp_path):
    settings = settings_for(tmp_path)
    with pytest.raises(StoreError, match="does not exist"):
        render_brief(settings, week=WEEK)
    assert not Path(settings.db).exists()


def test_output_folder_that_is_a_file_is_refused(store_with_payloads, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    settings = store_with_payloads.model_copy(update={"briefs_dir": blocker})
    with pytest.raises(BriefError, match="cannot write briefs into"):
        render_brief(settings, week=WEEK)


def test_unknown_format_is_refused(store_with_payloads):
    with pytest.raises(BriefError, match="unknown brief format 'docx'"):
        render_brief(store_with_payloads, week=WEEK, formats=("docx",))


def test_default_week_is_the_last_complete_one(store_with_payloads):
    written = render_brief(store_with_payloads, formats=("md",))
    now = datetime.now(UTC)
    assert parse_week(written.week, "Asia/Ho_Chi_Minh").end <= now

