"""Fixtures for the crawler tests: a real HTTP server and a registry pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crawlers.sources import load_sources
from mediawatch.records import Outlet
from tests.crawlers.fixture_server import FIXTURES, FixtureServer, start_fixture_server


@pytest.fixture(scope="session")
def outlet_server() -> Iterator[FixtureServer]:
    """The fixture outlets served on 127.0.0.1 for the whole test session."""
    server = start_fixture_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def registry_file(outlet_server: FixtureServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture registry, with the server's address filled in."""
    template = (FIXTURES / "sources" / "registry.yaml").read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("sources") / "sources.yaml"
    path.write_text(template.replace("{{BASE}}", outlet_server.base), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def outlets(registry_file: Path) -> dict[str, Outlet]:
    return {outlet.outlet_id: outlet for outlet in load_sources(registry_file)}
