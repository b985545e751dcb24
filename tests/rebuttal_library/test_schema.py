"""The entry model: usability, phrasings, response sections and the derived version."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import pytest
from pydantic import ValidationError

from rebuttal_library import RebuttalEntry, read_entry
from tests.rebuttal_library.helpers import entry_text, write


def entry(**changes) -> RebuttalEntry:
    data = {
        "id": "E01",
        "type": "refute",
        "title": "Rice exports are not banned",
        "claims": ["Vietnam to ban rice exports", "Chính phủ sắp cấm xuất khẩu gạo"],
        "response": {"vi": "Không có lệnh cấm.", "en": "There is no ban."},
        "languages": ["vi", "en"],
        "status": "approved",
        "reviewed_by": "Head of Rapid Response",
        "reviewed_at": "2026-10-01",
        "expires_at": "2027-04-01",
    }
    data.update(changes)
    return RebuttalEntry.model_validate(data)


# ------------------------------------------------------------------------------ usable


def test_an_approved_entry_is_usable_up_to_and_including_its_expiry_day():
    approved = entry()
    assert approved.is_usable(date(2026, 11, 23))
    assert approved.is_usable(date(2027, 4, 1))
    assert not approved.is_usable(date(2027, 4, 2))


def test_an_approved_entry_without_expiry_stays_usable():
    assert entry(expires_at=None).is_usable(date(2030, 1, 1))


@pytest.mark.parametrize("status", ["draft", "in_review", "retired"])
def test_only_approved_entries_are_usable(status):
    assert not entry(status=status).is_usable(date(2026, 11, 23))


def test_all_phrasings_are_the_title_then_the_claims_each_once():
    phrasings = entry(claims=["Vietnam to ban rice exports", "rice EXPORTS are not banned"])
    assert phrasings.all_phrasings() == [
        "Rice exports are not banned",
        "Vietnam to ban rice exports",
    ]


def test_response_text_falls_back_to_the_first_language():
    assert entry().response_text("fr") == "Không có lệnh cấm."
    assert entry().response_text("en") == "There is no ban."
    assert entry(response={}).response_text() == ""


# --------------------------------------------------------------------------- validation


def test_the_three_entry_types_are_distinct_and_nothing_else_is_accepted():
    for kind in ("refute", "clarify", "promote"):
        assert entry(type=kind).type == kind
    with pytest.raises(ValidationError):
        entry(type="rebut")


def test_text_is_stored_in_nfc_and_trimmed():
    decomposed = unicodedata.normalize("NFD", "  Chính phủ sắp cấm xuất khẩu gạo ")
    stored = entry(claims=[decomposed]).claims[0]
    assert stored == "Chính phủ sắp cấm xuất khẩu gạo"
    assert unicodedata.is_normalized("NFC", stored)


def test_dates_must_be_written_as_year_month_day():
    with pytest.raises(ValidationError, match="expected YYYY-MM-DD"):
        entry(reviewed_at="01/10/2026")
    with pytest.raises(ValidationError, match="expected YYYY-MM-DD"):
        entry(reviewed_at=20261001)


def test_an_entry_needs_at_least_one_claim():
    with pytest.raises(ValidationError):
        entry(claims=[])


# ------------------------------------------------------------------------------ version


def test_the_version_is_twelve_hex_characters_derived_from_the_content():
    assert re.fullmatch(r"[0-9a-f]{12}", entry().version)
    assert entry(version="made-up", path="elsewhere.md").version == entry().version


def test_the_version_changes_when_any_content_changes():
    base = entry().version
    assert entry(claims=["Vietnam to ban rice exports now"]).version != base
    assert entry(status="retired").version != base
    assert entry(expires_at="2027-04-02").version != base
    assert (
        entry(response={"vi": "Không có lệnh cấm.", "en": "There is no ban at all."}).version
        != base
    )
    assert entry(evidence=[{"title": "S", "url": "https://a.example/s"}]).version != base


def test_evolve_recomputes_the_version():
    original = entry()
    changed = original.evolve(title="Rice exports continue")
    assert changed.title == "Rice exports continue"
    assert changed.version != original.version
    assert changed.evolve(title=original.title).version == original.version


def test_the_version_ignores_how_the_file_is_formatted(tmp_path):
    plain = entry_text("E01")
    reformatted = (
        plain.replace("topics: [economy]", "# reviewed with the desk\ntopics:\n  - economy")
        .replace('title: "Title of E01"', "title: 'Title of E01'")
        .replace("status: approved\n", "")
        .replace("---\nid: E01", "---\nstatus: approved\nid: E01")
        .replace("Response text of E01.", "Response text of E01.   \n\n\n")
        .replace("## vi\n\n", "## vi\n\n\n")
    )
    assert reformatted != plain
    first = read_entry(write(tmp_path, "E01-a.md", plain), date(2026, 11, 23))
    second = read_entry(write(tmp_path, "E01-b.md", reformatted), date(2026, 11, 23))

    assert first.version == second.version


def test_the_version_changes_when_a_word_of_the_file_changes(tmp_path):
    plain = entry_text("E01")
    first = read_entry(write(tmp_path, "E01-a.md", plain), date(2026, 11, 23))
    edited = plain.replace("Response text of E01.", "Response text of E01, revised.")
    second = read_entry(write(tmp_path, "E01-b.md", edited), date(2026, 11, 23))

    assert first.version != second.version


def test_a_body_without_language_sections_is_the_response_in_the_first_language(tmp_path):
    text = entry_text("E01").split("## vi")[0] + "Một đoạn trả lời duy nhất.\n"
    loaded = read_entry(write(tmp_path, "E01-a.md", text), date(2026, 11, 23))

    assert loaded.response == {"vi": "Một đoạn trả lời duy nhất."}


def test_other_headings_inside_a_language_section_stay_in_the_response(tmp_path):
    text = entry_text("E01").replace("Response text of E01.", "Intro.\n\n## Background\n\nMore.")
    loaded = read_entry(write(tmp_path, "E01-a.md", text), date(2026, 11, 23))

    assert loaded.response["en"] == "Intro.\n\n## Background\n\nMore."
