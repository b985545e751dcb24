"""Opening the DuckDB file and bringing its schema up to date.

Migrations are numbered SQL files in `store/migrations/`; each is applied once, in order,
inside a transaction, and recorded in `schema_migrations`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
Connection = duckdb.DuckDBPyConnection


class StoreError(RuntimeError):
    """The database cannot be used as asked (bad path, locked, not a DuckDB file, …)."""


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        number = int(path.name.split("_", 1)[0])
        found.append((number, path.stem, path.read_text(encoding="utf-8")))
    return found


def _check_path(path: Path, *, must_exist: bool) -> None:
    if path.exists() and path.is_dir():
        raise StoreError(f"database path {path} is a directory, not a DuckDB file")
    if must_exist and not path.exists():
        raise StoreError(f"database {path} does not exist (run `mediawatch run` first)")
    if not path.parent.exists():
        raise StoreError(f"database folder {path.parent} does not exist")


def open_db(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and for writers, migrate) the store; raise StoreError with one clear line."""
    path = Path(path)
    _check_path(path, must_exist=read_only)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        message = str(exc).splitlines()[0]
        if "lock" in message.lower():
            raise StoreError(f"database {path} is locked by another writer: {message}") from exc
        raise StoreError(f"cannot open database {path}: {message}") from exc
    except duckdb.Error as exc:
        raise StoreError(f"cannot open database {path}: {str(exc).splitlines()[0]}") from exc
    if not read_only:
        migrate(con)
    else:
        _require_schema(con, path)
    return con


@contextmanager
def connection(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_db(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


# connections (by id) inside a `transaction` block: inner blocks join the outer transaction
_IN_TRANSACTION: set[int] = set()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All writes inside commit together or not at all (a killed process commits nothing).

    Re-entrant: a write function that makes its own transaction joins the caller's, so a
    stage can make several writes atomic without the writes knowing about each other.
    """
    key = id(con)
    if key in _IN_TRANSACTION:
        yield con
        return
    con.execute("BEGIN TRANSACTION")
    _IN_TRANSACTION.add(key)
    try:
        yield con
    except BaseException:
        _IN_TRANSACTION.discard(key)
        con.execute("ROLLBACK")
        raise
    _IN_TRANSACTION.discard(key)
    con.execute("COMMIT")


def _require_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    if "schema_migrations" not in tables:
        raise StoreError(f"{path} is not a Mediawatch database (no schema_migrations table)")


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations; return the numbers applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    done = {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for number, name, sql in _migrations():
        if number in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [number, name, datetime.now(UTC)],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(number)
    return applied


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)
