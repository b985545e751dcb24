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
