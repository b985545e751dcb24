"""Shared fixtures: where the shared datasets live, Prefect configured once per test run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"


def dataset(name: str) -> Path:
    """A dataset from ../shared/datasets, or skip the test with a clear message."""
    path = DATASETS / name
    if not path.exists():
        pytest.skip(f"dataset {name} not found at {path} (../shared/datasets beside the repo)")
    return path


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """A temporary Prefect API for the whole test run (starting one per test is slow)."""
    from flows.prefect_env import configure_prefect

    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect"))
    configure_prefect(Path(os.environ["PREFECT_HOME"]))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium driven by Playwright (never `playwright install`)."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed: `apt-get install chromium` (make test does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh page whose requests may only reach 127.0.0.1 and file: URLs."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    remote: list[str] = []

    def guard(route):
        url = route.request.url
        if url.startswith(("file:", "data:", "http://127.0.0.1", "about:")):
            return route.continue_()
        remote.append(url)
        return route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.remote_requests = remote  # tests can assert that nothing remote was asked for
    yield page
    context.close()


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory, prefect_harness):
    """One full `mediawatch run` on all the demo outlets, shared by every test that reads it.

    Returns (settings, world, summary). Tests must only read this store (copy the file to
    write). The demo world gives the ground truth (planted narratives, broken pages).
    """
    from demo.server import serve_demo_outlets
    from flows.pipeline import mediawatch_run
    from mediawatch.settings import load_settings

    tmp = tmp_path_factory.mktemp("demo-store")
    from demo.server import OUTLETS_PER_HOST

    settings = load_settings(db=tmp / "demo.duckdb", briefs_dir=tmp / "briefs",
                             outlets_per_host=OUTLETS_PER_HOST,
                             work_dir=tmp / "work")
    with serve_demo_outlets() as site:
        registry = site.write_sources_yaml(tmp / "sources.yaml")
        settings = settings.model_copy(update={"sources": registry})
        summary = mediawatch_run(settings.model_dump(mode="json"))
        world = site.world
    return settings, world, summary
