"""Named points where the recovery tests kill a run, as a crash or a power cut would.

`settings.failpoint` names one point ("embed", "cluster narratives", ...); a run that reaches
it sends itself SIGKILL: no `finally`, no flush, no goodbye. The tests then start the run
again and check the database ends as an uninterrupted run leaves it (a kill in the middle of
the page crawl needs no failpoint: the tests kill the process group from outside while the
demo server answers). Unset (the default), a failpoint costs one comparison.
"""

from __future__ import annotations

import os
import signal
from typing import Any

POINTS = (
    "store articles",  # inside the transaction that stores an outlet's articles
    "embed",  # after the first chunk of vectors is stored
    "cluster narratives",  # inside the transaction that writes the narratives
    "write brief",  # after the first file of the brief is written
)


def failpoint(settings: Any, name: str) -> None:
    if getattr(settings, "failpoint", None) == name:
        os.kill(os.getpid(), signal.SIGKILL)
