"""The run's library stage: a valid library replaces the stored one; an invalid one is
refused with the file and line to fix, and the last good library stays in the store."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from flows.stages import load_library
from mediawatch.settings import load_settings
from store import reads
from store.db import connection
from tests.rebuttal_library.helpers import entry_text, line_number, write

DEMO = Path(__file__).resolve().parents[2] / "rebuttal_library" / "entries"
TODAY = date(2026, 11, 23)


def stored(db: Path) -> dict[str, tuple[str, str]]:
    with connection(db) as con:
        rows = con.execute("SELECT entry_id, version, status FROM rebuttals").fetchall()
    return {entry_id: (version, status) for entry_id, version, status in rows}


def test_an_invalid_library_is_refused_and_the_last_good_one_stays_in_the_store(tmp_path):
    library = tmp_path / "entries"
    shutil.copytree(DEMO, library)
    settings = load_settings(db=tmp_path / "m.duckdb", library_dir=library)

    loaded = load_library(settings, "run-1", TODAY)
    good = stored(settings.db)
    assert loaded == {"library_entries": 16, "library_usable": 11}
    assert len(good) == 16

    # an analyst breaks one entry and adds another that duplicates a claim of E02
    broken = entry_text("E02", type="type: rebut")
    write(library, "E02-rice-export-ban.md", broken)
    write(library, "E99-new.md", entry_text("E99", claim="Vietnam to ban rice exports"))
    refused = load_library(settings, "run-2", TODAY)

    where = f"E02-rice-export-ban.md:{line_number(broken, 'type: rebut')}: E02: unknown type"
    assert where in refused["library_refused"]
    assert stored(settings.db) == good  # nothing stored is lost
    with connection(settings.db) as con:
        assert {row["entry_id"] for row in reads.library_for_matching(con)} == {
            entry_id for entry_id, (_, status) in good.items() if status != "retired"
        }


def test_loading_the_same_library_twice_changes_nothing(tmp_path):
    settings = load_settings(db=tmp_path / "m.duckdb", library_dir=DEMO)
    load_library(settings, "run-1", TODAY)
    first = stored(settings.db)

    load_library(settings, "run-2", TODAY)

    assert stored(settings.db) == first


def test_an_empty_library_folder_is_refused_and_the_store_keeps_its_entries(tmp_path):
    settings = load_settings(db=tmp_path / "m.duckdb", library_dir=DEMO)
    load_library(settings, "run-1", TODAY)
    empty = tmp_path / "empty"
    empty.mkdir()

    refused = load_library(settings.model_copy(update={"library_dir": empty}), "run-2", TODAY)

    assert "the library is empty" in refused["library_refused"]
    assert len(stored(settings.db)) == 16
