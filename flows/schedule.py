"""`mediawatch schedule`: a Prefect server and the deployments that run Mediawatch on time.

Prefect's temporary local API cannot schedule (a cron on it never fires), so scheduling needs
a real server. Unless `PREFECT_API_URL` names one, this starts `prefect server start` on
127.0.0.1 (SQLite and the UI, analytics off, its home under data/prefect/server) and stops
it on exit. Then it serves, from this process:

- `ingest/mediawatch-ingest`: every hour (settings.ingest_cron, office time zone);
- `analyze/mediawatch-analyze`: after each completed ingest (an event trigger);
- `weekly-brief/mediawatch-weekly-brief`: Monday 07:00 Asia/Ho_Chi_Minh (settings.brief_cron);
- `backfill/mediawatch-backfill`: no schedule, for runs started by hand with a date range.

Each deployment runs one flow at a time, and a scheduled run waits for the run lock
(settings.scheduled_writer_wait_s) when another run is writing. `prefect.yaml` at the top
of the project describes the same deployments for a work pool.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediawatch.settings import Settings

INGEST = "mediawatch-ingest"
ANALYZE = "mediawatch-analyze"
WEEKLY = "mediawatch-weekly-brief"
BACKFILL = "mediawatch-backfill"
SERVER_START_TIMEOUT_S = 180.0


class ScheduleError(RuntimeError):
    """The schedules cannot be served as configured (bad cron, no server, ...)."""


@dataclass(frozen=True)
class Schedules:
    """The cron schedules, checked (a bad cron or time zone is refused before anything runs)."""

    ingest: Any
    weekly: Any

    @classmethod
    def from_settings(cls, config: Settings) -> Schedules:
        from prefect.client.schemas.schedules import CronSchedule
        from pydantic import ValidationError

        made = {}
        for name, cron in (("ingest_cron", config.ingest_cron), ("brief_cron", config.brief_cron)):
            try:
                made[name] = CronSchedule(cron=cron, timezone=config.timezone)
            except ValidationError as exc:
                reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
                raise ScheduleError(f"invalid setting {name} {cron!r}: {reason}") from exc
        return cls(ingest=made["ingest_cron"], weekly=made["brief_cron"])


# -- the Prefect server ---------------------------------------------------------------------


def api_healthy(url: str, timeout_s: float = 3.0) -> bool:
    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/health", timeout=timeout_s)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def check_api(url: str) -> None:
    """A Prefect API named by PREFECT_API_URL must answer, or nothing can be scheduled."""
    if not api_healthy(url, timeout_s=5.0):
        raise ScheduleError(
            f"the Prefect API at {url} (PREFECT_API_URL) does not answer; start it, or unset "
            "PREFECT_API_URL to let Mediawatch start its own server"
        )


@contextmanager
def prefect_server(config: Settings, log_path: Path | None = None) -> Iterator[str]:
    """The API URL of a Prefect server: the one in PREFECT_API_URL, one already listening on
    settings.prefect_port, or a new one started here (and stopped on exit)."""
    given = os.environ.get("PREFECT_API_URL")
    if given:
        check_api(given)
        yield given
        return
    url = f"http://127.0.0.1:{config.prefect_port}/api"
    if api_healthy(url):
        yield url
        return
    home = config.prefect_home / "server"
    home.mkdir(parents=True, exist_ok=True)
    log_path = log_path or home / "server.log"
    env = os.environ | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "prefect", "server", "start",
               "--host", "127.0.0.1", "--port", str(config.prefect_port)]  # fmt: skip
    with open(log_path, "ab") as log:
        server = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_end_with_parent,  # one libc call, in the child before it runs
        )
    try:
        _wait_healthy(url, server, log_path)
        yield url
    finally:
        _stop(server)


def _end_with_parent() -> None:
    """In the server's process, before it starts: end when `schedule` ends, however it ends
    (a killed `schedule` must not leave a server holding the port)."""
    import contextlib
    import ctypes

    pr_set_pdeathsig = 1
    # not Linux: no such call, and `prefect_server`'s `finally` stops it on a normal exit
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _wait_healthy(url: str, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
            raise ScheduleError(
                f"the Prefect server exited with code {server.returncode}: "
                f"{tail[0] if tail else 'no output'} (log: {log_path})"
            )
        if api_healthy(url, timeout_s=2.0):
            return
        time.sleep(0.5)
    raise ScheduleError(
        f"the Prefect server did not answer at {url} within {SERVER_START_TIMEOUT_S:g} s "
        f"(log: {log_path})"
    )


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


# -- the deployments -------------------------------------------------------------------------


def deployments(config: Settings) -> list[Any]:
    """The four deployments, carrying the settings as their parameter."""
    from prefect.deployments.runner import EntrypointType
    from prefect.events import DeploymentEventTrigger

    from flows.analyze import analyze
    from flows.backfill import backfill
    from flows.ingest import ingest
    from flows.weekly import weekly_brief

    schedules = Schedules.from_settings(config)
    # a scheduled run that finds another writing waits for it instead of failing
    settings = config.model_copy(update={"writer_wait_s": config.scheduled_writer_wait_s})
    parameters = {"settings": settings.model_dump(mode="json")}
    common = {
        "entrypoint_type": EntrypointType.MODULE_PATH,
        "concurrency_limit": 1,
        "tags": ["mediawatch"],
        "paused": False,
    }
    after_ingest = DeploymentEventTrigger(
        name="analyze after each ingest",
        expect={"prefect.flow-run.Completed"},
        match_related={"prefect.resource.role": "deployment", "prefect.resource.name": INGEST},
        parameters=parameters,
    )
    return [
        ingest.to_deployment(
            INGEST, schedules=[schedules.ingest], parameters=parameters,
            description="Collect every enabled outlet (hourly by default).", **common,
        ),
        analyze.to_deployment(
            ANALYZE, triggers=[after_ingest], parameters=parameters,
            description="Language, entities, vectors, narratives, matches: after each ingest.",
            **common,
        ),
        weekly_brief.to_deployment(
            WEEKLY, schedules=[schedules.weekly], parameters=parameters,
            description="The weekly brief of the last complete week.", **common,
        ),
        backfill.to_deployment(
            BACKFILL, parameters=parameters,
            description="Catch up on a date range (give since and until).", **common,
        ),
    ]  # fmt: skip


def describe(config: Settings) -> list[str]:
    return [
        f"ingest/{INGEST}: cron {config.ingest_cron!r} ({config.timezone})",
        f"analyze/{ANALYZE}: after each completed ingest",
        f"weekly-brief/{WEEKLY}: cron {config.brief_cron!r} ({config.timezone})",
        f"backfill/{BACKFILL}: by hand (since, until)",
    ]


def serve_deployments(config: Settings, api_url: str) -> None:
    """Serve the deployments on the server at `api_url` until SIGINT or SIGTERM."""
    from prefect import serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # Prefect read its settings when first imported; the flow runs it starts get the URL
    # from the environment, this process from the settings context
    os.environ["PREFECT_API_URL"] = api_url
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            serve(*deployments(config), print_starting_message=True, pause_on_shutdown=False)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
