"""The meaning stages on odd input: never a crash, never a silent drop (counted in the summary)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows import stages
from mediawatch.records import Article, content_hash
from mediawatch.settings import Settings
from store import writes
from store.db import connection

NOW = datetime.now(UTC).replace(microsecond=0)

TEXTS = {
    "ship-1": (
        "Survey ship enters Vietnam's exclusive economic zone",
        "A Chinese survey ship entered Vietnam's exclusive economic zone near Vanguard "
        "Bank, escorted by coast guard vessels, officials in Hanoi said.",
        "en",
    ),
    "ship-2": (
        "Chinese survey vessel spotted near Vanguard Bank",
        "The survey vessel and its coast guard escorts were seen near Vanguard Bank "
        "inside Vietnam's exclusive economic zone, the foreign ministry said.",
        "en",
    ),
    "empty": ("Headline with no text", "", "en"),
    "long": ("Rice exports hit a record", "Vietnam's rice exports reached a record. " * 3000, "en"),
    "thai": ("ข่าว", "ภาษาไทยเป็นภาษาที่ใช้ในประเทศไทย " * 20, None),
    "mixed": (
        "Trade talks in Geneva",
        "Officials from both countries met in Geneva to discuss trade and tariffs.\n"
        "Đoạn này được viết hoàn toàn bằng tiếng Việt về kinh tế và thương mại của "
        "đất nước.",
        "en",
    ),
}


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    settings = Settings(db=tmp_path_factory.mktemp("db") / "m.duckdb")
    articles = [
        Article(
            article_id=key,
            outlet_id="o1",
            url=f"https://o1.example/{key}",
            canonical_url=f"https://o1.example/{key}",
            title=title,
            text=text,
            published_at=NOW - timedelta(hours=k),
            language=lang,
            byline=None,
            content_hash=content_hash(title, text),
            fetched_at=NOW,
        )
        for k, (key, (title, text, lang)) in enumerate(TEXTS.items())
    ]
    with connection(settings.db) as con:
        writes.upsert_articles(con, articles, "run-1")
    counts = {}
    for stage in (
        stages.identify_languages,
        stages.enrich_articles,
        stages.embed_articles,
        stages.build_narratives,
    ):
        counts |= stage(settings, "run-1")
    again = stages.enrich_articles(settings, "run-2")
    with connection(settings.db) as con:
        tables = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("enrichments", "entities", "narrative_trends", "narrative_pickup")
        }
    return counts, again, tables


def test_odd_articles_are_enriched_and_counted(summary):
    counts, again, tables = summary
    assert counts["enriched"] == len(TEXTS) and tables["enrichments"] == len(TEXTS)
    assert counts["enrich_empty"] == 1
    assert counts["enrich_very_long"] == 1
    assert counts["enrich_mixed_language"] == 1
    assert counts["enrich_unsupported_language"] == 1  # Thai: no spaCy tokenizer shipped
    assert tables["entities"] > 0
    assert again["enriched"] == 0 and again["enrich_cached"] == len(TEXTS)  # nothing twice


def test_clustering_counts_what_it_leaves_out(summary):
    counts, _again, tables = summary
    assert counts["embedded"] == len(TEXTS)
    assert counts["cluster_skipped_empty"] == 1
    assert counts["narratives"] >= 1
    assert tables["narrative_trends"] > 0 and tables["narrative_pickup"] > 0
