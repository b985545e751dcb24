"""The `library` commands: check, import, export, with exit codes a script can rely on."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from rebuttal_library import load_library
from rebuttal_library.cli import check_command, export_command, import_command
from tests.rebuttal_library.helpers import entry_text, write

DEMO = Path(__file__).resolve().parents[2] / "rebuttal_library" / "entries"
TODAY = date(2026, 11, 23)


def test_check_succeeds_on_the_demo_library_and_prints_a_summary():
    printed: list[str] = []

    assert check_command(DEMO, TODAY, printed.append) == 0
    assert printed[-1].endswith("16 entries, 0 errors, 1 warning")


def test_check_fails_with_each_problem_on_its_own_line(tmp_path):
    write(tmp_path, "E01-a.md", entry_text("E01", type="type: rebut"))
    printed: list[str] = []

    assert check_command(tmp_path, TODAY, printed.append) == 1
    assert printed[0].endswith(
        "E01-a.md:3: E01: unknown type 'rebut' (expected one of: refute, clarify, promote)"
    )
    assert printed[-1].endswith("1 error, 0 warnings")


def test_export_then_import_into_an_empty_folder_rebuilds_the_library(tmp_path):
    exported = tmp_path / "library.jsonl"
    assert export_command(exported, DEMO, TODAY, echo=lambda _line: None) == 0

    rebuilt = tmp_path / "entries"
    assert import_command(exported, rebuilt, TODAY, echo=lambda _line: None) == 0

    versions = [e.version for e in load_library(rebuilt, TODAY)]
    assert versions == [e.version for e in load_library(DEMO, TODAY)]


def test_export_of_usable_entries_only_leaves_out_drafts_and_expired(tmp_path):
    target = tmp_path / "claimreview.json"
    assert export_command(target, DEMO, TODAY, usable_only=True, echo=lambda _l: None) == 0

    text = target.read_text(encoding="utf-8")
    assert '"identifier": "E01"' in text
    for left_out in ("E07", "E09", "E11", "E17", "E18"):
        assert f'"identifier": "{left_out}"' not in text


def test_the_module_can_be_run_on_its_own():
    result = subprocess.run(
        [sys.executable, "-m", "rebuttal_library", "--today", "2026-11-23", "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "16 entries, 0 errors, 1 warning" in result.stdout
