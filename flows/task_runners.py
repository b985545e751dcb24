"""Where a flow's tasks run, chosen by settings: threads here, or Dask anywhere.

- `task_runner = "threads"` (the default): Prefect's ThreadPoolTaskRunner in the flow's
  process, `ingest_workers` outlet tasks at once.
- `task_runner = "dask"`: prefect-dask's DaskTaskRunner. With `dask_address` it submits to
  that existing cluster (a `dask scheduler` and its workers, on any machines); without it
  the run starts a LocalCluster of `dask_workers` processes (`dask_cluster`), which every
  fan-out of the run shares and which stops when the run ends. Workers need this
  project installed and network access to the outlets; they never open the store, since
  tasks return records and the flow's own process is the one writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mediawatch.settings import Settings


def task_runner(config: Settings, threads: int | None = None) -> Any:
    if config.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        if config.dask_address:
            return DaskTaskRunner(address=config.dask_address)
        # (reached only when a task runner is built outside a run: runs start their own)
        return DaskTaskRunner(
            cluster_class="distributed.LocalCluster", cluster_kwargs=_local(config)
        )
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=threads or config.ingest_workers)


@contextmanager
def dask_cluster(config: Settings) -> Iterator[Settings]:
    """For a run on Dask with no cluster given: a LocalCluster for the whole run (its
    address in the settings the run hands on); otherwise the settings as they are."""
    if config.task_runner != "dask" or config.dask_address:
        yield config
        return
    from distributed import LocalCluster

    with LocalCluster(**_local(config)) as cluster:
        yield config.model_copy(update={"dask_address": cluster.scheduler_address})


def _local(config: Settings) -> dict[str, Any]:
    return {
        "n_workers": config.dask_workers,
        "threads_per_worker": config.dask_threads_per_worker,
        "processes": True,
        # Dask's status pages on a free loopback port (the Prefect UI shows the runs)
        "dashboard_address": "127.0.0.1:0",
        "host": "127.0.0.1",
    }


def describe(config: Settings) -> str:
    if config.task_runner == "dask":
        where = config.dask_address or f"LocalCluster of {config.dask_workers} processes"
        return f"dask ({where})"
    return f"threads ({config.ingest_workers})"
