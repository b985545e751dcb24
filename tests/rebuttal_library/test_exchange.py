"""Import and export: JSONL is lossless, ClaimReview keeps what matters, files round-trip."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from rebuttal_library import (
    LibraryError,
    check_library,
    export_claimreview,
    export_jsonl,
    import_claimreview,
    import_entries,
    import_jsonl,
    load_library,
    read_entry,
    write_entry_markdown,
)
from tests.rebuttal_library.helpers import entry_text, write

DEMO = Path(__file__).resolve().parents[2] / "rebuttal_library" / "entries"
TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo_entries():
    return load_library(DEMO, TODAY)


# ------------------------------------------------------------------------------ JSONL


def test_markdown_to_jsonl_to_entries_gives_equal_entries(demo_entries, tmp_path):
    target = tmp_path / "library.jsonl"

    assert export_jsonl(demo_entries, target) == len(demo_entries)
    assert import_jsonl(target) == demo_entries


def test_jsonl_keeps_vietnamese_readable(demo_entries, tmp_path):
    target = tmp_path / "library.jsonl"
    export_jsonl(demo_entries, target)

    assert "Ngọc Lan" in target.read_text(encoding="utf-8")


def test_the_minimal_matcher_form_becomes_an_approved_refute_entry(tmp_path):
    source = write(
        tmp_path,
        "mini.jsonl",
        '{"id": "T1", "title": "Rice ban", "claims": ["Vietnam to ban rice exports"]}\n'
        "\n"
        '{"id": "T2", "title": "Vaccine", "claims": ["DengiShield causes infertility"],'
        ' "response": "It does not."}\n',
    )

    first, second = import_jsonl(source)

    assert (first.id, first.type, first.status, first.claims) == (
        "T1",
        "refute",
        "approved",
        ["Vietnam to ban rice exports"],
    )
    assert first.is_usable(TODAY)
    assert second.response == {"und": "It does not."}


def test_a_jsonl_export_imported_and_exported_again_is_the_same_file(demo_entries, tmp_path):
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    export_jsonl(demo_entries, first)

    export_jsonl(import_jsonl(first), second)

    assert second.read_bytes() == first.read_bytes()


def test_minimal_lines_may_give_numeric_ids_and_leave_the_title_out(tmp_path):
    # as converted from public claim-retrieval sets: numeric ids, claims without titles
    source = write(
        tmp_path,
        "claims.jsonl",
        '{"id": 10374, "title": "", "claims": ["Drinking hot water kills the virus"]}\n'
        '{"id": "vclaim-7", "claims": ["Masks cause oxygen deprivation"]}\n',
    )

    first, second = import_jsonl(source)

    assert (first.id, first.title) == ("10374", "Drinking hot water kills the virus")
    assert (second.id, second.title) == ("vclaim-7", "Masks cause oxygen deprivation")
    assert first.all_phrasings() == ["Drinking hot water kills the virus"]  # no phrasing twice


def test_a_jsonl_line_with_type_but_no_status_is_not_guessed(tmp_path):
    source = write(
        tmp_path, "bad.jsonl", '{"id": "T1", "title": "t", "claims": ["c"], "type": "clarify"}\n'
    )

    with pytest.raises(LibraryError, match=r"bad.jsonl:1: T1: status is missing"):
        import_jsonl(source)


def test_bad_jsonl_lines_are_reported_with_their_line_numbers(tmp_path):
    source = write(
        tmp_path,
        "bad.jsonl",
        '{"id": "T1", "title": "t", "claims": ["c"]}\n'
        "{not json\n"
        '{"id": "T1", "title": "t2", "claims": ["d"]}\n',
    )

    with pytest.raises(LibraryError) as caught:
        import_jsonl(source)

    found = [(p.line, p.message) for p in caught.value.problems]
    assert found == [
        (2, "invalid JSON: Expecting property name enclosed in double quotes"),
        (3, "duplicate id 'T1'"),
    ]


# ------------------------------------------------------------------------ ClaimReview


def test_entries_to_claimreview_to_entries_keep_what_the_office_wrote(demo_entries, tmp_path):
    target = tmp_path / "claimreview.json"
    export_claimreview(demo_entries, target)

    back = import_claimreview(target)

    def kept(entry):
        return (
            entry.id,
            entry.type,
            entry.title,
            entry.claims,
            entry.response,
            entry.evidence,
            entry.status,
            entry.reviewed_by,
            entry.reviewed_at,
            entry.expires_at,
            entry.topics,
            entry.languages,
            entry.version,
        )

    assert [kept(e) for e in back] == [kept(e) for e in demo_entries]


def test_a_claimreview_export_imported_and_exported_again_is_the_same_file(
    demo_entries, tmp_path
):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    export_claimreview(demo_entries, first, base_url="https://office.example/responses")

    export_claimreview(import_claimreview(first), second, base_url="https://office.example/responses")

    assert second.read_bytes() == first.read_bytes()


def test_every_entry_type_and_status_survives_claimreview_and_back(demo_entries, tmp_path):
    kinds = {(e.type, e.status) for e in demo_entries}
    assert {"refute", "clarify", "promote"} <= {t for t, _ in kinds}
    assert {"draft", "in_review", "approved", "retired"} <= {s for _, s in kinds}
    target = tmp_path / "claimreview.jsonld"
    export_claimreview(demo_entries, target)

    back = {e.id: e for e in import_entries(target)}

    assert {(e.id, e.type, e.status, e.version) for e in demo_entries} == {
        (e.id, e.type, e.status, e.version) for e in back.values()
    }


def test_claimreview_export_is_a_json_array_of_schema_org_claim_reviews(demo_entries, tmp_path):
    target = tmp_path / "claimreview.json"
    export_claimreview(demo_entries, target, base_url="https://office.example/responses/")

    reviews = json.loads(target.read_text(encoding="utf-8"))
    assert isinstance(reviews, list)
    assert len(reviews) == len(demo_entries)
    e01 = next(r for r in reviews if r["identifier"] == "E01")
    assert e01["@context"] == "https://schema.org"
    assert e01["@type"] == "ClaimReview"
    assert e01["claimReviewed"] == demo_entries[0].claims[0]
    assert e01["itemReviewed"]["@type"] == "Claim"
    assert e01["author"] == {"@type": "Organization", "name": "External Communications Office"}
    assert e01["datePublished"] == "2026-11-13"
    assert e01["url"] == "https://office.example/responses/E01"
    assert e01["editor"] == {"@type": "Role", "roleName": "Head of Rapid Response"}
    assert {"@language": "vi", "@value": demo_entries[0].response["vi"]} in e01["reviewBody"]
    assert [c["url"] for c in e01["citation"]] == [e.url for e in demo_entries[0].evidence]


@pytest.mark.parametrize(
    ("entry_type", "label", "value"),
    [("refute", "False", 1), ("clarify", "Missing context", 3), ("promote", "Accurate", 5)],
)
def test_each_entry_type_has_its_own_rating(demo_entries, tmp_path, entry_type, label, value):
    target = tmp_path / "claimreview.json"
    export_claimreview([e for e in demo_entries if e.type == entry_type], target)

    for review in json.loads(target.read_text(encoding="utf-8")):
        assert review["reviewRating"]["alternateName"] == label
        assert review["reviewRating"]["ratingValue"] == value


def test_a_claimreview_from_another_publisher_arrives_as_a_draft(tmp_path):
    foreign = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "Organization", "name": "Some fact-checker"},
            {
                "@type": "ClaimReview",
                "claimReviewed": "Rice exports will be banned next month",
                "reviewRating": {"@type": "Rating", "alternateName": "Partly false"},
                "reviewBody": "Officials deny any ban.",
                "inLanguage": "en",
                "datePublished": "2026-11-02T08:30:00+07:00",
                "citation": {"url": "https://checker.example/rice", "name": "Our check"},
                "keywords": "Economy, Trade",
            },
        ],
    }
    source = write(tmp_path, "foreign.jsonld", json.dumps(foreign))

    [entry] = import_entries(source)

    assert entry.status == "draft"
    assert entry.type == "clarify"
    assert entry.id.startswith("CR-")
    assert entry.title == "Rice exports will be banned next month"
    assert entry.response == {"en": "Officials deny any ban."}
    assert entry.reviewed_at == date(2026, 11, 2)
    assert entry.topics == ["economy", "trade"]
    assert entry.evidence[0].url == "https://checker.example/rice"


@pytest.mark.parametrize(
    ("rating", "expected"),
    [
        ({"alternateName": "Pants on fire / false"}, "refute"),
        ({"alternateName": "Misleading"}, "clarify"),
        ({"alternateName": "Not true"}, "refute"),
        ({"alternateName": "Mostly true"}, "promote"),
        ({"ratingValue": 1, "worstRating": 1, "bestRating": 7}, "refute"),
        ({"ratingValue": 4, "worstRating": 1, "bestRating": 7}, "clarify"),
        ({}, "clarify"),
    ],
)
def test_other_publishers_ratings_map_to_the_nearest_entry_type(tmp_path, rating, expected):
    review = {"@type": "ClaimReview", "claimReviewed": "A claim", "reviewRating": rating}
    source = write(tmp_path, "one.json", json.dumps(review))

    assert import_claimreview(source)[0].type == expected


def test_a_claimreview_with_evidence_lacking_a_url_is_refused(tmp_path):
    review = {
        "@type": "ClaimReview",
        "identifier": "X1",
        "claimReviewed": "A claim",
        "citation": [{"name": "A report"}],
    }
    source = write(tmp_path, "bad.json", json.dumps([review]))

    with pytest.raises(LibraryError, match="X1: item 1: evidence item 1 has no url"):
        import_claimreview(source)


def test_an_unknown_import_format_is_refused(tmp_path):
    with pytest.raises(LibraryError, match="unknown format"):
        import_entries(write(tmp_path, "library.csv", "id,title\n"))


# --------------------------------------------------------------------- markdown files


def test_an_imported_entry_written_as_markdown_reads_back_the_same(demo_entries, tmp_path):
    for original in demo_entries:
        written = write_entry_markdown(original, tmp_path)
        again = read_entry(written, TODAY)
        assert again.model_dump(exclude={"path"}) == original.model_dump(exclude={"path"})


def test_written_files_are_named_by_id_and_title_and_validate(demo_entries, tmp_path):
    for original in demo_entries:
        write_entry_markdown(original, tmp_path)

    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0] == "E01-ngoc-lan-reef-no-foreign-vessel-was-allowed-to.md"
    assert all(p.severity == "warning" for p in check_library(tmp_path, TODAY))


def test_writing_an_entry_replaces_the_file_that_holds_its_id(tmp_path):
    existing = write(tmp_path, "E01-name-chosen-by-an-analyst.md", entry_text("E01"))
    updated = read_entry(existing, TODAY).evolve(title="A new title")

    path = write_entry_markdown(updated, tmp_path)

    assert path == existing
    assert [p.name for p in tmp_path.iterdir()] == ["E01-name-chosen-by-an-analyst.md"]
    assert read_entry(path, TODAY).title == "A new title"
