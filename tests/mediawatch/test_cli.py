"""The command line: bad input gives one line naming the problem, a non-zero exit, no damage."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from store.db import connection


def mediawatch(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mediawatch", *args], capture_output=True, text=True, cwd=cwd,
        timeout=120,
    )


def _one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("mediawatch: error: ")
    return lines[0]


def test_help_lists_the_contract_commands():
    done = mediawatch("--help")
    assert done.returncode == 0
    for command in ("run", "brief", "narratives", "show", "search", "library"):
        assert command in done.stdout


def test_run_with_a_missing_sources_file_names_the_file(tmp_path):
    line = _one_line_error(mediawatch("run", "--sources", str(tmp_path / "nope.yaml"),
                                      "--db", str(tmp_path / "m.duckdb")))
    assert "nope.yaml" in line


def test_run_with_an_invalid_sources_file_names_file_and_line(tmp_path):
    bad = tmp_path / "sources.yaml"
    bad.write_text("outlets:\n  - id: x\n    name: [unclosed\n")
    line = _one_line_error(mediawatch("run", "--sources", str(bad), "--db",
                                      str(tmp_path / "m.duckdb")))
    assert re.search(r"sources\.yaml:\d+: invalid YAML", line)


def test_run_with_a_malformed_week_is_refused_before_anything_runs(tmp_path):
    line = _one_line_error(mediawatch("run", "--week", "2026-47", "--db",
                                      str(tmp_path / "m.duckdb")))
    assert "2026-47" in line
    assert not (tmp_path / "m.duckdb").exists()


def test_run_with_a_database_path_that_is_a_folder_is_refused(tmp_path):
    line = _one_line_error(mediawatch("run", "--db", str(tmp_path)))
    assert "is a directory" in line


def test_commands_on_a_database_that_does_not_exist_say_so(tmp_path):
    line = _one_line_error(mediawatch("narratives", "--db", str(tmp_path / "none.duckdb")))
    assert "does not exist" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["narratives", "--week", "next"], "is not an ISO week"),
        (["narratives", "--since", "yesterday"], "--since"),
        (["brief", "--week", "2026-W99"], "has no week 99"),
    ],
)
def test_bad_values_are_refused_with_the_reason(tmp_path, args, expected):
    db = tmp_path / "m.duckdb"
    with connection(db):
        pass
    before = db.read_bytes()
    line = _one_line_error(mediawatch(*args, "--db", str(db)))
    assert expected in line
    assert db.read_bytes() == before


def test_library_check_passes_on_the_demo_library():
    done = mediawatch("library", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 errors" in done.stdout and "16 entries" in done.stdout


def test_library_check_reports_file_and_line_and_fails(tmp_path):
    (tmp_path / "E99.md").write_text(
        "---\nid: E99\ntype: rebut\ntitle: A title\nclaims: [a claim]\nstatus: approved\n---\n"
        "Response.\n", encoding="utf-8")
    done = mediawatch("library", "check", "--dir", str(tmp_path))
    assert done.returncode == 1
    assert "E99.md:3" in done.stdout
