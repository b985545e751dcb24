"""`mediawatch schedule`: its own Prefect server, the deployments, runs on time and in order.

The command is started as an analyst starts it, with no PREFECT_API_URL, so it starts a
Prefect server of its own on 127.0.0.1. The test then asks that server's REST API what it
holds: four deployments with their cron schedules and the trigger that runs the analysis
after each ingest, and runs the scheduler has already planned. It starts an ingest now (as
the hourly schedule would), and waits for the analysis that the trigger starts after it.
Stopping the command stops the server too.
"""

from __future__ import annotations

import signal
import socket

import httpx
import pytest

from flows.schedule import ANALYZE, BACKFILL, INGEST, WEEKLY, api_healthy
from tests.flows.conftest import mediawatch, place, start_mediawatch, wait_until, write_slice

SLICE = ["vwire", "hanoiledger"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(api: str, path: str, body: dict | None = None) -> object:
    response = httpx.post(f"{api}{path}", json=body or {}, timeout=30)
    response.raise_for_status()
    return response.json()


def _runs_of(api: str, deployment_id: str, state: str | None = None) -> list[dict]:
    body: dict = {"flow_runs": {"deployment_id": {"any_": [deployment_id]}}}
    if state:
        body["flow_runs"]["state"] = {"type": {"any_": [state]}}
    return _post(api, "/flow_runs/filter", body)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory, demo_site):
    where = place(tmp_path_factory, "schedule")
    sources = write_slice(demo_site, SLICE, where.root / "sources.yaml")
    port = _free_port()
    env = where.env("", prefect_port=str(port))
    env.pop("PREFECT_API_URL")
    log = where.root / "schedule.log"
    process = start_mediawatch("schedule", "--sources", str(sources), "--db", str(where.db),
                               env=env, log=log)  # fmt: skip
    api = f"http://127.0.0.1:{port}/api"
    try:
        started = wait_until(lambda: len(_deployments(api)) == 4, timeout=300, every=1)
        assert started, log.read_text()
        yield where, api, process, log
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=120)


def _deployments(api: str) -> dict[str, dict]:
    """The server's deployments by name (none while it is not up yet)."""
    try:
        found = _post(api, "/deployments/filter")
    except httpx.HTTPError:
        return {}
    return {d["name"]: d for d in found}  # type: ignore[union-attr]


def test_schedule_starts_its_own_server_and_serves_four_deployments(scheduled):
    _, api, _, log = scheduled
    assert f"UI {api.removesuffix('/api')}/deployments" in log.read_text()
    found = _deployments(api)
    assert set(found) == {INGEST, ANALYZE, WEEKLY, BACKFILL}
    crons = {name: [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in d["schedules"]]
             for name, d in found.items()}  # fmt: skip
    assert crons[INGEST] == [("0 * * * *", "Asia/Ho_Chi_Minh")]
    assert crons[WEEKLY] == [("0 7 * * 1", "Asia/Ho_Chi_Minh")]
    assert crons[ANALYZE] == crons[BACKFILL] == []
    assert all(d["global_concurrency_limit"]["limit"] == 1 for d in found.values())


def test_the_scheduler_plans_the_hourly_ingest_and_the_monday_brief(scheduled):
    _, api, _, _ = scheduled
    found = _deployments(api)
    for name in (INGEST, WEEKLY):
        planned = wait_until(
            lambda name=name: _runs_of(api, found[name]["id"], "SCHEDULED"), timeout=90, every=1
        )
        assert planned, f"no run of {name} was scheduled"
    monday = _runs_of(api, found[WEEKLY]["id"], "SCHEDULED")[0]["expected_start_time"]
    assert monday.endswith("00:00:00Z") or "T00:00:00" in monday  # 07:00 in Ho Chi Minh City


def test_an_ingest_run_is_followed_by_the_analysis(scheduled):
    where, api, _, log = scheduled
    found = _deployments(api)
    _post(api, f"/deployments/{found[INGEST]['id']}/create_flow_run")

    def finished(name: str) -> bool:
        return bool(_runs_of(api, found[name]["id"], "COMPLETED"))

    assert wait_until(lambda: finished(INGEST), timeout=300, every=1), log.read_text()[-3000:]
    assert wait_until(lambda: finished(ANALYZE), timeout=300, every=1), log.read_text()[-3000:]
    from service.store_access import StoreSource

    with StoreSource(where.db).read() as con:
        flows = dict(con.execute("SELECT flow, status FROM runs").fetchall())
        narratives = con.execute("SELECT count(*) FROM narratives").fetchone()[0]
    assert flows == {"ingest": "completed", "analyze": "completed"}
    assert narratives > 0


def test_stopping_the_schedule_stops_its_server(scheduled):
    _, api, process, _ = scheduled
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 0
    assert wait_until(lambda: not api_healthy(api, timeout_s=1), timeout=30)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("ingest_cron", "61 * * * *", "invalid setting ingest_cron '61 * * * *': Invalid cron"),
        ("brief_cron", "every monday", "invalid setting brief_cron 'every monday'"),
        ("timezone", "Mars/Olympus_Mons", "invalid setting timezone"),
    ],
)
def test_bad_schedule_settings_are_refused_before_anything_starts(
    setting, value, message, tmp_path_factory, demo_site
):
    where = place(tmp_path_factory, "bad-schedule")
    sources = write_slice(demo_site, SLICE, where.root / "sources.yaml")
    env = where.env("", **{setting: value})
    env.pop("PREFECT_API_URL")
    done = mediawatch("schedule", "--sources", str(sources), "--db", str(where.db), env=env,
                      timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (where.root / "prefect" / "server").exists()  # no server was started


@pytest.mark.parametrize("command", ["run", "schedule"])
def test_an_unreachable_prefect_api_is_named_in_one_line(command, tmp_path_factory, demo_site):
    where = place(tmp_path_factory, "no-api")
    sources = write_slice(demo_site, SLICE, where.root / "sources.yaml")
    api = f"http://127.0.0.1:{_free_port()}/api"
    done = mediawatch(command, "--sources", str(sources), "--db", str(where.db),
                      env=where.env(api), timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert f"the Prefect API at {api} (PREFECT_API_URL) does not answer" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
