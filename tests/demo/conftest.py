"""Fixtures for the demo outlets: one world and one live site for the whole module set."""

from __future__ import annotations

from datetime import date

import pytest

from demo.server import serve_demo_outlets
from demo.world import build_world

# A fixed anchor keeps the tests reproducible; a Thursday, so the anchor's own week is
# incomplete and the latest week of data is the one before it (2025-W46).
ANCHOR = date(2025, 11, 20)


@pytest.fixture(scope="session")
def world():
    return build_world(ANCHOR)


@pytest.fixture(scope="session")
def site():
    with serve_demo_outlets(ANCHOR) as running:
        yield running
