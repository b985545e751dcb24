"""Read-only access to the store for the console, one short connection per question.

DuckDB lets a read-only connection open only while no other process holds the write lock, and
a reader that stays open would block the pipeline's writers. So the console opens a read-only
connection per request and closes it at once. A lock held by a writer becomes `StoreBusy`
(the HTTP layer answers 503 with Retry-After).

`StoreSource.current()` is the one place that says which file to read: the newest snapshot a
writing run published (store/snapshots.py), so the console keeps answering from the last
complete run while a flow writes, or the database itself before any snapshot exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from store import snapshots
from store.db import StoreError, open_db

RETRY_AFTER_S = 5


class StoreBusy(RuntimeError):
    """A writer holds the database; try again in a few seconds."""

    retry_after = RETRY_AFTER_S


class StoreUnavailable(RuntimeError):
    """The database is missing or is not a Mediawatch store."""


@dataclass(frozen=True)
class StoreSource:
    path: Path

    def current(self) -> Path:
        """The file readers open now: the newest published snapshot, else the database."""
        return snapshots.current(Path(self.path))

    def version(self) -> tuple:
        """Changes whenever the file readers see may have changed (for in-memory caches)."""
        path = self.current()
        parts: list = [str(path)]
        for p in (path, path.with_name(path.name + ".wal")):
            try:
                st = p.stat()
                parts += [st.st_mtime_ns, st.st_size]
            except FileNotFoundError:
                parts += [None, None]
        return tuple(parts)

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            con = open_db(self.current(), read_only=True)
        except StoreError as exc:
            if is_lock_error(exc):
                raise StoreBusy(str(exc)) from exc
            raise StoreUnavailable(str(exc)) from exc
        try:
            yield con
        finally:
            con.close()


def is_lock_error(exc: BaseException) -> bool:
    """Did opening fail because another process holds the database's lock?"""
    cause = exc.__cause__
    if isinstance(cause, duckdb.IOException):
        return "lock" in str(cause).lower()
    return "locked" in str(exc).lower()
