"""Helpers for the orchestration tests: real `mediawatch` processes on slices of the demo.

The runs here are separate processes, as analysts and schedules start them, talking to the
test session's Prefect API (one server for the whole session, see tests/conftest.py), so
each one starts in a few seconds instead of starting a temporary API of its own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

# Columns that say when or under which run a row was written, not what it says: a run that
# was killed and started again writes them differently from one that was not. (A brief's
# hash covers the run ids it names; its text is compared apart, by `brief_markdown`.)
VOLATILE = {"run_id", "first_run_id", "created_run_id", "fetched_at", "seen_at", "created_at",
            "recorded_at", "path", "runs_read", "content_sha256"}  # fmt: skip
# Tables that record the runs themselves (a killed run really made its requests).
RUN_RECORDS = {"runs", "fetch_log", "schema_migrations"}
RUNS_READ = re.compile(r"^- Runs read: .*$", re.MULTILINE)


@pytest.fixture(scope="session")
def prefect_api(prefect_harness) -> str:
    """The session's Prefect API URL, for processes started by the tests."""
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value())


def write_slice(site, outlets: list[str], path: Path) -> Path:
    """A source registry holding only some of the demo outlets."""
    registry = yaml.safe_load(site.sources_yaml())
    registry["outlets"] = [o for o in registry["outlets"] if o["id"] in outlets]
    path.write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    return path


# Settings of every run here: the demo server takes all its outlets at once, and a page it
# fails on purpose is retried after a fifth of a second rather than seconds.
TEST_SETTINGS = {"outlets_per_host": "8", "crawl_retry_backoff_s": "0.2"}


@dataclass
class Place:
    """Where one store lives, with its own briefs and Prefect folders. The work folder is
    shared: runs keep their crawl files apart by run id, and the library index built once
    is loaded by every later run (as it is between runs on one machine)."""

    root: Path
    work: Path

    @property
    def db(self) -> Path:
        return self.root / "m.duckdb"

    def env(self, prefect_api: str, **settings: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PREFECT_API_URL": prefect_api,
                "MEDIAWATCH_BRIEFS_DIR": str(self.root / "briefs"),
                "MEDIAWATCH_WORK_DIR": str(self.work),
                "MEDIAWATCH_PREFECT_HOME": str(self.root / "prefect"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update({f"MEDIAWATCH_{k.upper()}": v for k, v in (TEST_SETTINGS | settings).items()})
        return env


def place(tmp_path_factory, name: str) -> Place:
    return Place(tmp_path_factory.mktemp(name), tmp_path_factory.getbasetemp() / "work")


def mediawatch(
    *args: str, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run the `mediawatch` command as a user would, in its own process group."""
    return subprocess.run(
        [sys.executable, "-m", "mediawatch", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
        check=False,
    )


def start_mediawatch(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mediawatch", *args],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until(condition: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def contents(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows, less the columns that only say when and by which run."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]  # fmt: skip
        found = {}
        for table in tables:
            if table in RUN_RECORDS:
                continue
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
                " ORDER BY ordinal_position", [table]).fetchall() if c not in VOLATILE]  # fmt: skip
            found[table] = con.execute(
                f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL"
            ).fetchall()
        return found
    finally:
        con.close()


def brief_markdown(folder: Path) -> dict[str, str]:
    """The Markdown briefs of a folder, less the line naming the runs read (a recovered
    store holds rows of the killed run and of the one after it)."""
    return {p.name: RUNS_READ.sub("- Runs read: …", p.read_text(encoding="utf-8"))
            for p in sorted(folder.glob("*.md"))}  # fmt: skip


def runs(db: Path) -> list[tuple[str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT flow, status FROM runs ORDER BY started_at").fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_site() -> Iterator:
    from demo.server import serve_demo_outlets

    with serve_demo_outlets() as site:
        yield site
