"""The HTTP API on the shared demo store: answers, filters, search, matching, exports."""

from __future__ import annotations

import csv
import io
import json

import pytest


def test_openapi_schema_is_served_and_lists_the_routes(client):
    schema = client.get("/api/openapi.json").json()
    for path in [
        "/api/narratives",
        "/api/narratives/{narrative_id}",
        "/api/articles",
        "/api/articles/{article_id}",
        "/api/search",
        "/api/match",
        "/api/export/narratives.{fmt}",
        "/api/export/articles.{fmt}",
    ]:
        assert path in schema["paths"], path
    assert client.get("/docs").status_code == 200  # the local reference page (no CDN)


def test_health_counts_the_store(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok"
    assert health["semantic"] is True
    assert health["narratives"] > 5 and health["articles"] > 100


def test_narrative_list_has_trend_sparkline_and_responses(client):
    page = client.get("/api/narratives", params={"limit": 1000}).json()
    assert page["total"] == len(page["items"]) > 5
    for n in page["items"]:
        assert n["status"] in {"new", "rising", "steady", "fading"}
        assert len(n["weekly"]) == 8
        assert n["articles"] >= 1
        assert not (n["answered"] and n["gap"])
    counts = [n["articles"] for n in page["items"]]
    assert counts == sorted(counts, reverse=True)
    assert any(n["answered"] for n in page["items"]) and any(n["gap"] for n in page["items"])


def test_filters_narrow_the_list(client):
    everything = client.get("/api/narratives", params={"limit": 1000}).json()
    for params in [
        {"lang": "zh"},
        {"country": "fr"},
        {"scope": "foreign"},
        {"outlet": "nanyang"},
        {"topic": "gạo"},
        {"status": "gap"},
        {"status": "answered"},
        {"since": "2026-01-01", "until": "2026-01-31"},
    ]:
        page = client.get("/api/narratives", params=params | {"limit": 1000})
        assert page.status_code == 200, (params, page.text)
        assert page.json()["total"] <= everything["total"], params
    gaps = client.get("/api/narratives", params={"status": "gap"}).json()["items"]
    assert gaps and all(n["gap"] and not n["responses"] for n in gaps)
    zh = client.get("/api/narratives", params={"lang": "zh"}).json()["items"]
    assert zh and all(n["languages"] == ["zh"] for n in zh)
    rice = client.get("/api/narratives", params={"topic": "gạo"}).json()["items"]
    assert any(r["entry_id"] == "E02" for n in rice for r in n["responses"])


@pytest.mark.parametrize(
    "params",
    [
        {"lang": "vietnamese1"},
        {"country": "VNM"},
        {"scope": "galaxy"},
        {"status": "viral"},
        {"since": "yesterday"},
        {"since": "2026-13-01"},
        {"since": "2026-11-20", "until": "2026-11-01"},
        {"limit": "0"},
        {"limit": "abc"},
        {"offset": "-1"},
        {"outlet": "a b"},
        {"topic": "x" * 101},
        {"colour": "red"},
    ],
)
def test_malformed_filters_are_422(client, params):
    answer = client.get("/api/narratives", params=params)
    assert answer.status_code == 422, (params, answer.text)
    assert answer.json()["detail"]


def test_one_narrative_in_full(client, narratives_by_entry):
    n = narratives_by_entry["E04"]
    detail = client.get(f"/api/narratives/{n['narrative_id']}").json()
    assert detail["label"] == n["label"]
    assert detail["timeline"] and detail["outlets"] and detail["countries"]
    assert detail["origin"]["article_id"] == detail["origin_article_id"]
    assert detail["spread"]["outlets_in_order"][0]["hours_after_origin"] == 0.0
    [response] = [r for r in detail["responses"] if r["entry_id"] == "E04"]
    assert response["usable"] and not response["draft"]
    assert response["evidence"] and response["responses"]
    assert "Sources:" in response["responses"][0]["copy_text"]
    assert {a["article_id"] for a in detail["articles"]} >= {detail["origin_article_id"]}


def test_drafts_are_flagged_as_drafts(client, narratives_by_entry):
    n = narratives_by_entry["E07"]  # E07 is a draft in the demo library
    assert [d["entry_id"] for d in n["drafts"]] == ["E07"] and not n["responses"]
    detail = client.get(f"/api/narratives/{n['narrative_id']}").json()
    [draft] = [r for r in detail["responses"] if r["entry_id"] == "E07"]
    assert draft["draft"] and not draft["usable"] and draft["flag"] == "draft"
    assert all(r["copy_text"].startswith("[DRAFT") for r in draft["responses"])


def test_unknown_and_malformed_ids(client):
    assert client.get("/api/narratives/0000000000000000").status_code == 404
    assert client.get("/api/articles/0000000000000000").status_code == 404
    assert client.get("/api/narratives/a%27%20OR%201=1").status_code == 422
    assert client.get("/api/narratives/" + "a" * 65).status_code == 422


def test_articles_list_filters_and_one_article(client, narratives_by_entry):
    n = narratives_by_entry["E01"]
    page = client.get("/api/articles", params={"narrative_id": n["narrative_id"], "limit": 5})
    assert page.status_code == 200
    body = page.json()
    assert body["total"] >= n["articles"] > 0 and len(body["items"]) == 5
    one = client.get(f"/api/articles/{body['items'][0]['article_id']}").json()
    assert one["text"] and one["narrative_id"] == n["narrative_id"]
    vi = client.get("/api/articles", params={"lang": "vi", "limit": 1000}).json()["items"]
    assert vi and {a["language"] for a in vi} == {"vi"}


@pytest.mark.parametrize(
    ("query", "entry"),
    [
        ("tàu khảo sát nước ngoài gần bãi Ngọc Lan", "E01"),
        ("tin đồn vắc xin sốt xuất huyết gây vô sinh", "E04"),
        ("DengiShield vaccine infertility rumour", "E04"),
        ("rice export ban", "E02"),
        ("ngoc lan trawler", "E01"),  # without diacritics
    ],
)
def test_search_finds_the_narrative_in_vietnamese_and_english(
    client, narratives_by_entry, query, entry
):
    result = client.get("/api/search", params={"q": query, "limit": 5}).json()
    assert result["semantic"] is True
    assert result["narratives"][0]["narrative_id"] == narratives_by_entry[entry]["narrative_id"]
    assert result["articles"]
    assert result["articles"][0]["narrative_id"] == narratives_by_entry[entry]["narrative_id"]


def test_search_filters_apply_to_both_sides(client):
    result = client.get("/api/search", params={"q": "rice export ban", "lang": "vi"}).json()
    assert result["articles"] and {a["language"] for a in result["articles"]} == {"vi"}
    foreign = client.get(
        "/api/search", params={"q": "Ngọc Lan", "scope": "foreign", "limit": 20}
    ).json()
    assert all(a["country"] != "VN" for a in foreign["articles"])
    nothing = client.get(
        "/api/search", params={"q": "rice", "since": "2001-01-01", "until": "2001-01-02"}
    ).json()
    assert nothing["narratives"] == [] and nothing["articles"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {"q": "   "},
        {"q": "x" * 2001},
        {"q": "rice", "limit": "1000"},
        {"q": "rice", "lang": "<script>"},
    ],
)
def test_bad_searches_are_422(client, params):
    assert client.get("/api/search", params=params).status_code == 422


def test_injection_in_queries_is_just_text(client, console_settings):
    for q in ["'; DROP TABLE articles; --", "%' OR '1'='1", "<script>alert(1)</script>", "_%_"]:
        answer = client.get("/api/search", params={"q": q})
        assert answer.status_code == 200
        assert answer.json()["query"] == q
        listed = client.get("/api/narratives", params={"topic": q[:100]})
        assert listed.status_code == 200
        assert listed.json()["total"] == 0  # a wildcard is not a wildcard
    assert client.get("/api/narratives").json()["total"] > 0


def test_match_a_text_against_the_library(client):
    answer = client.post("/api/match", json={"text": "Vắc xin DengiShield gây vô sinh ở phụ nữ"})
    assert answer.status_code == 200
    best = answer.json()["candidates"][0]
    assert best["entry_id"] == "E04" and best["usable"] and best["above_threshold"]


def test_match_a_stored_article_by_url(client, narratives_by_entry):
    n = narratives_by_entry["E02"]
    article = client.get(
        "/api/articles", params={"narrative_id": n["narrative_id"], "limit": 1}
    ).json()["items"][0]
    answer = client.post("/api/match", json={"url": article["url"]}).json()
    assert answer["article"]["article_id"] == article["article_id"]
    assert answer["narrative"]["narrative_id"] == n["narrative_id"]
    assert answer["candidates"][0]["entry_id"] == "E02"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"url": "https://nowhere.example/never-stored"}, 404),
        ({}, 422),
        ({"text": "a", "url": "https://x.example/"}, 422),
        ({"text": "   "}, 422),
        ({"text": "x" * 20001}, 422),
        ({"text": "rice", "top_k": 500}, 422),
        ({"text": "rice", "sql": "DROP TABLE rebuttals"}, 422),
    ],
)
def test_bad_match_requests(client, body, status):
    assert client.post("/api/match", json=body).status_code == status


def test_huge_bodies_are_refused_with_413(client):
    answer = client.post(
        "/api/match",
        content=json.dumps({"text": "x" * 400_000}),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 413


def test_exports_csv_and_json(client):
    answer = client.get("/api/export/narratives.csv", params={"lang": "vi"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert rows and {"narrative_id", "label", "status", "weekly", "responses"} <= set(rows[0])
    as_json = client.get("/api/export/narratives.json", params={"lang": "vi"}).json()
    assert [r["narrative_id"] for r in as_json] == [r["narrative_id"] for r in rows]
    articles = client.get("/api/export/articles.csv", params={"country": "FR"})
    assert articles.status_code == 200
    assert {r["country"] for r in csv.DictReader(io.StringIO(articles.text))} == {"FR"}
    search = client.get("/api/export/search.csv", params={"q": "rice export ban"})
    kinds = {r["kind"] for r in csv.DictReader(io.StringIO(search.text))}
    assert kinds == {"narrative", "article"}
    assert client.get("/api/export/narratives.xml").status_code == 422


def test_store_unchanged_by_all_of_this(client, console_settings, demo_digest):
    from pathlib import Path

    from tests.service.conftest import store_digest

    assert store_digest(Path(console_settings.db)) == demo_digest
