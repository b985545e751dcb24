"""Enrichment: entities, Vietnamese words, and odd input flagged and counted, never dropped."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nlp.enrich import enrich, summarise
from nlp.keywords import class_tfidf_keywords, tokens
from store import reads, writes
from store.db import connection


def article(article_id, title, text, language):
    return SimpleNamespace(article_id=article_id, title=title, text=text, language=language)


@pytest.fixture(scope="module")
def odd_articles():
    return [
        article("en", "Obama visits Hanoi", "Barack Obama met Vietnam's leaders in Hanoi.", "en"),
        article(
            "vi",
            "Tàu khảo sát Trung Quốc",
            "Tàu khảo sát Trung Quốc tiến vào vùng đặc quyền kinh tế của Việt Nam.",
            "vi",
        ),
        article("empty", "", "", None),
        article("title-only", "Only a headline here", "", "en"),
        article("thai", "ทดสอบ", "ภาษาไทยเป็นภาษาที่ใช้ในประเทศไทย " * 10, "th"),
        article("long", "Long report", "The ministry said trade grew. " * 2000, "en"),
        article(
            "mixed",
            "Trade talks",
            "Officials from both countries met in Geneva to discuss trade and tariffs.\n"
            "Đoạn này được viết hoàn toàn bằng tiếng Việt về kinh tế và thương mại của đất nước.",
            "en",
        ),
        article("nolang", "x", "?? !! 123", None),
        article("nul", "Null\x00byte", "Text with a \x00 NUL byte in Hà Nội.", "en"),
    ]


@pytest.fixture(scope="module")
def enriched(odd_articles):
    return {e.article_id: e for e in enrich(odd_articles)}


def test_every_article_gets_an_enrichment_in_order(odd_articles, enriched):
    assert list(enriched) == [a.article_id for a in odd_articles]


def test_english_entities_and_vietnamese_words_keep_diacritics(enriched):
    assert ("PERSON", "Barack Obama") in enriched["en"].entities
    assert ("GPE", "Hanoi") in enriched["en"].entities
    words = enriched["vi"].words
    assert "khảo sát" in words and "Trung Quốc" in words and "Việt Nam" in words


def test_odd_input_is_flagged_and_counted(enriched):
    assert enriched["empty"].flags == ["empty"]
    assert "empty" in enriched["title-only"].flags and enriched["title-only"].words
    assert "unsupported_language" in enriched["thai"].flags and enriched["thai"].words
    assert "very_long" in enriched["long"].flags
    assert "mixed_language" in enriched["mixed"].flags
    # the English model only reads the English paragraph of a mixed article
    assert all("Đoạn" not in text for _label, text in enriched["mixed"].entities)
    assert "unknown_language" in enriched["nolang"].flags
    counts = summarise(list(enriched.values()))
    assert counts["enriched"] == 9
    assert counts["enrich_empty"] == 2
    assert counts["enrich_very_long"] == 1
    assert counts["enrich_unsupported_language"] == 1
    assert counts["enrich_mixed_language"] == 1


def test_stored_per_article_and_idempotent(tmp_path, enriched):
    found = list(enriched.values())
    hashes = {e.article_id: f"h-{e.article_id}" for e in found}
    with connection(tmp_path / "m.duckdb") as con:
        for _ in range(2):
            writes.replace_enrichments(con, found, hashes, "run-1")
        assert reads.enriched_hashes(con) == hashes
        assert ("PERSON", "Barack Obama", 1) in reads.article_entities(con, "en")
        before = con.execute("SELECT count(*) FROM entities").fetchone()[0]
        assert before == sum(len(e.entities) for e in found)
        flags = dict(con.execute("SELECT article_id, flags FROM enrichments").fetchall())
        assert "very_long" in flags["long"]


def test_vietnamese_keywords_are_segmented_words():
    assert tokens("Xuất khẩu gạo của Việt Nam tăng mạnh", "vi") == [
        "xuất khẩu",
        "gạo",
        "việt nam",
        "tăng",
        "mạnh",
    ]
    docs = [
        [("Xuất khẩu gạo đạt kỷ lục. Xuất khẩu gạo tăng.", "vi")] * 2,
        [("Tàu khảo sát Trung Quốc. Tàu khảo sát gần bãi Tư Chính.", "vi")] * 2,
    ]
    first, second = class_tfidf_keywords(docs)
    assert "xuất khẩu" in first and "gạo" in first
    assert "tàu" in second and "khảo sát" in second


def test_names_found_in_the_lead_are_counted_over_the_whole_text():
    from nlp.enrich import NER_CHARS, pipeline

    lead = "Barack Obama arrived in Hanoi on Monday for talks with Vietnam's leaders. "
    filler = "The talks covered trade, climate and education in some detail. " * 12
    later = "Obama later left Hanoi for Ho Chi Minh City, where Barack Obama met students."
    text = lead + filler + later
    assert text.index(later) > NER_CHARS  # the later mentions are past what the model reads
    (found,) = enrich([article("obama", "Obama in Vietnam", text, "en")])
    assert found.entities[("PERSON", "Barack Obama")] == 2
    assert found.entities[("GPE", "Hanoi")] == 2
    assert len(found.words) > 150  # words: the whole text read, not only the lead
    # the English model runs its entity recogniser only (it has its own embedding layer)
    assert pipeline("en")[0].pipe_names == ["ner"]
