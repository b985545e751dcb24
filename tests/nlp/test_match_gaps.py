"""Gaps: narratives of weight with no usable response over the threshold, and the index
registry a run leaves in the store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from mediawatch.records import Match
from store import reads, writes
from store.db import connection

START = datetime(2026, 11, 16, tzinfo=UTC)
END = START + timedelta(days=7)
PREVIOUS = START - timedelta(days=7)


def _fill(con) -> None:
    """Five narratives with articles this week and last week, and their matches."""
    weights = {  # narrative: (articles this week, last week)
        "answered": (9, 2),
        "draft-only": (8, 1),
        "expired": (8, 6),
        "nothing": (12, 3),
        "light": (2, 0),
    }
    k = 0
    for narrative, (now, before) in weights.items():
        con.execute(
            "INSERT INTO narratives (narrative_id, label, origin_article_id,"
            " representative_article_id, article_count, model_id, created_run_id, run_id)"
            " VALUES (?, ?, 'a', 'a', ?, 'm', 'r', 'r')",
            [narrative, narrative.title(), now + before],
        )
        for n, when in [(now, START + timedelta(days=1)), (before, PREVIOUS + timedelta(days=1))]:
            for _ in range(n):
                k += 1
                con.execute(
                    "INSERT INTO articles (article_id, outlet_id, url, canonical_url, title, text,"
                    " published_at, content_hash, fetched_at, first_run_id, run_id)"
                    " VALUES (?, 'o', ?, ?, 't', 'x', ?, 'h', ?, 'r', 'r')",
                    [f"a{k}", f"u{k}", f"u{k}", when, when],
                )
                con.execute(
                    "INSERT INTO narrative_members VALUES (?, ?, 0.9, 'r')", [f"a{k}", narrative]
                )
    for entry, status, expires in [
        ("E1", "approved", date(2027, 1, 1)),
        ("E2", "draft", None),
        ("E3", "approved", date(2026, 6, 30)),
    ]:
        con.execute(
            "INSERT INTO rebuttals (entry_id, version, type, status, title, claims, response,"
            " expires_at, run_id) VALUES (?, 'v', 'refute', ?, 't', ['c'], 'r', ?, 'r')",
            [entry, status, expires],
        )
    for narrative, entry, above in [
        ("answered", "E1", True),
        ("draft-only", "E2", True),
        ("expired", "E3", True),
        ("nothing", "E1", False),  # a candidate under the threshold does not answer
    ]:
        con.execute(
            "INSERT INTO matches VALUES (?, ?, 'v', 0.9, 1, ?, 'r')", [narrative, entry, above]
        )


def test_gaps_are_heavy_narratives_without_a_usable_match_heaviest_then_fastest(tmp_path):
    with connection(tmp_path / "m.duckdb") as con:
        _fill(con)
        gaps = reads.narrative_gaps(con, START, END, PREVIOUS, date(2026, 11, 23), 5)
    assert [g["narrative_id"] for g in gaps] == ["nothing", "draft-only", "expired"]
    by_id = {g["narrative_id"]: g for g in gaps}
    assert (by_id["draft-only"]["articles"], by_id["draft-only"]["growth"]) == (8, 7)
    assert by_id["nothing"]["matched"] == []
    assert [(m["entry_id"], m["status"]) for m in by_id["draft-only"]["matched"]] == [
        ("E2", "draft")
    ]
    assert by_id["expired"]["matched"][0]["expired"] is True


def test_a_run_records_the_library_index_it_matched_with(tmp_path):
    with connection(tmp_path / "m.duckdb") as con:
        row = {
            "library_version": "abc", "model_id": "m", "kind": "flat", "entries": 3,
            "rows": 9, "path": "/x/abc", "calibration": "platt:1:0@demo", "threshold": 0.885,
        }
        writes.record_library_index(con, row, "run-1")
        writes.record_library_index(con, row, "run-2")
        (found,) = reads.library_index_runs(con)
    assert found["library_version"] == "abc" and found["rows"] == 9
    assert (found["first_run_id"], found["run_id"]) == ("run-1", "run-2")


def test_matches_are_stored_per_run_with_the_entry_version_they_were_made_against(tmp_path):
    def stored(con):
        return con.execute(
            "SELECT narrative_id, entry_id, entry_version, rank, above_threshold, run_id"
            " FROM matches ORDER BY narrative_id, rank"
        ).fetchall()

    first = [Match("n1", "E1", "v-aaa", 0.97, 1, True), Match("n1", "E2", "v-bbb", 0.2, 2, False)]
    with connection(tmp_path / "m.duckdb") as con:
        writes.replace_matches(con, first, "run-1")
        once = stored(con)
        writes.replace_matches(con, first, "run-1")  # the same batch again changes nothing
        assert stored(con) == once == [
            ("n1", "E1", "v-aaa", 1, True, "run-1"),
            ("n1", "E2", "v-bbb", 2, False, "run-1"),
        ]
        # the entry changed after the first run: the next run's match carries its new version
        writes.replace_matches(con, [Match("n1", "E1", "v-ccc", 0.95, 1, True)], "run-2")
        assert stored(con) == [("n1", "E1", "v-ccc", 1, True, "run-2")]
