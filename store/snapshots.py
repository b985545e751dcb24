"""Read snapshots: readers never see a half-written run and never wait for a writer.

DuckDB allows one writing process and, while it writes, no reader in another process. So
each writing run ends by publishing a snapshot: the database is checkpointed, copied beside
itself (a reflink where the file system offers one, else a plain copy), and `CURRENT` is
replaced atomically to name the copy. The console, `mediawatch brief` and the other readers
open the file `current()` names, read-only; a snapshot is never written again. A reader that
still has an older snapshot open keeps reading it (an unlinked file lives on until closed).

Layout, for `data/mediawatch.duckdb`:

    data/mediawatch.snapshots/CURRENT                       -> "20261207T231501-<run>.duckdb"
    data/mediawatch.snapshots/20261207T231501-<run>.duckdb
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

CURRENT = "CURRENT"
FICLONE = 0x40049409  # Linux ioctl: share the blocks of a file (btrfs, xfs, ...)


def snapshot_dir(db: Path) -> Path:
    db = Path(db)
    return db.with_name(db.stem + ".snapshots")


def current(db: Path) -> Path:
    """The file readers should open: the newest published snapshot, else the database."""
    folder = snapshot_dir(db)
    try:
        name = (folder / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return Path(db)
    path = folder / name
    return path if name and path.is_file() else Path(db)


def publish(db: Path, run_id: str, keep: int = 3) -> Path:
    """Publish the database as it is now as the readers' snapshot; returns its path.

    Only the writer calls this, holding the run lock (store/lock.py), with no connection of
    its own still open.
    """
    db = Path(db)
    con = duckdb.connect(str(db))
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()
    folder = snapshot_dir(db)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    name = f"{stamp}-{re.sub(r'[^A-Za-z0-9_-]', '_', run_id)[:40]}.duckdb"
    tmp = folder / f".{name}.tmp"
    _copy(db, tmp)
    os.replace(tmp, folder / name)
    pointer = folder / f".{CURRENT}.tmp"
    pointer.write_text(name + "\n", encoding="utf-8")
    _fsync(pointer)
    os.replace(pointer, folder / CURRENT)
    _prune(folder, keep=max(1, keep), current_name=name)
    return folder / name


def withdraw(db: Path) -> None:
    """Readers go back to the database itself (snapshots turned off in the settings)."""
    (snapshot_dir(db) / CURRENT).unlink(missing_ok=True)


def published(db: Path) -> list[Path]:
    """Snapshots on disk, oldest first."""
    return sorted(snapshot_dir(db).glob("*.duckdb"))


def _copy(source: Path, target: Path) -> None:
    with open(source, "rb") as src, open(target, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
        except OSError:
            shutil.copyfileobj(src, dst, length=16 * 1024 * 1024)
        dst.flush()
        os.fsync(dst.fileno())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(folder: Path, keep: int, current_name: str) -> None:
    snapshots = sorted(p for p in folder.glob("*.duckdb") if p.name != current_name)
    for old in snapshots[: max(0, len(snapshots) - (keep - 1))]:
        old.unlink(missing_ok=True)
    for stale in folder.glob(".*.tmp"):  # a copy a killed writer left half-made
        stale.unlink(missing_ok=True)
