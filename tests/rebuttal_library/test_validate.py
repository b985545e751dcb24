"""The validator reports every problem with the file, line and entry to fix."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path

import pytest

from rebuttal_library import LibraryError, Problem, check_library, load_library
from tests.rebuttal_library.helpers import entry_text, line_number, write

TODAY = date(2026, 11, 23)


def errors(folder: Path) -> list[Problem]:
    return [p for p in check_library(folder, TODAY) if p.severity == "error"]


def warnings(folder: Path) -> list[Problem]:
    return [p for p in check_library(folder, TODAY) if p.severity == "warning"]


def only_error(folder: Path) -> Problem:
    found = errors(folder)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def test_a_valid_entry_has_no_problems(tmp_path):
    write(tmp_path, "E01-valid.md", entry_text("E01"))

    assert check_library(tmp_path, TODAY) == []
    [entry] = load_library(tmp_path, TODAY)
    assert entry.id == "E01"
    assert entry.response == {"vi": "Nội dung trả lời của E01.", "en": "Response text of E01."}


def test_invalid_yaml_is_reported_at_the_line_the_parser_names(tmp_path):
    text = entry_text("E01", title="title: Rice: ban: now")
    write(tmp_path, "E01-bad-yaml.md", text)

    problem = only_error(tmp_path)
    assert problem.message.startswith("invalid YAML: mapping values are not allowed")
    assert problem.line == line_number(text, "title: Rice")


def test_a_file_without_front_matter_is_an_error_on_line_1(tmp_path):
    write(tmp_path, "E01-no-front.md", "# Just a title\n\nSome text.\n")

    problem = only_error(tmp_path)
    assert "missing front matter" in problem.message
    assert problem.line == 1


def test_front_matter_that_is_never_closed_is_an_error(tmp_path):
    write(tmp_path, "E01-open.md", "---\nid: E01\ntype: refute\n")

    assert "not closed" in only_error(tmp_path).message


def test_a_missing_required_field_is_named(tmp_path):
    text = entry_text("E01", claims=None).replace('  - "The claim of E01"\n', "")
    text = text.replace('  - "Cách nói khác của E01"\n', "")
    write(tmp_path, "E01-no-claims.md", text)

    problem = only_error(tmp_path)
    assert problem.message == "missing required field 'claims'"
    assert problem.line == 1


def test_wrong_types_are_each_reported_on_their_own_line(tmp_path):
    text = entry_text("E01", title="title: 42", claims='claims: "one claim, not a list"')
    text = text.replace('  - "The claim of E01"\n  - "Cách nói khác của E01"\n', "")
    write(tmp_path, "E01-types.md", text)

    found = {p.message: p.line for p in errors(tmp_path)}
    assert found == {
        "title must be text, not a number (42)": line_number(text, "title: 42"),
        "claims must be a list, not str": line_number(text, "claims:"),
    }


def test_an_unknown_entry_type_lists_the_known_ones(tmp_path):
    text = entry_text("E01", type="type: rebut")
    write(tmp_path, "E01-type.md", text)

    problem = only_error(tmp_path)
    assert problem.message == "unknown type 'rebut' (expected one of: refute, clarify, promote)"
    assert problem.line == line_number(text, "type: rebut")


def test_an_unknown_status_lists_the_known_ones(tmp_path):
    text = entry_text("E01", status="status: published")
    write(tmp_path, "E01-status.md", text)

    problem = only_error(tmp_path)
    assert problem.message == (
        "unknown status 'published' (expected one of: draft, in_review, approved, retired)"
    )
    assert problem.line == line_number(text, "status:")


def test_an_unknown_field_is_an_error_so_typos_do_not_vanish(tmp_path):
    text = entry_text("E01", reviewed_by="reviewd_by: Head of Rapid Response")
    write(tmp_path, "E01-typo.md", text)

    messages = {p.message: p.line for p in errors(tmp_path)}
    assert messages["unknown field 'reviewd_by'"] == line_number(text, "reviewd_by")
    assert messages["approved entry has no reviewed_by"] == line_number(text, "status:")


def test_a_field_given_twice_is_an_error(tmp_path):
    text = entry_text("E01", type="type: refute\ntype: clarify")
    write(tmp_path, "E01-twice.md", text)

    problem = only_error(tmp_path)
    assert problem.message == "field 'type' is given twice (first on line 3)"
    assert problem.line == 4


def test_duplicate_ids_across_files_are_reported_on_the_second_file(tmp_path):
    write(tmp_path, "E01-first.md", entry_text("E01", claim="First claim"))
    second = write(tmp_path, "E01-second.md", entry_text("E01", claim="Second claim"))
    second_text = second.read_text()
    # the second file also repeats the first one's other phrasing: use distinct ones
    second.write_text(second_text.replace("Cách nói khác của E01", "Một cách nói khác"))

    problem = only_error(tmp_path)
    assert problem.message.startswith("duplicate id 'E01': also used by ")
    assert problem.message.endswith("E01-first.md")
    assert Path(problem.path).name == "E01-second.md"
    assert problem.line == 2


def test_an_approved_entry_without_reviewer_prints_like_a_compiler_message(tmp_path):
    text = entry_text("E07", reviewed_by=None)
    path = write(tmp_path, "E07.md", text)

    problem = only_error(tmp_path)
    line = line_number(text, "status: approved")
    assert (problem.message, problem.line, problem.entry_id) == (
        "approved entry has no reviewed_by",
        line,
        "E07",
    )
    assert str(problem) == f"{path}:{line}: E07: approved entry has no reviewed_by"


def test_an_approved_entry_without_review_date_is_an_error(tmp_path):
    write(tmp_path, "E01-x.md", entry_text("E01", reviewed_at=None))

    assert only_error(tmp_path).message == "approved entry has no reviewed_at"


def test_a_draft_needs_no_reviewer(tmp_path):
    text = entry_text("E01", status="status: draft", reviewed_by=None, reviewed_at=None)
    write(tmp_path, "E01-draft.md", text)

    assert errors(tmp_path) == []


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-13-45", "bad date '2026-13-45': month must be in 1..12"),
        ("next spring", "bad date 'next spring' (expected YYYY-MM-DD)"),
        ("2026-02-30", "bad date '2026-02-30': day is out of range for month"),
    ],
)
def test_a_bad_date_is_reported_on_its_line(tmp_path, written, expected):
    text = entry_text("E01", reviewed_at=f"reviewed_at: {written}")
    write(tmp_path, "E01-date.md", text)

    problem = only_error(tmp_path)
    assert problem.message == f"reviewed_at: {expected}"
    assert problem.line == line_number(text, "reviewed_at:")


def test_expiry_before_review_is_an_error(tmp_path):
    text = entry_text("E01", expires_at="expires_at: 2026-09-01")
    write(tmp_path, "E01-x.md", text)

    problem = only_error(tmp_path)
    assert problem.message == "expires_at 2026-09-01 is not after reviewed_at 2026-10-01"
    assert problem.line == line_number(text, "expires_at:")


def test_evidence_without_url_is_reported_at_the_evidence_item(tmp_path):
    text = entry_text("E01", url=None)
    write(tmp_path, "E01-no-url.md", text)

    problem = only_error(tmp_path)
    assert problem.message == "evidence item 1 has no url"
    assert problem.line == line_number(text, '- title: "Official statement"')


def test_evidence_with_a_url_that_is_not_http_is_an_error(tmp_path):
    text = entry_text("E01", url="    url: ministry statement of October")
    write(tmp_path, "E01-bad-url.md", text)

    problem = only_error(tmp_path)
    assert problem.message.startswith("evidence item 1 url: not an http(s) URL")
    assert problem.line == line_number(text, "url:")


def test_a_claim_repeated_in_another_entry_is_an_error_whatever_its_case_and_spacing(tmp_path):
    write(tmp_path, "E01-a.md", entry_text("E01", claim="Vietnam to ban rice exports"))
    second = entry_text("E02", claim="  vietnam TO ban   rice exports")
    write(tmp_path, "E02-b.md", second)

    problem = only_error(tmp_path)
    assert problem.entry_id == "E02"
    assert problem.line == line_number(second, "vietnam TO ban")
    assert "duplicates a claim of E01" in problem.message
    assert problem.message.endswith("E01-a.md:6)")


def test_a_claim_in_decomposed_unicode_duplicates_the_same_claim_composed(tmp_path):
    claim = "Chính phủ sắp cấm xuất khẩu gạo"
    write(tmp_path, "E01-a.md", entry_text("E01", claim=claim))
    write(tmp_path, "E02-b.md", entry_text("E02", claim=unicodedata.normalize("NFD", claim)))

    assert "duplicates a claim of E01" in only_error(tmp_path).message


def test_a_retired_entry_may_share_phrasings_with_its_replacement(tmp_path):
    retired = entry_text("E01", claim="Vietnam to ban rice exports", status="status: retired")
    write(tmp_path, "E01-old.md", retired.replace("Cách nói khác của E01", "Cách nói khác"))
    write(tmp_path, "E02-new.md", entry_text("E02", claim="Vietnam to ban rice exports"))

    assert errors(tmp_path) == []


def test_a_file_that_is_not_utf8_is_reported_at_the_bad_line(tmp_path):
    raw = entry_text("E01").encode("utf-8").replace(b"Title of E01", b"Title \xe9 E01")
    write(tmp_path, "E01-latin1.md", raw)

    problem = only_error(tmp_path)
    assert problem.message == "file is not valid UTF-8 (byte 0xe9); save it as UTF-8"
    assert problem.line == 4


def test_an_unclosed_quote_is_reported_where_the_parser_stops_and_where_it_began(tmp_path):
    text = '---\nid: E01\ntype: refute\nstatus: draft\ntitle: "Rice export ban\n\n---\n\nText.\n'
    write(tmp_path, "E01-quote.md", text)

    problem = only_error(tmp_path)
    assert problem.message.startswith("invalid YAML: found unexpected end of stream")
    assert f"starts on line {line_number(text, 'title:')})" in problem.message


def test_an_entry_file_that_cannot_be_read_is_reported_not_skipped(tmp_path):
    write(tmp_path, "E01-good.md", entry_text("E01"))
    (tmp_path / "E02-moved.md").symlink_to(tmp_path / "elsewhere" / "E02.md")
    (tmp_path / "E03-folder.md").mkdir()

    found = {p.path.rsplit("/", 1)[-1]: p.message for p in errors(tmp_path)}

    assert found == {
        "E02-moved.md": f"cannot read file: it links to {tmp_path / 'elsewhere' / 'E02.md'},"
        " which does not exist",
        "E03-folder.md": "cannot read file: it is a folder, not an entry file",
    }
    with pytest.raises(LibraryError):
        load_library(tmp_path, TODAY)


def test_an_empty_library_is_an_error(tmp_path):
    write(tmp_path, "notes.txt", "not an entry")

    problem = only_error(tmp_path)
    assert problem.message.startswith("the library is empty")
    assert problem.line is None


def test_a_missing_library_folder_is_an_error(tmp_path):
    assert only_error(tmp_path / "nowhere").message == "library folder does not exist"


def test_derived_values_written_in_the_front_matter_are_refused(tmp_path):
    text = entry_text("E01", status="status: approved\nversion: abc123")
    write(tmp_path, "E01-v.md", text)

    problem = only_error(tmp_path)
    assert problem.message.startswith("version is derived from the content")
    assert problem.line == line_number(text, "version:")


def test_an_approved_entry_without_response_text_is_an_error(tmp_path):
    text = entry_text("E01").split("\n## vi")[0] + "\n"
    write(tmp_path, "E01-empty.md", text)

    assert only_error(tmp_path).message == "approved entry has no response text"


def test_an_expired_approved_entry_is_a_warning_and_still_loads(tmp_path):
    text = entry_text(
        "E11", reviewed_at="reviewed_at: 2026-01-20", expires_at="expires_at: 2026-06-30"
    )
    write(tmp_path, "E11-old.md", text)

    [warning] = warnings(tmp_path)
    assert warning.message == (
        "approved entry expired on 2026-06-30: it still loads but is not usable"
    )
    assert warning.line == line_number(text, "expires_at:")
    assert "warning: approved entry expired" in str(warning)
    [entry] = load_library(tmp_path, TODAY)
    assert not entry.is_usable(TODAY)


def test_soft_problems_are_warnings_not_errors(tmp_path):
    text = entry_text(
        "E01",
        topics="topics: [economy, weather]",
        reviewed_at="reviewed_at: 2026-12-01",
        expires_at="expires_at: 2027-06-01",
    )
    text = text.replace("## en", "## fr")
    write(tmp_path, "wrong-name.md", text)

    assert errors(tmp_path) == []
    messages = [p.message for p in warnings(tmp_path)]
    assert any(m.startswith("topic 'weather' is not in the taxonomy") for m in messages)
    assert "reviewed_at is in the future" in messages
    assert "response section '## fr' is not one of the entry's languages" in messages
    assert "file name should start with the id ('E01-….md')" in messages


def test_text_in_decomposed_unicode_is_a_warning_and_is_normalised_on_load(tmp_path):
    text = entry_text("E01").replace("Nội dung", unicodedata.normalize("NFD", "Nội dung"))
    write(tmp_path, "E01-nfd.md", text)

    [warning] = warnings(tmp_path)
    assert "not in Unicode NFC" in warning.message
    assert warning.line == line_number(text, "dung trả lời")
    [entry] = load_library(tmp_path, TODAY)
    assert entry.response["vi"] == "Nội dung trả lời của E01."


def test_every_problem_of_every_file_is_reported_in_one_pass(tmp_path):
    write(tmp_path, "E01-a.md", entry_text("E01", type="type: rebut", reviewed_by=None))
    write(tmp_path, "E02-b.md", entry_text("E02", url=None))
    write(tmp_path, "E03-c.md", b"---\nid: E03\n\xff\n---\n")

    found = [(Path(p.path).name, p.message) for p in errors(tmp_path)]
    assert found == [
        ("E01-a.md", "unknown type 'rebut' (expected one of: refute, clarify, promote)"),
        ("E02-b.md", "evidence item 1 has no url"),
        ("E03-c.md", "file is not valid UTF-8 (byte 0xff); save it as UTF-8"),
    ]


def test_load_library_refuses_an_invalid_library_listing_each_problem_on_its_own_line(tmp_path):
    write(tmp_path, "E01-a.md", entry_text("E01", type="type: rebut"))
    write(tmp_path, "E02-b.md", entry_text("E02", reviewed_by=None))

    with pytest.raises(LibraryError) as caught:
        load_library(tmp_path, TODAY)

    lines = str(caught.value).split("\n")
    assert len(lines) == 2
    assert lines[0].endswith(
        "E01: unknown type 'rebut' (expected one of: refute, clarify, promote)"
    )
    assert lines[1].endswith("E02: approved entry has no reviewed_by")
    assert [p.entry_id for p in caught.value.errors] == ["E01", "E02"]


def test_hidden_and_underscore_files_are_not_entries(tmp_path):
    write(tmp_path, "E01-a.md", entry_text("E01"))
    write(tmp_path, "_template.md", "not front matter")
    write(tmp_path, ".E02-backup.md", "not front matter")

    assert check_library(tmp_path, TODAY) == []


def test_an_empty_required_field_is_reported_once(tmp_path):
    text = entry_text("E01", title="title:")
    write(tmp_path, "E01-a.md", text)

    problem = only_error(tmp_path)
    assert problem.message == "required field 'title' is empty"
    assert problem.line == line_number(text, "title:")
