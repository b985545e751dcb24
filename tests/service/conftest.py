"""Fixtures for the console: the shared demo store (read only), an app, a live server, and a
copy of the store with hostile rows in it."""

from __future__ import annotations

import hashlib
import shutil
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

HOSTILE_TITLE = "<script>alert('title')</script>\"><img src=x onerror=alert(1)> ' OR 1=1; --"
HOSTILE_URL = "javascript:alert(document.cookie)"
FORMULA_TITLE = '=HYPERLINK("http://evil.example","click")'


def store_digest(path: Path) -> str:
    """Hash of the database file and its write-ahead log, if any."""
    digest = hashlib.sha256()
    for p in (path, path.with_name(path.name + ".wal")):
        if p.exists():
            digest.update(p.name.encode())
            digest.update(p.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def console_settings(demo_store):
    settings, _, _ = demo_store
    return settings


@pytest.fixture(scope="session")
def demo_digest(console_settings):
    """The store's hash before the console tests; checked again at the end."""
    before = store_digest(Path(console_settings.db))
    yield before
    assert store_digest(Path(console_settings.db)) == before, "the console changed the store"


@pytest.fixture(scope="session")
def app(console_settings, demo_digest):
    from service.app import create_app

    return create_app(console_settings)


@pytest.fixture(scope="session")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def narratives_by_entry(client) -> dict[str, dict]:
    """The demo's narratives keyed by the library entry matched to them (E01, E04, …)."""
    items = client.get("/api/narratives", params={"limit": 1000}).json()["items"]
    found = {}
    for n in items:
        for r in n["responses"] + n["drafts"]:
            found.setdefault(r["entry_id"], n)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the console did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def live(app):
    """The console on a free loopback port, in a thread of the test process."""
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def hostile_store(tmp_path_factory, console_settings):
    """A copy of the demo store with hostile articles in its biggest narrative."""
    from mediawatch.records import Article, content_hash
    from store import writes
    from store.db import connection

    tmp = tmp_path_factory.mktemp("hostile")
    db = tmp / "hostile.duckdb"
    shutil.copy(console_settings.db, db)
    now = datetime.now(UTC)
    articles = [
        Article(
            article_id="hostile0000000001",
            outlet_id="meridian",
            url=HOSTILE_URL,
            canonical_url=HOSTILE_URL,
            title=HOSTILE_TITLE,
            text="<b>bold</b> <iframe src=//evil.example></iframe> body text",
            published_at=now,
            language="en",
            byline=None,
            content_hash=content_hash(HOSTILE_TITLE, "x"),
            fetched_at=now,
        ),
        Article(
            article_id="hostile0000000002",
            outlet_id="meridian",
            url="https://meridian.example/formula",
            canonical_url="https://meridian.example/formula",
            title=FORMULA_TITLE,
            text="a spreadsheet formula as a title",
            published_at=now,
            language="en",
            byline=None,
            content_hash=content_hash(FORMULA_TITLE, "y"),
            fetched_at=now,
        ),
    ]
    with connection(db) as con:
        narrative_id = con.execute(
            "SELECT narrative_id FROM narratives ORDER BY article_count DESC, narrative_id LIMIT 1"
        ).fetchall()[0][0]
        writes.upsert_articles(con, articles, "hostile-test")
        for a in articles:
            con.execute(
                "INSERT INTO narrative_members VALUES (?, ?, 0.5, 'hostile-test')",
                [a.article_id, narrative_id],
            )
        con.execute(
            "UPDATE narratives SET label = ? WHERE narrative_id = ?",
            ["<svg onload=alert('label')> label", narrative_id],
        )
    settings = console_settings.model_copy(update={"db": db})
    return settings, narrative_id
