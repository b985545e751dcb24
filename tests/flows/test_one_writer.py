"""One writer, many readers: readers keep answering during a run and never see half of one.

A first run publishes a snapshot. A second run, with more outlets, is then started as its own
process; while it writes, this test reads the store as the console does (StoreSource), the
way `mediawatch narratives` does, and asks for the brief. Every read must answer, from a
complete run: the first one's figures or, once published, the second's, nothing between.
Meanwhile a third run is refused with a one-line reason naming the run that writes.
"""

from __future__ import annotations

import json

import pytest

from service.store_access import StoreSource
from store import deferred, snapshots
from store.lock import WriterBusy, current_holder, writer_lock
from tests.flows.conftest import (
    mediawatch,
    place,
    start_mediawatch,
    wait_until,
    write_slice,
)

FIRST = ["vwire", "hanoiledger"]
SECOND = FIRST + ["pacificbrief", "tidewatch"]


def _state(con) -> tuple:
    """What a reader sees: articles, narratives, and whether any run is half-way."""
    articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    narratives = con.execute("SELECT count(*) FROM narratives").fetchone()[0]
    running = con.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0]
    return articles, narratives, running


@pytest.fixture(scope="module")
def during_a_run(tmp_path_factory, demo_site, prefect_api):
    where = place(tmp_path_factory, "readers")
    env = where.env(prefect_api)
    first = write_slice(demo_site, FIRST, where.root / "first.yaml")
    second = write_slice(demo_site, SECOND, where.root / "second.yaml")
    done = mediawatch("run", "--sources", str(first), "--db", str(where.db), env=env)
    assert done.returncode == 0, done.stderr
    source = StoreSource(where.db)
    with source.read() as con:
        before = _state(con)

    from fastapi.testclient import TestClient

    from mediawatch.settings import load_settings
    from service.app import create_app

    web = TestClient(create_app(load_settings(db=where.db)))
    answers = [(0, web.get("/api/narratives").json()["total"])]  # before the run
    run = start_mediawatch("run", "--sources", str(second), "--db", str(where.db), env=env,
                           log=where.root / "second.log")  # fmt: skip
    seen, refused, brief, console = [], None, None, None
    try:
        assert wait_until(lambda: current_holder(where.db) is not None, timeout=60)
        refused = mediawatch("run", "--sources", str(second), "--db", str(where.db), env=env)
        brief = mediawatch("brief", "--db", str(where.db), "--format", "md", env=env)
        console = mediawatch("narratives", "--db", str(where.db), "--json", env=env)
        while run.poll() is None:
            with source.read() as con:
                seen.append(_state(con))
            answer = web.get("/api/narratives")
            answers.append((answer.status_code, answer.json().get("total")))
    finally:
        run.wait(timeout=600)
    assert run.returncode == 0, (where.root / "second.log").read_text()
    with source.read() as con:
        after = _state(con)
    answers.append((0, web.get("/api/narratives").json()["total"]))  # after it
    return where, before, after, seen, refused, brief, console, answers


def test_readers_answer_throughout_a_run_and_only_from_complete_runs(during_a_run):
    _, before, after, seen, _, _, _, _ = during_a_run
    assert before[0] < after[0]  # the second run really added articles
    assert len(seen) > 20  # the reader kept asking while the run wrote
    assert set(seen) <= {before, after}
    assert all(running == 0 for _, _, running in seen)


def test_console_command_answers_from_the_snapshot_during_a_run(during_a_run):
    _, before, _, _, _, _, console, _ = during_a_run
    assert console.returncode == 0, console.stderr
    assert len(json.loads(console.stdout)) == before[1]


def test_the_http_console_answers_every_request_during_a_run(during_a_run):
    answers = during_a_run[-1]
    (_, first), during, (_, last) = answers[0], answers[1:-1], answers[-1]
    assert len(during) > 5 and first < last
    assert {status for status, _ in during} == {200}  # never 503 "busy"
    assert {count for _, count in during} <= {first, last}  # one complete run or the other


def test_a_second_writer_is_refused_with_the_name_of_the_run_that_writes(during_a_run):
    where, _, _, _, refused, _, _, _ = during_a_run
    assert refused.returncode == 2
    message = refused.stderr.strip()
    assert "\n" not in message
    assert f"database {where.db} is being written by mediawatch-run run" in message


def test_brief_during_a_run_is_written_and_its_record_left_for_the_next_run(during_a_run):
    where, _, _, _, _, brief, _, _ = during_a_run
    assert brief.returncode == 0, brief.stderr
    assert "recorded by the next run" in brief.stdout
    # the second run had started before the brief, so the record waits for the next writer
    assert list(deferred.deferred_dir(where.db).glob("brief-*.json"))


def test_snapshots_are_published_per_run_and_old_ones_pruned(during_a_run):
    where, _, _, _, _, _, _, _ = during_a_run
    names = [p.name for p in snapshots.published(where.db)]
    assert len(names) == 2
    assert snapshots.current(where.db).name == names[-1]


def test_a_writer_waits_for_the_lock_up_to_its_limit_then_names_the_holder(tmp_path):
    db = tmp_path / "m.duckdb"
    holder = {"run_id": "run-a", "flow": "ingest"}
    with writer_lock(db, holder):
        with (
            pytest.raises(WriterBusy, match="after waiting 0.5 s") as busy,
            writer_lock(db, {"run_id": "run-b", "flow": "analyze"}, wait_s=0.5),
        ):
            pass
        assert "ingest run run-a" in str(busy.value)
    with writer_lock(db, {"run_id": "run-c", "flow": "analyze"}):  # free again
        assert current_holder(db)["run_id"] == "run-c"
    assert current_holder(db) is None


def test_deferred_brief_records_are_applied_once_by_the_next_writer(tmp_path):
    from store import writes
    from store.db import connection

    db = tmp_path / "m.duckdb"
    record = {"week": "2026-W47", "fmt": "md", "path": "/x/brief-2026-W47.md",
              "content_sha256": "ab" * 32, "runs_read": ["r1"], "run_id": "manual"}  # fmt: skip
    with writer_lock(db, {"run_id": "r2", "flow": "ingest"}):
        assert not deferred.record_brief_when_possible(db, record)
    with connection(db) as con:
        assert deferred.apply(con, db) == 1
        assert deferred.apply(con, db) == 0
        rows = con.execute("SELECT week, format, runs_read FROM briefs").fetchall()
        writes.record_brief(con, **record)  # applying it again changes nothing
        assert con.execute("SELECT week, format, runs_read FROM briefs").fetchall() == rows
    assert rows == [("2026-W47", "md", ["r1"])]
