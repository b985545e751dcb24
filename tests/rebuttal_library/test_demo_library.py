"""The demo library: the entries PLAN.md promises, valid, bilingual and ready to match."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path

import pytest

from rebuttal_library import check_library, load_library
from rebuttal_library.schema import TOPICS

DEMO = Path(__file__).resolve().parents[2] / "rebuttal_library" / "entries"
TODAY = date(2026, 11, 23)

# id -> (type, status), as planned in data/demo/PLAN.md
PLANNED = {
    "E01": ("refute", "approved"),
    "E02": ("refute", "approved"),
    "E03": ("clarify", "approved"),
    "E04": ("refute", "approved"),
    "E05": ("promote", "approved"),
    "E06": ("promote", "approved"),
    "E07": ("clarify", "draft"),
    "E08": ("clarify", "approved"),
    "E09": ("refute", "in_review"),
    "E11": ("refute", "approved"),
    "E12": ("clarify", "approved"),
    "E13": ("promote", "approved"),
    "E15": ("clarify", "approved"),
    "E16": ("promote", "approved"),
    "E17": ("refute", "draft"),
    "E18": ("refute", "retired"),
}
VIETNAMESE_MARKS = set("ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ")


ENGLISH_WORDS = {
    "the",
    "to",
    "of",
    "in",
    "into",
    "a",
    "and",
    "for",
    "as",
    "by",
    "at",
    "on",
    "its",
    "is",
    "were",
}


def is_vietnamese(claim: str) -> bool:
    """Several words with Vietnamese letters (a proper noun alone does not count)."""
    return sum(bool(VIETNAMESE_MARKS & set(word.lower())) for word in claim.split()) >= 3


def is_english(claim: str) -> bool:
    words = claim.lower().split()
    return not is_vietnamese(claim) and bool(ENGLISH_WORDS & set(words))


@pytest.fixture(scope="module")
def entries():
    return {entry.id: entry for entry in load_library(DEMO, TODAY)}


def test_the_demo_library_has_no_errors_today_or_on_any_day():
    assert [p for p in check_library(DEMO) if p.severity == "error"] == []
    assert [p for p in check_library(DEMO, TODAY) if p.severity == "error"] == []


def test_the_only_warning_is_the_planned_expiry_of_e11():
    [warning] = check_library(DEMO, TODAY)
    assert (warning.entry_id, warning.severity) == ("E11", "warning")
    assert "expired on 2026-06-30" in warning.message


def test_the_demo_library_holds_exactly_the_planned_entries(entries):
    assert {i: (e.type, e.status) for i, e in entries.items()} == PLANNED
    assert "E10" not in entries and "E14" not in entries


def test_usable_entries_are_the_approved_unexpired_ones(entries):
    usable = sorted(i for i, e in entries.items() if e.is_usable(TODAY))
    expected = sorted(i for i, (_t, s) in PLANNED.items() if s == "approved" and i != "E11")
    assert usable == expected


def test_live_entries_were_reviewed_in_2026_and_expire_in_2027(entries):
    for entry in entries.values():
        if entry.status == "approved" and entry.id != "E11":
            assert entry.reviewed_at and entry.reviewed_at.year == 2026, entry.id
            assert entry.expires_at and entry.expires_at.year == 2027, entry.id
    assert entries["E11"].expires_at == date(2026, 6, 30)


def test_reviewers_are_roles_not_people(entries):
    role_words = ("Head", "Director", "Deputy", "Desk", "Office")
    for entry in entries.values():
        if entry.reviewed_by:
            assert any(word in entry.reviewed_by for word in role_words), entry.reviewed_by


def test_each_entry_has_three_to_six_phrasings_in_vietnamese_and_english(entries):
    for entry in entries.values():
        assert 3 <= len(entry.claims) <= 6, entry.id
        assert any(map(is_vietnamese, entry.claims)), f"{entry.id} has no Vietnamese phrasing"
        assert any(map(is_english, entry.claims)), f"{entry.id} has no English phrasing"
        assert entry.languages[:2] == ["vi", "en"]


def test_responses_are_substantive_in_vietnamese_and_english(entries):
    for entry in entries.values():
        assert set(entry.response) == {"vi", "en"}, entry.id
        for lang, text in entry.response.items():
            assert 80 <= len(text.split()) <= 200, f"{entry.id} {lang}: {len(text.split())} words"


def test_evidence_points_at_fictional_example_domains(entries):
    for entry in entries.values():
        assert 1 <= len(entry.evidence) <= 3, entry.id
        for item in entry.evidence:
            host = item.url.split("/")[2]
            assert host.endswith(".example"), item.url
            assert item.publisher and item.date


def test_topics_come_from_the_taxonomy(entries):
    for entry in entries.values():
        assert entry.topics and set(entry.topics) <= set(TOPICS), entry.id


def test_entry_files_are_nfc_and_named_after_their_id():
    for path in DEMO.glob("*.md"):
        text = path.read_text(encoding="utf-8")
        assert unicodedata.is_normalized("NFC", text), path.name
        assert path.name.startswith(text.split("\nid: ")[1].split("\n")[0] + "-"), path.name
