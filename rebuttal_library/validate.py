"""Check the library folder and load it: every problem, with the file and line to fix.

Errors block loading (`load_library` raises); warnings do not (an expired entry still
loads, it is simply not usable). The rules for *review* (who approved, until when) live
here rather than in the model, because the model must also hold drafts and minimal
test libraries, and because only here do we know which line to blame.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rebuttal_library.markdown import (
    EntryFile,
    FieldPath,
    Severity,
    decode,
    parse_entry_text,
    response_dict,
)
from rebuttal_library.schema import ENTRY_TYPES, STATUSES, TOPICS, RebuttalEntry, phrasing_key

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Required in a file even where the model has a default (the model also serves minimal
# JSONL libraries, which have no languages; a file must say what languages it covers).
REQUIRED_IN_FILES = ("id", "type", "title", "claims", "languages", "status")

# Derived or body-only values that must not be written in the front matter.
NOT_IN_FRONT_MATTER = {
    "response": "the response is the Markdown body after the front matter, not a field",
    "version": "version is derived from the content; do not write it in the file",
    "path": "path is where the file lies; do not write it in the file",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the library, where to find it, and how bad it is."""

    path: str
    line: int | None
    entry_id: str | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        parts = [where]
        if self.entry_id:
            parts.append(self.entry_id)
        if self.severity == "warning":
            parts.append("warning")
        parts.append(self.message)
        return ": ".join(parts)


class LibraryError(Exception):
    """The library (or an import) has error-level problems; `problems` lists them all."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.severity != "error")
        super().__init__("\n".join(str(problem) for problem in self.problems))

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]


def display_path(path: Path) -> str:
    """Path relative to the project (or working directory) when inside it, as messages show."""
    resolved = path.resolve()
    for base in (PROJECT_ROOT, Path.cwd().resolve()):
        if resolved.is_relative_to(base):
            return resolved.relative_to(base).as_posix()
    return str(path)


def entry_files(entries_dir: Path) -> list[Path]:
    """The entry files, in name order: `*.md`, skipping hidden files and `_`-prefixed notes.

    Anything else named `*.md` is an entry file, even when it cannot be read (a link to
    nowhere, a folder): it is reported as unreadable rather than silently left out.
    """
    return sorted(
        path for path in entries_dir.glob("*.md") if not path.name.startswith((".", "_"))
    )


# --------------------------------------------------------------------------- public API


def check_library(entries_dir: Path, today: date | None = None) -> list[Problem]:
    """Every problem in the library folder, errors and warnings, in file and line order."""
    return _scan(Path(entries_dir), today or date.today()).problems


def load_library(entries_dir: Path, today: date | None = None) -> list[RebuttalEntry]:
    """All entries of every status (consumers filter with `is_usable`), in file-name order.

    Raises `LibraryError` if any error-level problem exists; warnings do not block.
    `today` decides expiry warnings; pass the office's local date (settings.timezone),
    since the machine's own date may already be tomorrow or still yesterday there.
    """
    scan = _scan(Path(entries_dir), today or date.today())
    if any(problem.severity == "error" for problem in scan.problems):
        raise LibraryError(scan.problems)
    return scan.entries


def read_entry(path: Path, today: date | None = None) -> RebuttalEntry:
    """One entry file, checked on its own (no cross-file rules); raises `LibraryError`."""
    checked = _check_file(Path(path), today or date.today())
    if checked.entry is None or any(p.severity == "error" for p in checked.problems):
        raise LibraryError(checked.problems)
    return checked.entry


# ------------------------------------------------------------------------------ scanning


@dataclass
class _Checked:
    """One file after its own checks: the entry if it is valid, and its problems."""

    path: Path
    shown: str
    entry: RebuttalEntry | None = None
    raw_id: str | None = None
    file: EntryFile | None = None
    problems: list[Problem] = field(default_factory=list)

    def add(self, line: int | None, message: str, severity: Severity = "error") -> None:
        self.problems.append(Problem(self.shown, line, self.raw_id, message, severity))


@dataclass
class _Scan:
    entries: list[RebuttalEntry]
    problems: list[Problem]


def _scan(entries_dir: Path, today: date) -> _Scan:
    shown_dir = display_path(entries_dir)
    if not entries_dir.is_dir():
        return _Scan([], [Problem(shown_dir, None, None, "library folder does not exist")])
    files = entry_files(entries_dir)
    if not files:
        message = "the library is empty: no entry files (*.md) in this folder"
        return _Scan([], [Problem(shown_dir, None, None, message)])

    checked = [_check_file(path, today) for path in files]
    _check_duplicate_ids(checked)
    _check_duplicate_claims(checked)

    problems = [
        problem for item in checked for problem in sorted(item.problems, key=lambda p: p.line or 0)
    ]
    entries = [
        item.entry
        for item in checked
        if item.entry is not None and not any(p.severity == "error" for p in item.problems)
    ]
    return _Scan(entries, problems)


def _check_file(path: Path, today: date) -> _Checked:
    checked = _Checked(path, display_path(path))
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        checked.add(None, "cannot read file: it is a folder, not an entry file")
        return checked
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if path.is_symlink() and not path.exists():
            reason = f"it links to {path.readlink()}, which does not exist"
        checked.add(None, f"cannot read file: {reason}")
        return checked
    text, issue = decode(raw)
    if text is None:
        assert issue is not None
        checked.add(issue.line, issue.message)
        return checked

    entry_file = parse_entry_text(text)
    checked.file = entry_file
    if entry_file.front is not None and isinstance(entry_file.front.get("id"), str):
        checked.raw_id = entry_file.front["id"].strip() or None
    for found in entry_file.issues:
        checked.add(found.line, found.message, found.severity)
    if entry_file.front is None:
        return checked

    checked.entry = _build_entry(entry_file, checked)
    if checked.entry is not None:
        _check_review_rules(checked.entry, entry_file, checked, today)
    _check_nfc(text, checked)
    return checked


def _build_entry(entry_file: EntryFile, checked: _Checked) -> RebuttalEntry | None:
    front = dict(entry_file.front or {})
    for key, why in NOT_IN_FRONT_MATTER.items():
        if key in front:
            checked.add(entry_file.line_of((key,)), why)
            front.pop(key)
    # Unknown fields are reported here and set aside, so that the rest of the entry is
    # still checked (a typo in `reviewed_by` should also say the reviewer is missing).
    for key in [key for key in front if key not in RebuttalEntry.model_fields]:
        checked.add(entry_file.line_of((key,)), f"unknown field '{key}'")
        front.pop(key)
    for key in REQUIRED_IN_FILES:
        if key not in front:
            checked.add(1, f"missing required field '{key}'")
        elif front[key] is None:
            checked.add(entry_file.line_of((key,)), f"required field '{key}' is empty")

    languages = front.get("languages")
    languages = [x for x in languages if isinstance(x, str)] if isinstance(languages, list) else []
    data = {**front, "response": response_dict(entry_file, languages), "path": checked.shown}
    try:
        entry = RebuttalEntry.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            _report_schema_error(error, entry_file, checked, front)
        return None
    # Returned even when file-level errors exist (a missing `languages`, a key given twice),
    # so the review rules still run and the analyst sees every problem in one pass; the
    # scan leaves out any entry whose file has errors.
    return entry


def _report_schema_error(
    error: Any, entry_file: EntryFile, checked: _Checked, front: dict[str, Any]
) -> None:
    loc: FieldPath = tuple(error["loc"])
    kind = error["type"]
    if len(loc) == 1 and loc[0] in REQUIRED_IN_FILES and front.get(str(loc[0])) is None:
        return  # already reported above as a missing or empty required field
    checked.add(_line_for(loc, entry_file), describe_schema_error(loc, kind, error))


def _line_for(loc: FieldPath, entry_file: EntryFile) -> int:
    if loc and loc[0] == "response":
        section = entry_file.sections.get(str(loc[1])) if len(loc) > 1 else None
        return section[1] if section else entry_file.body_line
    return entry_file.line_of(loc)


def describe_schema_error(loc: FieldPath, kind: str, error: Any) -> str:
    """Pydantic's findings, said the way an analyst editing YAML needs to hear them.

    Shared with `exchange.py`, whose imports report problems the same way.
    """
    label = _label(loc)
    value = error.get("input")
    if loc and loc[0] == "evidence" and loc[-1] == "url" and kind in ("missing", "empty_text"):
        return f"{_label(loc[:-1])} has no url"
    if kind == "missing":
        return f"{label} is missing"
    if kind == "extra_forbidden":
        return f"unknown field '{label}'"
    if kind == "literal_error" and loc in (("type",), ("status",)):
        allowed = ENTRY_TYPES if loc == ("type",) else STATUSES
        return f"unknown {loc[0]} {value!r} (expected one of: {', '.join(allowed)})"
    if kind == "string_type":
        return f"{label} must be text, not {_kind_of(value)}"
    if kind == "list_type":
        return f"{label} must be a list, not {_kind_of(value)}"
    if kind in ("model_type", "dict_type"):
        return f"{label} must be a mapping (title, url, publisher, date), not {_kind_of(value)}"
    if kind == "too_short" and loc == ("claims",):
        return "claims must list at least one phrasing"
    if kind == "empty_text":
        return f"{label} is empty"
    return f"{label}: {error['msg']}"


def _label(loc: FieldPath) -> str:
    """('evidence', 0, 'url') -> 'evidence item 1 url': numbered from 1, as people count."""
    words: list[str] = []
    for part in loc:
        words.append(f"item {part + 1}" if isinstance(part, int) else str(part))
    return " ".join(words)


def _kind_of(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"true/false ({value})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


# --------------------------------------------------------------------------- file rules


def _check_review_rules(
    entry: RebuttalEntry, entry_file: EntryFile, checked: _Checked, today: date
) -> None:
    line = entry_file.line_of
    if entry.status == "approved":
        _check_approval(entry, entry_file, checked, today)
    if entry.reviewed_at and entry.reviewed_at > today:
        checked.add(line(("reviewed_at",)), "reviewed_at is in the future", "warning")
    if entry.reviewed_at and entry.expires_at and entry.expires_at <= entry.reviewed_at:
        checked.add(
            line(("expires_at",)),
            f"expires_at {entry.expires_at} is not after reviewed_at {entry.reviewed_at}",
        )
    _check_topics(entry, entry_file, checked)
    _check_response_languages(entry_file, entry, checked)
    _check_claims_within_entry(entry, entry_file, checked)
    name = checked.path.name
    if name != f"{entry.id}.md" and not name.startswith(f"{entry.id}-"):
        checked.add(
            line(("id",)), f"file name should start with the id ('{entry.id}-….md')", "warning"
        )


def _check_approval(
    entry: RebuttalEntry, entry_file: EntryFile, checked: _Checked, today: date
) -> None:
    status_line = entry_file.line_of(("status",))
    if not entry.reviewed_by:
        checked.add(status_line, "approved entry has no reviewed_by")
    if not entry.reviewed_at:
        checked.add(status_line, "approved entry has no reviewed_at")
    if not entry.response:
        checked.add(entry_file.body_line, "approved entry has no response text")
    if not entry.evidence:
        checked.add(status_line, "approved entry cites no evidence", "warning")
    if entry.expires_at is None:
        checked.add(status_line, "approved entry has no expires_at: it never expires", "warning")
    elif entry.is_expired(today):
        checked.add(
            entry_file.line_of(("expires_at",)),
            f"approved entry expired on {entry.expires_at}: it still loads but is not usable",
            "warning",
        )


def _check_topics(entry: RebuttalEntry, entry_file: EntryFile, checked: _Checked) -> None:
    if not entry.topics:
        checked.add(1, "entry has no topics", "warning")
    for index, topic in enumerate(entry.topics):
        if topic not in TOPICS:
            checked.add(
                entry_file.line_of(("topics", index)),
                f"topic '{topic}' is not in the taxonomy ({', '.join(TOPICS)})",
                "warning",
            )


def _check_response_languages(
    entry_file: EntryFile, entry: RebuttalEntry, checked: _Checked
) -> None:
    for lang, (_text, heading_line) in entry_file.sections.items():
        if lang and lang not in entry.languages:
            checked.add(
                heading_line,
                f"response section '## {lang}' is not one of the entry's languages",
                "warning",
            )


def _check_claims_within_entry(
    entry: RebuttalEntry, entry_file: EntryFile, checked: _Checked
) -> None:
    seen: set[str] = set()
    for index, claim in enumerate(entry.claims):
        key = phrasing_key(claim)
        if key in seen:
            checked.add(
                entry_file.line_of(("claims", index)),
                f"claim {claim!r} is listed twice in this entry",
                "warning",
            )
        seen.add(key)


def _check_nfc(text: str, checked: _Checked) -> None:
    """Vietnamese typed on some keyboards arrives decomposed (NFD); say so, once per file."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not unicodedata.is_normalized("NFC", line):
            checked.add(
                number,
                "text is not in Unicode NFC form (it is normalised on load; save it as NFC)",
                "warning",
            )
            return


# ------------------------------------------------------------------------ library rules


def _check_duplicate_ids(checked: list[_Checked]) -> None:
    """Ids must be unique across files (compared case-insensitively: file systems differ)."""
    first_seen: dict[str, _Checked] = {}
    for item in checked:
        if item.raw_id is None:
            continue
        key = item.raw_id.casefold()
        if key in first_seen:
            line = item.file.line_of(("id",)) if item.file else None
            item.add(line, f"duplicate id '{item.raw_id}': also used by {first_seen[key].shown}")
        else:
            first_seen[key] = item


def _check_duplicate_claims(checked: list[_Checked]) -> None:
    """Two live entries may not share a phrasing: a matcher could not tell them apart.

    Retired entries are left out, so that a replacement may reuse the phrasings of the
    entry it replaces.
    """
    first_seen: dict[str, tuple[str, str, int]] = {}
    for item in checked:
        entry = item.entry
        if entry is None or item.file is None or entry.status == "retired":
            continue
        own: set[str] = set()
        for index, claim in enumerate(entry.claims):
            key = phrasing_key(claim)
            if key in own:
                continue  # a repeat within one entry is reported by the entry's own checks
            own.add(key)
            line = item.file.line_of(("claims", index))
            if key in first_seen and first_seen[key][0] != entry.id:
                other_id, other_path, other_line = first_seen[key]
                item.add(
                    line,
                    f"claim {claim!r} duplicates a claim of {other_id} ({other_path}:{other_line})",
                )
            else:
                first_seen.setdefault(key, (entry.id, item.shown, line))
