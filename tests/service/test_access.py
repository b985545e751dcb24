"""Who may ask: the token, the login cookie, loopback Host names; and a locked store."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import store_digest

TOKEN = "correct-horse-battery-staple-42"


@pytest.fixture(scope="module")
def guarded(console_settings):
    from service.app import create_app

    app = create_app(console_settings, token=TOKEN)
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize(
    "path", ["/api/narratives", "/api/health", "/api/openapi.json", "/api/export/articles.csv"]
)
def test_missing_and_wrong_tokens_are_401(guarded, path):
    assert guarded.get(path).status_code == 401
    wrong = guarded.get(path, headers={"Authorization": "Bearer not-the-token-at-all"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert guarded.get(path, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert guarded.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_pages_without_token_show_the_login_form_with_401(guarded):
    page = guarded.get("/narratives/x", headers={"accept": "text/html"})
    assert page.status_code == 401
    assert 'action="/login"' in page.text and 'value="/narratives/x"' in page.text
    assert guarded.get("/static/console.css").status_code == 200  # no data there
    assert guarded.post("/api/match", json={"text": "rice"}).status_code == 401


def test_login_sets_a_cookie_that_opens_the_pages(console_settings):
    from service.app import SESSION_COOKIE, create_app

    with TestClient(create_app(console_settings, token=TOKEN)) as c:
        bad = c.post("/login", data={"token": "guess", "next": "/"}, follow_redirects=False)
        assert bad.status_code == 401 and SESSION_COOKIE not in bad.cookies
        c.cookies.set(SESSION_COOKIE, "forged")
        assert c.get("/api/narratives").status_code == 401
        c.cookies.clear()
        good = c.post(
            "/login", data={"token": TOKEN, "next": "//evil.example/"}, follow_redirects=False
        )
        assert good.status_code == 303 and good.headers["location"] == "/"  # no open redirect
        cookie = good.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert TOKEN not in cookie
        assert c.get("/", headers={"accept": "text/html"}).status_code == 200
        assert c.get("/api/narratives").status_code == 200
        c.post("/logout")
        assert c.get("/api/narratives").status_code == 401


def test_loopback_without_token_refuses_other_host_names(console_settings):
    from service.app import create_app
    from service.serve import check_access

    hosts = check_access("127.0.0.1", None)
    with TestClient(
        create_app(console_settings, trusted_hosts=hosts), base_url="http://127.0.0.1"
    ) as c:
        assert c.get("/api/health").status_code == 200
        rebinding = c.get("/api/health", headers={"host": "attacker.example"})
        assert rebinding.status_code == 400


def test_binding_beyond_loopback_needs_a_long_token():
    from service.serve import ServeError, check_access

    with pytest.raises(ServeError, match="needs a token"):
        check_access("0.0.0.0", None)
    with pytest.raises(ServeError, match="at least 16"):
        check_access("192.0.2.10", "short")
    assert check_access("0.0.0.0", TOKEN) is None
    assert check_access("::1", None)


def test_serve_off_loopback_without_token_is_a_one_line_error(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mediawatch",
            "serve",
            "--host",
            "0.0.0.0",
            "--db",
            str(tmp_path / "none.duckdb"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "MEDIAWATCH_SERVICE_TOKEN": ""},
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs a token" in lines[0]


def test_a_locked_store_gives_503_with_retry_after_and_search_keeps_answering(
    tmp_path, console_settings
):
    """A writer in another process holds the lock: reads say 'try again', search answers
    from the corpus it already has and says it is stale."""
    from service.app import create_app

    db = tmp_path / "copy.duckdb"
    shutil.copy(console_settings.db, db)
    app = create_app(console_settings.model_copy(update={"db": db}))
    with TestClient(app) as c:
        assert c.get("/api/search", params={"q": "rice"}).json()["stale"] is False
        writer = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]);"
                " c.execute('CREATE TABLE IF NOT EXISTS touch (x INT)'); c.execute('CHECKPOINT');"
                " print('locked', flush=True); time.sleep(30)",
                str(db),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert writer.stdout.readline().strip() == "locked"
            busy = c.get("/api/narratives")
            assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
            page = c.get("/", headers={"accept": "text/html"})
            assert page.status_code == 503 and "Try again" in page.text
            stale = c.get("/api/search", params={"q": "rice"})
            assert stale.status_code == 200 and stale.json()["stale"] is True
        finally:
            writer.kill()
            writer.wait()
        assert c.get("/api/narratives").status_code == 200


def test_connections_are_read_only(console_settings, tmp_path):
    """Even a bug that tried to write could not: every console connection is read-only."""
    from service.store_access import StoreSource

    db = tmp_path / "copy.duckdb"
    shutil.copy(console_settings.db, db)
    before = store_digest(db)
    with StoreSource(Path(db)).read() as con, pytest.raises(duckdb.Error):
        con.execute("DELETE FROM articles")
    assert store_digest(db) == before
