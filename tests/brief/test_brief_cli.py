"""`mediawatch brief` as a user types it: files on success, one line and a non-zero exit on
bad input, never a traceback, nothing written to the store on refusal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from store.db import connection
from tests.brief.stores import WEEK, build_payload_store, settings_for


def mediawatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mediawatch", *args], capture_output=True, text=True, timeout=120
    )


def _one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("mediawatch: error: ")
    return lines[0]


@pytest.fixture
def store(tmp_path):
    return build_payload_store(tmp_path)


def _briefs(settings) -> list[tuple]:
    with connection(settings.db, read_only=True) as con:
        return con.execute("SELECT week, format FROM briefs ORDER BY ALL").fetchall()


@pytest.mark.parametrize("week, message", [
    ("2026-47", "'2026-47' is not an ISO week like 2026-W47"),
    ("2026-W54", "2026 has no week 54"),
    ("2099-W01", "week 2099-W01 has not started yet"),
])
def test_bad_weeks_give_one_line_and_write_nothing(store, tmp_path, week, message):
    out = tmp_path / "out"
    line = _one_line_error(mediawatch("brief", "--week", week, "--db", str(store.db),
                                      "--out", str(out)))
    assert message in line
    assert not out.exists() or not any(out.iterdir())
    assert _briefs(store) == []


def test_missing_database_and_unwritable_folder(store, tmp_path):
    missing = tmp_path / "nope.duckdb"
    line = _one_line_error(mediawatch("brief", "--week", WEEK, "--db", str(missing)))
    assert "nope.duckdb does not exist" in line
    assert not missing.exists()
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    line = _one_line_error(mediawatch("brief", "--week", WEEK, "--db", str(store.db),
                                      "--out", str(blocker)))
    assert "cannot write briefs into" in line and "a-file" in line


def test_unknown_format_is_refused_by_the_command_line(store, tmp_path):
    done = mediawatch("brief", "--week", WEEK, "--db", str(store.db), "--format", "docx")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "docx" in done.stderr


def test_week_without_data_and_store_without_narratives_give_briefs(store, tmp_path):
    out = tmp_path / "out"
    done = mediawatch("brief", "--week", "2025-W10", "--db", str(store.db), "--out", str(out),
                      "--format", "md")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out / "brief-2025-W10.md")
    assert "nothing to brief on this week" in (out / "brief-2025-W10.md").read_text()

    empty = settings_for(tmp_path / "empty")
    Path(empty.db).parent.mkdir()
    with connection(empty.db):
        pass
    done = mediawatch("brief", "--week", WEEK, "--db", str(empty.db), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "No narrative had articles this week." in (out / f"brief-{WEEK}.md").read_text()


def test_all_three_formats(store, tmp_path):
    pytest.importorskip("weasyprint")
    out = tmp_path / "out"
    done = mediawatch("brief", "--week", WEEK, "--db", str(store.db), "--out", str(out),
                      "--format", "html", "--format", "md", "--format", "pdf")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(out / f"brief-{WEEK}.{f}") for f in ("html", "md", "pdf")]
    assert (out / f"brief-{WEEK}.pdf").read_bytes().startswith(b"%PDF-")
    assert _briefs(store) == [(WEEK, "html"), (WEEK, "md"), (WEEK, "pdf")]
