"""Building entry files for tests: a valid entry, and small edits that break one thing."""

from __future__ import annotations

from pathlib import Path

VALID_ENTRY = """\
---
id: {id}
type: refute
title: "Title of {id}"
claims:
  - "{claim}"
  - "Cách nói khác của {id}"
topics: [economy]
languages: [vi, en]
status: approved
reviewed_by: Head of Rapid Response
reviewed_at: 2026-10-01
expires_at: 2027-04-01
evidence:
  - title: "Official statement"
    url: https://ministry.example/statements/{id}
    publisher: Ministry
    date: 2026-09-30
---

## vi

Nội dung trả lời của {id}.

## en

Response text of {id}.
"""


def entry_text(entry_id: str = "E01", claim: str | None = None, **edits: str | None) -> str:
    """A valid entry, with whole front-matter lines replaced (`type="type: rebut"`) or
    removed (`reviewed_by=None`). Keys name the field whose line is edited."""
    text = VALID_ENTRY.format(id=entry_id, claim=claim or f"The claim of {entry_id}")
    lines = text.split("\n")
    for field, replacement in edits.items():
        index = next(i for i, line in enumerate(lines) if line.lstrip().startswith(f"{field}:"))
        if replacement is None:
            del lines[index]
        else:
            lines[index : index + 1] = replacement.split("\n")
    return "\n".join(lines)


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def line_number(text: str, fragment: str) -> int:
    """1-based number of the first line containing `fragment` (what an editor shows)."""
    return next(i for i, line in enumerate(text.split("\n"), start=1) if fragment in line)
