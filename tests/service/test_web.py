"""The web page as a person uses it, in headless Chromium: search, open, copy, filter, match."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.service.conftest import HOSTILE_TITLE, LiveServer

# Set to a folder to (re)write the README's screenshots while the tests run.
SHOTS = os.environ.get("MEDIAWATCH_SCREENSHOTS")


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"console-{name}.png"))


def search_from_header(page, live, text: str) -> None:
    page.goto(live.url + "/")
    box = page.locator("header .quick-search input[name=q]")
    box.fill(text)
    box.press("Enter")
    page.wait_for_selector("#narrative-results")


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("tàu khảo sát nước ngoài lảng vảng gần bãi Ngọc Lan", "E01"),
        ("DengiShield vaccine infertility rumour", "E04"),
        ("tin đồn cấm xuất khẩu gạo", "E02"),
    ],
)
def test_search_in_vietnamese_and_english(page, live, narratives_by_entry, text, entry):
    search_from_header(page, live, text)
    first = page.locator("#narrative-results tbody tr").first
    assert first.get_attribute("data-narrative") == narratives_by_entry[entry]["narrative_id"]
    assert page.locator("#article-results tbody tr").count() > 0
    links = page.locator("#article-results a[target=_blank]")
    assert links.first.get_attribute("rel") == "noopener noreferrer"
    if entry == "E01":
        shot(page, "search")
    assert page.remote_requests == []


def test_open_a_narrative_and_copy_its_response(page, live):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    search_from_header(page, live, "DengiShield vaccine infertility rumour")
    page.locator("#narrative-results tbody tr").first.locator("td.label a").click()
    page.wait_for_selector("#responses")
    assert page.locator("svg.timeline rect.bar").count() > 0
    assert page.locator("#origin table tbody tr").count() > 1
    shot(page, "narrative")
    entry = page.locator("#responses article.entry[data-entry=E04]")
    assert "is-usable" in entry.get_attribute("class")
    button = entry.locator("button.copy").first
    button.click()
    page.wait_for_function("document.body.dataset.lastCopy !== undefined")
    expected = entry.locator("textarea.copy-source").first.input_value()
    assert "Sources:" in expected and "DengiShield" in expected
    assert page.evaluate("window.mediawatchLastCopy") == expected
    assert page.evaluate("navigator.clipboard.readText()") == expected
    assert button.inner_text() == "Copied"
    entry.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -60)")
    shot(page, "response")
    assert page.remote_requests == []


def test_drafts_are_marked_and_copied_with_a_warning(page, live, narratives_by_entry):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    page.goto(f"{live.url}/narratives/{narratives_by_entry['E07']['narrative_id']}")
    entry = page.locator("#responses article.entry[data-entry=E07]")
    assert "is-draft" in entry.get_attribute("class")
    assert "DRAFT" in entry.locator(".badge.draft").first.inner_text()
    button = entry.locator("button.copy").first
    assert button.inner_text() == "Copy draft"
    button.click()
    page.wait_for_function("window.mediawatchLastCopy !== undefined")
    assert page.evaluate("navigator.clipboard.readText()").startswith("[DRAFT")


def test_filter_the_list(page, live):
    page.goto(live.url + "/")
    assert page.locator("table.narratives svg.spark").count() > 3
    everything = page.locator("table.narratives tbody tr").count()
    shot(page, "list")
    page.select_option("select[name=lang]", "zh")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**lang=zh**")
    rows = page.locator("table.narratives tbody tr")
    assert 0 < rows.count() < everything
    for k in range(rows.count()):
        assert rows.nth(k).locator("td").nth(5).inner_text() == "zh"
    page.select_option("select[name=lang]", "")
    page.select_option("select[name=status]", "gap")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**status=gap**")
    gaps = page.locator("table.narratives tbody tr")
    assert gaps.count() > 0
    assert gaps.locator(".badge.gap").count() == gaps.count()
    page.fill("input[name=since]", "2030-01-01")
    page.click("form.filters button[type=submit]")
    assert page.locator("p.empty").inner_text().startswith("No narrative")


def test_match_a_text(page, live):
    page.goto(live.url + "/match")
    page.fill("#match-text", "Tin đồn vắc xin DengiShield gây vô sinh ở phụ nữ")
    page.click("form.match button")
    page.wait_for_selector("#candidates")
    first = page.locator("#candidates article.entry").first
    assert first.get_attribute("data-entry") == "E04"
    shot(page, "match")
    assert page.remote_requests == []


def test_hostile_titles_never_run(page, hostile_store):
    from service.app import create_app

    settings, narrative_id = hostile_store
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with LiveServer(create_app(settings)) as server:
        page.goto(f"{server.url}/narratives/{narrative_id}")
        assert page.locator("h1").inner_text().startswith("<svg onload=")
        row = page.locator("#articles tr", has_text="<script>alert('title')</script>")
        assert row.count() == 1
        assert row.locator("a").count() == 0  # a javascript: URL is not linked
        assert HOSTILE_TITLE in row.inner_text()
        page.goto(f"{server.url}/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        page.goto(f"{server.url}/")
    assert dialogs == []
