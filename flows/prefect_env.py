"""Prefect's environment, set before Prefect is imported (it reads its settings at import)."""

from __future__ import annotations

import os
from pathlib import Path


def configure_prefect(home: Path) -> None:
    """Local, quiet, offline defaults; anything the user already set wins."""
    home.mkdir(parents=True, exist_ok=True)
    defaults = {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        # the temporary local API takes 7-16 s to start here; 20 s is too tight
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        # no progress bars from model loading in a run's output (the first run builds one)
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
