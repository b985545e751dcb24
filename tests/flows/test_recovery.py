"""A run killed at any point and started again leaves the database an unbroken run leaves.

One uninterrupted `mediawatch run` on a slice of the demo outlets is the reference. Then, for
each of five points (mid-fetch, mid-write, mid-embed, mid-cluster, mid-brief), a fresh store
gets a run that is killed there with SIGKILL (no cleanup of any kind), then a second run.
Every table's content must equal the reference's (less the columns that say which run wrote
a row and when), and so must the brief; the killed run is recorded as abandoned.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.flows.conftest import (
    brief_markdown,
    contents,
    mediawatch,
    place,
    runs,
    start_mediawatch,
    wait_until,
    write_slice,
)

# the wire service, an outlet that republishes it, the feed that fails
SLICE = ["vwire", "saigonmorning", "huehomnay"]
# small chunks, so that "mid-embed" falls between two stored chunks of vectors
SETTINGS = {"analysis_chunk": "16"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, demo_site, prefect_api):
    where = place(tmp_path_factory, "reference")
    sources = write_slice(demo_site, SLICE, where.root / "sources.yaml")
    done = mediawatch("run", "--sources", str(sources), "--db", str(where.db),
                      env=where.env(prefect_api, **SETTINGS))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return sources, contents(where.db), brief_markdown(where.root / "briefs")


def _recover(where, sources, prefect_api) -> None:
    again = mediawatch("run", "--sources", str(sources), "--db", str(where.db),
                       env=where.env(prefect_api, **SETTINGS))  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr


def _same_as_reference(where, reference) -> None:
    _, tables, briefs = reference
    found = contents(where.db)
    assert found.keys() == tables.keys()
    for table, rows in tables.items():
        assert found[table] == rows, f"table {table} differs after recovery"
    assert brief_markdown(where.root / "briefs") == briefs
    assert [status for flow, status in runs(where.db)] == ["abandoned", "completed"]


@pytest.mark.parametrize(
    "point", ["store articles", "embed", "cluster narratives", "write brief"]
)
def test_a_run_killed_at_a_failpoint_then_run_again_ends_as_an_unbroken_run(
    point, reference, tmp_path_factory, prefect_api
):
    sources, tables, _ = reference
    where = place(tmp_path_factory, point.replace(" ", "-"))
    killed = mediawatch("run", "--sources", str(sources), "--db", str(where.db),
                        env=where.env(prefect_api, **SETTINGS, failpoint=point))  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert contents(where.db) != tables  # the kill really left the work unfinished
    _recover(where, sources, prefect_api)
    _same_as_reference(where, reference)


def test_a_run_killed_while_it_fetches_pages_then_run_again_ends_as_an_unbroken_run(
    reference, tmp_path_factory, prefect_api, demo_site
):
    sources, _, _ = reference
    where = place(tmp_path_factory, "mid-fetch")
    served = len(demo_site.requests)

    def pages_served() -> int:  # article pages: not feeds, not robots.txt
        return sum(1 for r in demo_site.requests[served:]
                   if not r.path.endswith((".xml", ".txt", ".json")))  # fmt: skip

    env = where.env(prefect_api, **SETTINGS)
    run = start_mediawatch("run", "--sources", str(sources), "--db", str(where.db),
                           env=env, log=where.root / "killed.log")  # fmt: skip
    try:
        assert wait_until(lambda: pages_served() >= 10, timeout=120), "no page was fetched"
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # the run and its crawl children, at once
        run.wait()
    assert run.returncode == -signal.SIGKILL
    _recover(where, sources, prefect_api)
    _same_as_reference(where, reference)
