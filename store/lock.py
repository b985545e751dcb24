"""One writer at a time: the run lock beside the database file.

DuckDB lets one process write a file, but a run opens and closes its connection stage by
stage, so two runs could interleave their stages. Every flow that writes holds this lock for
the whole run. It is an `flock` on `<db>.lock`: the kernel releases it when the process
ends, even by SIGKILL, so a killed run never leaves a stale lock behind. The file holds who
has it (run id, flow, pid, since), for the error the next writer sees.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from store.db import StoreError


class WriterBusy(StoreError):
    """Another run is writing to this database."""


def lock_path(db: Path) -> Path:
    return Path(db).with_name(Path(db).name + ".lock")


def current_holder(db: Path) -> dict | None:
    """Who holds the run lock now, or None when nobody does."""
    path = lock_path(db)
    if not path.exists():
        return None
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(path)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


@contextmanager
def writer_lock(db: Path, holder: dict, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the run lock of `db`, waiting up to `wait_s` seconds for another run to end.

    Raises WriterBusy, naming the run that holds it, when it stays taken.
    """
    path = lock_path(db)
    if not path.parent.is_dir():
        raise StoreError(f"database folder {path.parent} does not exist")
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the whole run)
    try:
        deadline = time.monotonic() + max(0.0, wait_s)
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WriterBusy(busy_message(db, _holder(path), wait_s)) from None
                time.sleep(0.25)
        handle.seek(0)
        handle.truncate()
        since = datetime.now(UTC).isoformat(timespec="seconds")
        handle.write(json.dumps(holder | {"pid": os.getpid(), "since": since}))
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the flock


def _holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def busy_message(db: Path, holder: dict, wait_s: float) -> str:
    who = holder.get("flow", "another run")
    if holder.get("run_id"):
        who += f" run {holder['run_id']}"
    if holder.get("pid"):
        who += f" (pid {holder['pid']}, since {holder.get('since', '?')})"
    waited = f" after waiting {wait_s:g} s" if wait_s > 0 else ""
    return f"database {db} is being written by {who}{waited}; try again when it ends"
