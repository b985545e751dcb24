"""The store: schema by numbered migrations, clear errors, idempotent batched writes."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import numpy as np
import pytest

from mediawatch.records import Article, FetchRecord, Match, Narrative, content_hash, stable_id
from store import reads, writes
from store.db import MIGRATIONS_DIR, StoreError, connection, open_db, schema_version

CONTRACT_TABLES = {
    "sources", "fetch_log", "articles", "article_versions", "entities", "embeddings",
    "narratives", "narrative_members", "narrative_lineage", "rebuttals", "matches", "runs",
    "briefs", "schema_migrations",
}


def _article(n: int, text: str = "Body text of the article.") -> Article:
    url = f"http://127.0.0.1/demo/a{n}.html"
    when = datetime(2026, 11, 10, 8, n, tzinfo=UTC)
    return Article(
        article_id=stable_id(url), outlet_id="demo", url=url, canonical_url=url,
        title=f"Headline {n}", text=text, published_at=when, language="en", byline=None,
        content_hash=content_hash(f"Headline {n}", text), fetched_at=when,
    )


def _table(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()


def test_new_database_has_every_contract_table_from_numbered_migrations(tmp_path):
    with connection(tmp_path / "m.duckdb") as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
                  .fetchall()}
        assert tables >= CONTRACT_TABLES
        names = [r[0] for r in con.execute(
            "SELECT name FROM schema_migrations ORDER BY version").fetchall()]
        assert names == [p.stem for p in sorted(MIGRATIONS_DIR.glob("*.sql"))]
        assert names[0] == "001_schema_v1"
        assert schema_version(con) == int(names[-1][:3])


def test_reopening_applies_no_migration_twice(tmp_path):
    open_db(tmp_path / "m.duckdb").close()
    with connection(tmp_path / "m.duckdb") as con:
        count = con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
        assert count == len(list(MIGRATIONS_DIR.glob("*.sql")))


def test_database_path_that_is_a_directory_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="is a directory"):
        open_db(tmp_path)


def test_database_in_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="folder .* does not exist"):
        open_db(tmp_path / "nope" / "m.duckdb")


def test_file_that_is_not_a_database_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("these are an analyst's notes, not a database")
    with pytest.raises(StoreError, match="cannot open database"):
        open_db(path)
    assert path.read_text() == "these are an analyst's notes, not a database"


def test_reading_a_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_db(tmp_path / "m.duckdb", read_only=True)


def test_second_writer_gets_a_lock_error_not_a_corrupt_file(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "m.duckdb"
    with connection(path):
        code = (
            "import sys\nfrom pathlib import Path\nfrom store.db import open_db, StoreError\n"
            "try:\n    open_db(Path(sys.argv[1]))\nexcept StoreError as e:\n"
            "    print(e); sys.exit(3)\n"
        )
        done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                              text=True)
    assert done.returncode == 3
    assert "locked" in done.stdout


def test_writing_the_same_articles_twice_changes_nothing(tmp_path):
    with connection(tmp_path / "m.duckdb") as con:
        batch = [_article(n) for n in range(5)]
        assert writes.upsert_articles(con, batch, "run-1") == {
            "new": 5, "changed": 0, "unchanged": 0}
        before = {t: _table(con, t) for t in ("articles", "article_versions")}
        assert writes.upsert_articles(con, batch, "run-2") == {
            "new": 0, "changed": 0, "unchanged": 5}
        assert {t: _table(con, t) for t in before} == before


def test_changed_text_adds_a_version_and_keeps_the_old_one(tmp_path):
    with connection(tmp_path / "m.duckdb") as con:
        writes.upsert_articles(con, [_article(1)], "run-1")
        edited = _article(1, text="Body text of the article, corrected later.")
        assert writes.upsert_articles(con, [edited], "run-2")["changed"] == 1
        versions = con.execute(
            "SELECT text, run_id FROM article_versions ORDER BY run_id").fetchall()
        assert versions == [("Body text of the article.", "run-1"),
                            ("Body text of the article, corrected later.", "run-2")]
        row = con.execute("SELECT text, first_run_id, run_id FROM articles").fetchone()
        assert row == ("Body text of the article, corrected later.", "run-1", "run-2")


def test_fetch_log_keeps_one_row_per_request_and_run(tmp_path):
    when = datetime(2026, 11, 10, tzinfo=UTC)
    failed = FetchRecord("demo", "http://127.0.0.1/x", "page", 500, 0, 3.0, when,
                         "HTTPError 500", "server error")
    with connection(tmp_path / "m.duckdb") as con:
        writes.insert_fetch_log(con, [failed], "run-1")
        writes.insert_fetch_log(con, [failed], "run-1")
        writes.insert_fetch_log(con, [failed], "run-2")
        assert con.execute("SELECT run_id, error_class FROM fetch_log ORDER BY run_id")\
            .fetchall() == [("run-1", "HTTPError 500"), ("run-2", "HTTPError 500")]


def test_embeddings_are_cached_by_model_and_content_hash(tmp_path):
    vectors = np.eye(3, 4, dtype=np.float32)
    with connection(tmp_path / "m.duckdb") as con:
        writes.insert_embeddings(con, "model-a", ["h1", "h2", "h3"], vectors, "run-1")
        writes.insert_embeddings(con, "model-a", ["h1"], vectors[:1] * 0, "run-2")
        cached = reads.cached_embeddings(con, "model-a", ["h1", "h3", "h9"])
        assert sorted(cached) == ["h1", "h3"]
        np.testing.assert_array_equal(cached["h1"], vectors[0])
        assert reads.cached_embeddings(con, "model-b", ["h1"]) == {}


def test_rewriting_the_same_narratives_and_matches_keeps_their_run_ids(tmp_path):
    narrative = Narrative("n1", "Label", ["k"], ["a1", "a2"], "a1", None, None, "a2",
                          {"a1": 0.9, "a2": 0.95})
    centroid = {"n1": np.array([0.6, 0.8], dtype=np.float32)}
    match = Match("n1", "E01", "v1", 0.91, 1, True)
    with connection(tmp_path / "m.duckdb") as con:
        writes.replace_narratives(con, [narrative], centroid, "m", "run-1")
        writes.replace_matches(con, [match], "run-1")
        writes.replace_narratives(con, [narrative], centroid, "m", "run-2")
        writes.replace_matches(con, [match], "run-2")
        assert con.execute("SELECT DISTINCT run_id FROM narratives").fetchall() == [("run-1",)]
        assert con.execute("SELECT DISTINCT run_id FROM narrative_members").fetchall() == [
            ("run-1",)]
        assert con.execute("SELECT run_id FROM matches").fetchall() == [("run-1",)]
        # a narrative that is gone is removed with its members and matches
        writes.replace_narratives(con, [], {}, "m", "run-3")
        writes.replace_matches(con, [], "run-3")
        assert con.execute("SELECT count(*) FROM narrative_members").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM matches").fetchone()[0] == 0
