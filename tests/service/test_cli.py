"""The console commands: tables for people, JSON and CSV for tools, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.service.conftest import store_digest


def mediawatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mediawatch", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "160", "HF_HUB_OFFLINE": "1"},
    )


@pytest.fixture(scope="module")
def db(console_settings) -> str:
    return str(console_settings.db)


def test_narratives_as_table_json_and_csv(db):
    table = mediawatch("narratives", "--db", db, "--limit", "5")
    assert table.returncode == 0, table.stderr
    assert "status" in table.stdout and "narrative" in table.stdout
    as_json = json.loads(mediawatch("narratives", "--db", db, "--json").stdout)
    assert as_json and {"narrative_id", "status", "weekly", "responses", "gap"} <= set(as_json[0])
    as_csv = list(csv.DictReader(io.StringIO(mediawatch("narratives", "--db", db, "--csv").stdout)))
    assert [r["narrative_id"] for r in as_csv] == [n["narrative_id"] for n in as_json]


def test_narratives_filters(db):
    gaps = json.loads(mediawatch("narratives", "--db", db, "--status", "gap", "--json").stdout)
    assert gaps and all(n["gap"] for n in gaps)
    zh = json.loads(
        mediawatch("narratives", "--db", db, "--lang", "zh", "--country", "sg", "--json").stdout
    )
    assert zh and all(n["languages"] == ["zh"] and n["countries"] == ["SG"] for n in zh)


def test_show_in_full_and_articles_as_csv(db):
    first = json.loads(
        mediawatch("narratives", "--db", db, "--status", "answered", "--json").stdout
    )[0]
    shown = mediawatch("show", first["narrative_id"], "--db", db)
    assert shown.returncode == 0 and first["responses"][0]["entry_id"] in shown.stdout
    assert "Sources:" in shown.stdout and "spread:" in shown.stdout
    detail = json.loads(mediawatch("show", first["narrative_id"], "--db", db, "--json").stdout)
    rows = list(
        csv.DictReader(
            io.StringIO(mediawatch("show", first["narrative_id"], "--db", db, "--csv").stdout)
        )
    )
    assert len(rows) == len(detail["articles"]) == detail["article_count"]


def test_search_in_vietnamese_with_filters(db):
    done = mediawatch(
        "search", "tàu khảo sát gần bãi Ngọc Lan", "--db", db, "--lang", "vi", "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["semantic"] and result["narratives"]
    assert {a["language"] for a in result["articles"]} == {"vi"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["narratives", "--status", "viral"], "--status"),
        (["narratives", "--lang", "123"], "--lang"),
        (["narratives", "--since", "2026-13-01"], "--since"),
        (["narratives", "--since", "2026-11-20", "--until", "2026-11-01"], "since is after until"),
        (["narratives", "--week", "2026-W47", "--since", "2026-11-01"], "--week"),
        (["narratives", "--limit", "lots"], "--limit"),
        (["narratives", "--json", "--csv"], "one of --json and --csv"),
        (["narratives", "--scope", "galactic"], "--scope"),
        (["show", "0000000000000000"], "no narrative with id"),
        (["show", "'; DROP TABLE narratives; --"], "is not a narrative id"),
        (["search", "   "], "empty"),
        (["search", "x" * 2001], "longer than"),
        (["search", "rice", "--limit", "0"], "--limit"),
        (["serve", "--port", "99999"], "--port"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(db, args, expected):
    before = store_digest(Path(db))
    done = mediawatch(*args, "--db", db)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("mediawatch: error: ") and expected in lines[0]
    assert store_digest(Path(db)) == before
