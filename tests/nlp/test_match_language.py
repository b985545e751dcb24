"""Which language the matcher takes a query or a phrasing to be in: one it is sure of, or none.

A phrasing taken to be in another language than the query gets the model's language gap
added to its similarity, and a candidate with no phrasing in the query's language gets the
calibration's cross-language offset: a wrong call lifts a wrong entry. So the matcher asks
for a language only among the office's, and only when the identifier is sure.
"""

from __future__ import annotations

import pytest

from nlp.index import row_languages
from nlp.language import MATCH_LANGUAGES, identify, identify_for_matching

# short English claims that an unrestricted identifier calls French, Latin or Pidgin
AMBIGUOUS_ENGLISH = [
    "COVID-19 vaccines contain microchips",
    "Hydroxychloroquine cures COVID-19 in 24 hours",
    "Pope Francis endorses Bernie Sanders",
    "Centuries-old Phúc Lâm pagoda razed for luxury resort",
]


def test_an_unsure_call_on_a_short_english_claim_is_no_language_not_a_foreign_one():
    assert any(identify(text) not in (None, "en") for text in AMBIGUOUS_ENGLISH)
    for text in AMBIGUOUS_ENGLISH:
        assert identify_for_matching(text) in (None, "en"), text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Chính phủ sắp cấm xuất khẩu gạo trong vụ này", "vi"),
        ("tau ca nuoc ngoai duoc phep danh bat o bai Ngoc Lan", "vi"),  # typed without marks
        ("Joe Biden said he would ban fracking", "en"),
        ("Le Vietnam va interdire les exportations de riz cette saison", "fr"),
        ("越南咖啡价格下跌", "zh"),  # eight characters say enough in Chinese
        ("백신이 불임을 유발한다", "ko"),
    ],
)
def test_clear_texts_are_identified_among_the_office_languages(text, language):
    assert identify_for_matching(text) == language


def test_links_handles_and_hashtags_do_not_decide_the_language():
    post = "@realDonaldTrump says the election was rigged https://t.co/xYz12 #StopTheSteal"
    assert identify_for_matching(post) == "en"
    assert identify_for_matching("https://t.co/abcdefghijklmnopqrstuvwxyz") is None
    assert identify_for_matching("Vắc xin") is None  # too short to tell


def test_an_english_library_has_no_row_in_another_language():
    rows = [*AMBIGUOUS_ENGLISH, "Photo shows flooding in Mumbai airport", "Macron arrested"]
    assert set(row_languages(rows)) <= {"en", ""}
    assert set(MATCH_LANGUAGES) >= {"vi", "en", "zh", "fr", "th", "lo", "km"}
