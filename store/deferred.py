"""Writes that a reader had to leave for the next writer.

`mediawatch brief` reads a snapshot and may run while a flow holds the database; it cannot
record its `briefs` row then. It leaves the row here, as one JSON file, and the next writing
run applies it when it starts (flows/runs.py). Applying is idempotent: `record_brief` keeps
one row per week and format.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import duckdb

from store import writes


def deferred_dir(db: Path) -> Path:
    db = Path(db)
    return db.with_name(db.stem + ".deferred")


def defer_brief(db: Path, record: dict[str, Any]) -> Path:
    """Leave a `briefs` row (the arguments of writes.record_brief) for the next writer."""
    folder = deferred_dir(db)
    folder.mkdir(parents=True, exist_ok=True)
    body = json.dumps(record, sort_keys=True, default=str)
    path = folder / f"brief-{hashlib.sha256(body.encode()).hexdigest()[:16]}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, path)
    return path


def record_brief_when_possible(db: Path, record: dict[str, Any]) -> bool:
    """Record a `briefs` row now if no run is writing (True), else defer it (False)."""
    from store.db import StoreError, connection
    from store.lock import current_holder

    if current_holder(db) is None:
        try:
            with connection(db) as con:
                writes.record_brief(con, **record)
            return True
        except StoreError as exc:
            if "locked" not in str(exc):
                raise
    defer_brief(db, record)
    return False


def apply(con: duckdb.DuckDBPyConnection, db: Path) -> int:
    """Record every deferred row (oldest first), then remove its file; returns how many."""
    folder = deferred_dir(db)
    if not folder.is_dir():
        return 0
    done = 0
    for path in sorted(folder.glob("brief-*.json"), key=lambda p: p.stat().st_mtime_ns):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            writes.record_brief(con, **record)
        except (OSError, ValueError, TypeError):
            continue  # a damaged file is left for an analyst to look at, never guessed at
        path.unlink(missing_ok=True)
        done += 1
    return done
