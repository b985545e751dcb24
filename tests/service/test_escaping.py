"""Hostile text in the store and in queries is shown as text, never run; links stay http(s)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import FORMULA_TITLE, HOSTILE_TITLE, HOSTILE_URL, store_digest

HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def hostile(hostile_store):
    from service.app import create_app

    settings, narrative_id = hostile_store
    before = store_digest(Path(settings.db))
    with TestClient(create_app(settings)) as c:
        yield c, narrative_id
    assert store_digest(Path(settings.db)) == before


def _no_live_markup(html: str) -> None:
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<svg onload" not in html
    assert "<iframe" not in html
    assert 'href="javascript:' not in html


def test_hostile_titles_and_labels_are_escaped_on_every_page(hostile):
    c, narrative_id = hostile
    pages = [
        c.get("/", headers=HTML),
        c.get(f"/narratives/{narrative_id}", headers=HTML),
        c.get("/search", params={"q": "alert title script"}, headers=HTML),
    ]
    for page in pages:
        assert page.status_code == 200
        _no_live_markup(page.text)
    detail = pages[1].text
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in detail
    assert "&lt;svg onload=alert(&#39;label&#39;)&gt; label" in detail
    assert pages[2].text.count("&lt;script&gt;alert(&#39;title&#39;)") >= 1  # found by words
    assert "Content-Security-Policy" in pages[0].headers
    assert "script-src 'self'" in pages[0].headers["Content-Security-Policy"]


def test_json_keeps_the_text_as_it_is(hostile):
    c, narrative_id = hostile
    detail = c.get(f"/api/narratives/{narrative_id}").json()
    titles = {a["title"] for a in detail["articles"]}
    assert HOSTILE_TITLE in titles
    [bad] = [a for a in detail["articles"] if a["title"] == HOSTILE_TITLE]
    assert bad["url"] == HOSTILE_URL  # data, not a link: the page decides what to link


def test_hostile_queries_are_reflected_escaped(hostile):
    c, _ = hostile
    q = "\"><script>alert('q')</script>"
    for page in (
        c.get("/search", params={"q": q}, headers=HTML),
        c.get("/", params={"topic": q}, headers=HTML),
        c.post("/match", data={"text": q}, headers=HTML),
    ):
        assert page.status_code == 200
        assert "<script>alert('q')" not in page.text
        assert "&lt;script&gt;alert(&#39;q&#39;)" in page.text


def test_bad_filters_on_pages_are_422_pages(hostile):
    c, _ = hostile
    page = c.get("/", params={"lang": "<b>x</b>"}, headers=HTML)
    assert page.status_code == 422 and "Bad filter" in page.text
    assert "<b>x</b>" not in page.text
    assert c.get("/narratives/%3Cscript%3E", headers=HTML).status_code == 404
    huge = c.post("/match", data={"text": "y" * 20_001}, headers=HTML)
    assert huge.status_code == 422


def test_csv_exports_defuse_spreadsheet_formulas(hostile):
    c, narrative_id = hostile
    answer = c.get("/api/export/articles.csv", params={"limit": 100_000})
    rows = {r["article_id"]: r for r in csv.DictReader(io.StringIO(answer.text))}
    assert rows["hostile0000000002"]["title"] == "'" + FORMULA_TITLE
    assert rows["hostile0000000001"]["title"] == HOSTILE_TITLE  # not a formula: unchanged


def test_sql_in_every_parameter_changes_nothing(hostile, hostile_store):
    c, narrative_id = hostile
    settings, _ = hostile_store
    before = store_digest(Path(settings.db))
    sql = "x'); DELETE FROM articles; --"
    assert c.get("/api/search", params={"q": sql, "topic": sql[:100]}).status_code == 200
    assert c.get("/api/narratives", params={"topic": sql}).status_code == 200
    assert c.get("/api/articles", params={"outlet": sql}).status_code == 422
    assert c.post("/api/match", json={"url": sql}).status_code == 404
    assert c.post("/api/match", json={"text": sql}).status_code == 200
    assert c.get("/api/narratives").json()["total"] > 0
    assert store_digest(Path(settings.db)) == before
