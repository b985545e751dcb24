"""`mediawatch backfill`: a date range caught up, with the brief of every complete week in it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from mediawatch.weeks import last_complete_week, weeks_between
from tests.flows.conftest import mediawatch, place, write_slice


def test_backfill_writes_the_brief_of_every_complete_week_in_the_range(
    tmp_path_factory, demo_site, prefect_api
):
    where = place(tmp_path_factory, "backfill")
    sources = write_slice(demo_site, ["vwire"], where.root / "sources.yaml")
    since = datetime.now(UTC).date() - timedelta(days=20)
    done = mediawatch("backfill", "--since", str(since), "--sources", str(sources),
                      "--db", str(where.db), env=where.env(prefect_api))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    last = last_complete_week("Asia/Ho_Chi_Minh")
    expected = [w.label for w in weeks_between(since, date.today(), "Asia/Ho_Chi_Minh")
                if w.end <= last.end]  # fmt: skip
    assert len(expected) >= 2
    con = duckdb.connect(str(where.db), read_only=True)
    try:
        briefs = con.execute("SELECT DISTINCT week FROM briefs ORDER BY week").fetchall()
        flows = con.execute("SELECT flow, status FROM runs").fetchall()
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        con.close()
    assert [w for (w,) in briefs] == expected
    assert flows == [("backfill", "completed")]
    assert articles > 0
    for week in expected:
        assert (where.root / "briefs" / f"brief-{week}.md").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--since", "2026-13-01"], "--since '2026-13-01' is not a date like 2026-11-30"),
        (["--since", "2026-11-10", "--until", "2026-11-01"], "--until 2026-11-01 is before"),
        (["--since", "2026-11-10", "--until", "2999-01-01"], "--until 2999-01-01 is in the future"),
    ],
)
def test_bad_backfill_ranges_are_refused_in_one_line(options, message, tmp_path):
    done = mediawatch("backfill", *options, "--db", str(tmp_path / "m.duckdb"),
                      env=place_env(tmp_path), timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.duckdb").exists()


def place_env(tmp_path) -> dict[str, str]:
    import os

    return dict(os.environ) | {"MEDIAWATCH_WORK_DIR": str(tmp_path / "work")}
