"""The scrapy crawl, run as a child process: `python -m crawlers.scrapy_runner JOB.json`.

Why a child process: Twisted's reactor cannot be restarted in one process, and a crawl
must not block the Prefect worker (or anything else) that asked for it. The parent
(`crawlers.pages.fetch_pages`) writes a job file, runs this module and reads back one JSON
line per request (see `ResultWriter`); bodies are written as files next to the results so
the JSONL stays small.

The job file (JSON) holds:
    requests:  [{"index", "outlet_id", "url"}]            one line of output per request
    outlets:   {outlet_id: {"allowed_domains": [...], "requests_per_second": float}}
    crawl:     {"user_agent", "timeout_s", "max_bytes", "concurrency_per_domain",
                "retry_times", "retry_backoff_s", "http_cache_dir" (optional, development),
                "http_cache_expiration_s"}
    results:   path of the JSONL to write;  bodies_dir: where page bodies go

Politeness, from the registry and settings: robots.txt obeyed; one download slot per outlet
whose delay is 1 / requests_per_second (AutoThrottle may slow it, never speed it up);
retries of 5xx/timeouts with exponential backoff (Retry-After honoured); cookies off.

For development, `http_cache_dir` turns on scrapy's HTTP cache (every answer but 5xx kept on
disk and replayed, so a crawl can be re-run without touching the outlets); never in
production, where a cached page would hide its corrections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import AsyncCrawlerProcess, Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    NotSupported,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import HtmlResponse, Request, Response
from scrapy.robotstxt import RobotParser
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import error as twisted_errors
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from crawlers import errors
from crawlers.sources import host_allowed

HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_BACKOFF_S = 60.0
SLOT_PREFIX = "outlet:"


# --------------------------------------------------------------------------- results


class ResultWriter:
    """One JSON line per finished request (page or robots.txt), flushed at once.

    Flushing each line means that a crawl killed half-way still leaves a readable record of
    everything it did; the parent marks the rest as not fetched.
    """

    def __init__(self, results: Path, bodies_dir: Path):
        self._file: IO[str] = results.open("a", encoding="utf-8")
        self._bodies_dir = bodies_dir
        bodies_dir.mkdir(parents=True, exist_ok=True)

    def write(self, record: dict[str, Any], body: bytes | None = None) -> None:
        if body is not None and record.get("index") is not None:
            path = self._bodies_dir / f"{record['index']}.body"
            path.write_bytes(body)
            record["body_file"] = path.name
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _elapsed_ms(request: Request) -> float:
    latency = request.meta.get("download_latency")
    if latency is not None:
        return round(latency * 1000, 1)
    started = request.meta.get("mw_t0")
    return round((time.monotonic() - started) * 1000, 1) if started else 0.0


def _content_type(response: Response) -> str:
    value = response.headers.get(b"Content-Type") or b""
    return value.decode("latin-1").strip()


# --------------------------------------------------------------------------- middlewares


class OffsiteRequest(IgnoreRequest):
    """A request (or a redirect) outside the allowed domains of the outlet it was made for."""


class OutletOffsiteMiddleware:
    """Per-outlet allowed domains, checked on every request including redirects.

    Scrapy's own offsite filter knows one domain list per spider and lets `dont_filter`
    requests through; ours are per outlet and are never exempt.
    """

    def __init__(self, allowed: dict[str, list[str]]):
        self._allowed = allowed

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OutletOffsiteMiddleware:
        outlets = crawler.settings.getdict("MEDIAWATCH_OUTLETS")
        return cls({oid: spec["allowed_domains"] for oid, spec in outlets.items()})

    def process_request(self, request: Request) -> None:
        outlet_id = request.meta.get("mw_outlet")
        if outlet_id is None:  # robots.txt requests are made by scrapy for the host itself
            return
        host = urlsplit(request.url).hostname or ""
        allowed = self._allowed.get(outlet_id, [])
        if not host_allowed(host, allowed):
            raise OffsiteRequest(f"host {host!r} is not in allowed_domains {allowed}")


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with two fixes.

    1. Every request waiting for a host's robots.txt is given the parsed rules.

    Scrapy 2.19 lets all requests for a host that arrive while its robots.txt is being
    downloaded await the same Deferred. Twisted's `Deferred.asFuture` hands the result to
    the first waiter and leaves None for the next ones, which then read "no robots.txt"
    and go through: with concurrent requests, disallowed pages were fetched. Each waiter
    here gets its own Deferred, fed from the shared one without consuming its result.

    2. A robots.txt that answers with a server error disallows everything (RFC 9309).
    """

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)
        waiter: Deferred[RobotParser | None] = Deferred()

        def relay(result: RobotParser | None) -> RobotParser | None:
            waiter.callback(result)
            return result  # keep the result for the other waiters

        pending.addCallback(relay)
        return await maybe_deferred_to_future(waiter)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        # scrapy logs this with a traceback and moves on (everything allowed); we record it
        spider = self.crawler.spider
        if isinstance(spider, PageSpider) and not isinstance(exc, IgnoreRequest):
            spider.record_robots_failure(netloc, exc)
        super()._robots_error(exc, netloc)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500:
            # RFC 9309 2.3.1.4: robots.txt unreachable through a server error means "assume
            # complete disallow" (scrapy would parse the error page and allow everything)
            response = response.replace(body=b"User-agent: *\nDisallow: /\n")
        await super()._parse_robots(response, netloc, request)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry (5xx, 408, 429, timeouts, connection errors) with exponential backoff.

    A retried request carries the earliest time it may go again; it waits for it here,
    asynchronously, so other requests keep flowing. A numeric Retry-After wins if longer.
    """

    def __init__(self, settings: Any):
        super().__init__(settings)
        self.backoff_s = settings.getfloat("MEDIAWATCH_RETRY_BACKOFF_S")

    async def process_request(self, request: Request) -> None:
        wait = request.meta.get("mw_not_before", 0.0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def process_response(self, request: Request, response: Response) -> Any:
        result = super().process_response(request, response)
        if isinstance(result, Request):
            self._schedule(result, _retry_after(response))
        return result

    def process_exception(self, request: Request, exception: Exception) -> Any:
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            self._schedule(result, None)
        return result

    def _schedule(self, retry: Request, retry_after: float | None) -> None:
        attempt = retry.meta.get("retry_times", 1)
        delay = self.backoff_s * 2 ** (attempt - 1)
        if retry_after is not None:
            delay = max(delay, retry_after)
        retry.meta["mw_not_before"] = time.monotonic() + min(delay, MAX_BACKOFF_S)


def _retry_after(response: Response) -> float | None:
    value = (response.headers.get(b"Retry-After") or b"").decode("latin-1").strip()
    return float(value) if value.isdigit() else None


class OutletAutoThrottle(AutoThrottle):
    """AutoThrottle whose floor is each outlet's own delay, not one global DOWNLOAD_DELAY.

    Stock AutoThrottle clamps every slot to DOWNLOAD_DELAY, which would force the slowest
    outlet's pace on all of them (or let a slow outlet be hit faster than its rate limit).
    """

    def _spider_opened(self, spider: scrapy.Spider) -> None:
        super()._spider_opened(spider)
        slots = self.crawler.settings.getdict("DOWNLOAD_SLOTS")
        self._slot_floor = {key: float(spec.get("delay", 0.0)) for key, spec in slots.items()}

    def _response_downloaded(
        self, response: Response, request: Request, spider: scrapy.Spider
    ) -> None:
        key = request.meta.get("download_slot")
        default_floor = self._min_delay()
        self.mindelay = self._slot_floor.get(key, default_floor)
        try:
            super()._response_downloaded(response, request, spider)
        finally:
            self.mindelay = default_floor


# --------------------------------------------------------------------------- spider


class PageSpider(scrapy.Spider):
    """Fetches exactly the listed pages (no link following) and logs how each one ended."""

    name = "mediawatch_pages"

    def __init__(self, job: dict[str, Any], writer: ResultWriter, **kwargs: Any):
        super().__init__(**kwargs)
        self.job = job
        self.writer = writer
        self._robots_outlet = _robots_outlets(job)
        self._robots_origin = {
            urlsplit(item["url"]).netloc: (
                urlsplit(item["url"]).scheme,
                urlsplit(item["url"]).hostname or "",
            )
            for item in job["requests"]
        }

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> PageSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._reached_downloader, signals.request_reached_downloader)
        crawler.signals.connect(spider._response_received, signals.response_received)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        for item in self.job["requests"]:
            try:
                yield Request(
                    item["url"],
                    callback=self.parse_page,
                    errback=self.on_error,
                    # every request must end in exactly one line: never drop duplicates
                    dont_filter=True,
                    meta={
                        "mw_index": item["index"],
                        "mw_outlet": item["outlet_id"],
                        "mw_url": item["url"],
                        "download_slot": SLOT_PREFIX + item["outlet_id"],
                    },
                )
            except ValueError as exc:  # scrapy refuses the URL itself
                self.writer.write(
                    _base_record(item, errors.INVALID_URL, str(exc)) | {"fetched_at": _now()}
                )

    # -- outcomes

    def parse_page(self, response: Response) -> None:
        request = response.request
        assert request is not None
        content_type = _content_type(response)
        record = _response_record(request, response, content_type)
        media_type = content_type.split(";")[0].strip().lower()
        is_html = media_type in HTML_TYPES or (
            not media_type and isinstance(response, HtmlResponse)
        )
        if not is_html:
            record["error_class"] = errors.NOT_HTML
            record["error_message"] = f"content type {media_type or 'unknown'!r}"
            self.writer.write(record)
            return
        self.writer.write(record, body=response.body)

    def on_error(self, failure: Failure) -> None:
        request: Request = failure.request  # type: ignore[attr-defined]
        error_class, message, response = classify_failure(failure)
        record = _base_record(
            {"index": request.meta["mw_index"], "outlet_id": request.meta["mw_outlet"]},
            error_class,
            message,
        )
        record["url"] = request.meta["mw_url"]
        record["final_url"] = request.url
        record["elapsed_ms"] = _elapsed_ms(request)
        record["fetched_at"] = _now()
        if response is not None:
            record["status"] = response.status
            record["bytes"] = len(response.body)
            record["content_type"] = _content_type(response)
            record["final_url"] = response.url
        self.writer.write(record)

    def record_robots_failure(self, netloc: str, exc: Exception) -> None:
        """A robots.txt that could not be fetched at all (refused, timed out, ...)."""
        message = str(exc) or type(exc).__name__
        scheme, host = self._robots_origin.get(netloc, ("http", netloc.split(":")[0]))
        url = f"{scheme}://{netloc}/robots.txt"
        self.writer.write(
            _robots_record(self._robots_outlet.get(host, ""), url, url)
            | {"error_class": _classify_transport(exc, message), "error_message": message}
        )

    # -- signals

    def _reached_downloader(self, request: Request, spider: scrapy.Spider) -> None:
        request.meta["mw_t0"] = time.monotonic()

    def _response_received(self, response: Response, request: Request, spider: Any) -> None:
        """robots.txt fetches go in the fetch log too (kind 'robots')."""
        if not request.meta.get("dont_obey_robotstxt") or "mw_index" in request.meta:
            return
        host = urlsplit(request.url).hostname or ""
        status = response.status
        record = _robots_record(self._robots_outlet.get(host, ""), request.url, response.url)
        record.update(
            status=status,
            content_type=_content_type(response),
            bytes=len(response.body),
            elapsed_ms=_elapsed_ms(request),
            error_class=errors.http_error(status) if status >= 500 else None,
            error_message="no robots.txt: everything allowed" if 400 <= status < 500 else None,
        )
        self.writer.write(record)


def _robots_record(outlet_id: str, url: str, final_url: str) -> dict[str, Any]:
    return {
        "kind": "robots",
        "index": None,
        "outlet_id": outlet_id,
        "url": url,
        "final_url": final_url,
        "status": None,
        "content_type": "",
        "bytes": 0,
        "elapsed_ms": 0.0,
        "fetched_at": _now(),
        "error_class": None,
        "error_message": None,
    }


def _robots_outlets(job: dict[str, Any]) -> dict[str, str]:
    """Which outlet a host's robots.txt is logged under: the first that requests the host."""
    owners: dict[str, str] = {}
    for item in job["requests"]:
        owners.setdefault(urlsplit(item["url"]).hostname or "", item["outlet_id"])
    return owners


def _base_record(item: dict[str, Any], error_class: str | None, message: str | None) -> dict:
    return {
        "kind": "page",
        "index": item["index"],
        "outlet_id": item["outlet_id"],
        "url": item.get("url"),
        "final_url": item.get("url"),
        "status": None,
        "content_type": "",
        "bytes": 0,
        "elapsed_ms": 0.0,
        "error_class": error_class,
        "error_message": message,
    }


def _response_record(request: Request, response: Response, content_type: str) -> dict:
    record = _base_record(
        {"index": request.meta["mw_index"], "outlet_id": request.meta["mw_outlet"]}, None, None
    )
    record.update(
        url=request.meta["mw_url"],
        final_url=response.url,
        status=response.status,
        content_type=content_type,
        bytes=len(response.body),
        elapsed_ms=_elapsed_ms(request),
        fetched_at=_now(),
    )
    return record


def classify_failure(failure: Failure) -> tuple[str, str, Response | None]:
    """(error_class, message, response if there was one) for a failed request."""
    exc = failure.value
    message = str(exc) or type(exc).__name__
    if isinstance(exc, HttpError):
        response = exc.response
        return errors.http_error(response.status), _status_line(response.status), response
    if isinstance(exc, OffsiteRequest):
        return errors.OFFSITE, message, None
    if isinstance(exc, IgnoreRequest):
        if "robots.txt" in message:
            return errors.ROBOTS_FORBIDDEN, message, None
        if "max redirections" in message:
            return errors.TOO_MANY_REDIRECTS, "redirected more than 5 times (a loop?)", None
        if "DOWNLOAD_MAXSIZE" in message:
            # scrapy's decompression guard: a small gzip body that inflates past the cap
            return errors.TOO_LARGE, message, None
        return "Ignored", message, None
    return _classify_transport(exc, message), message, None


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _classify_transport(exc: BaseException, message: str) -> str:
    if isinstance(exc, CannotResolveHostError | twisted_errors.DNSLookupError):
        return errors.DNS_ERROR
    if isinstance(
        exc, DownloadTimeoutError | twisted_errors.TimeoutError | twisted_errors.TCPTimedOutError
    ):
        return errors.TIMEOUT
    if isinstance(exc, DownloadCancelledError) or "max size" in message:
        # scrapy cancels a download that passes DOWNLOAD_MAXSIZE
        return errors.TOO_LARGE
    if isinstance(exc, UnsupportedURLSchemeError | NotSupported):
        return errors.INVALID_URL
    if isinstance(
        exc,
        DownloadConnectionRefusedError
        | DownloadFailedError
        | ResponseDataLossError
        | twisted_errors.ConnectError
        | twisted_errors.ConnectionLost
        | twisted_errors.ConnectionDone
        | ConnectionError,
    ):
        return errors.CONNECTION_ERROR
    return type(exc).__name__


# --------------------------------------------------------------------------- process


def scrapy_settings(job: dict[str, Any]) -> dict[str, Any]:
    crawl = job["crawl"]
    outlets: dict[str, dict[str, Any]] = job["outlets"]
    per_domain = int(crawl["concurrency_per_domain"])
    delays = {oid: 1.0 / float(spec["requests_per_second"]) for oid, spec in outlets.items()}
    slowest = max(delays.values(), default=1.0)
    return {
        "BOT_NAME": "mediawatch",
        "USER_AGENT": crawl["user_agent"],
        "ROBOTSTXT_OBEY": True,
        "COOKIES_ENABLED": False,  # we read pages; we keep no session anywhere
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "CONCURRENT_REQUESTS": max(16, per_domain * min(len(outlets), 8)),
        "CONCURRENT_REQUESTS_PER_DOMAIN": per_domain,
        # hosts without an outlet slot (robots.txt) get the most cautious pace
        "DOWNLOAD_DELAY": slowest,
        "DOWNLOAD_SLOTS": {
            SLOT_PREFIX + oid: {"delay": delay, "concurrency": per_domain, "jitter": 0.0}
            for oid, delay in delays.items()
        },
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": slowest,
        "AUTOTHROTTLE_MAX_DELAY": max(30.0, slowest * 4),
        "RETRY_ENABLED": True,
        "RETRY_TIMES": int(crawl["retry_times"]),
        # a request that gives up is in our results; scrapy's own ERROR line is noise
        "RETRY_GIVE_UP_LOG_LEVEL": "INFO",
        "MEDIAWATCH_RETRY_BACKOFF_S": float(crawl["retry_backoff_s"]),
        "DOWNLOAD_TIMEOUT": float(crawl["timeout_s"]),
        "DNS_TIMEOUT": float(crawl["timeout_s"]),
        "DOWNLOAD_MAXSIZE": int(crawl["max_bytes"]),
        "DOWNLOAD_WARNSIZE": 0,
        "REDIRECT_MAX_TIMES": 5,
        "MEDIAWATCH_OUTLETS": outlets,
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
            "crawlers.scrapy_runner.OutletOffsiteMiddleware": 50,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawlers.scrapy_runner.SharedRobotsTxtMiddleware": 100,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "crawlers.scrapy_runner.BackoffRetryMiddleware": 550,
        },
        "EXTENSIONS": {
            "scrapy.extensions.throttle.AutoThrottle": None,
            "crawlers.scrapy_runner.OutletAutoThrottle": 0,
        },
    } | _cache_settings(crawl)


def _cache_settings(crawl: dict[str, Any]) -> dict[str, Any]:
    if not crawl.get("http_cache_dir"):
        return {"HTTPCACHE_ENABLED": False}
    return {
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_DIR": str(Path(crawl["http_cache_dir"]).resolve()),
        "HTTPCACHE_EXPIRATION_SECS": int(crawl.get("http_cache_expiration_s") or 0),
        "HTTPCACHE_IGNORE_HTTP_CODES": [500, 502, 503, 504, 408, 429],
        "HTTPCACHE_POLICY": "scrapy.extensions.httpcache.DummyPolicy",
        "HTTPCACHE_STORAGE": "scrapy.extensions.httpcache.FilesystemCacheStorage",
    }


def run(job: dict[str, Any]) -> None:
    writer = ResultWriter(Path(job["results"]), Path(job["bodies_dir"]))
    try:
        process = AsyncCrawlerProcess(scrapy_settings(job))
        # after the process set up logging (it resets existing loggers): robots.txt
        # download errors are in our results, scrapy's traceback for them is noise
        logging.getLogger("scrapy.downloadermiddlewares.robotstxt").setLevel(logging.CRITICAL)
        # oversized (decompressed) bodies are in our results as TooLarge
        logging.getLogger("scrapy.downloadermiddlewares.httpcompression").setLevel(logging.ERROR)
        process.crawl(PageSpider, job=job, writer=writer)
        process.start()
    finally:
        writer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one Mediawatch page crawl (child process).")
    parser.add_argument("job", type=Path, help="job file written by crawlers.pages")
    args = parser.parse_args(argv)
    job = json.loads(args.job.read_text(encoding="utf-8"))
    run(job)
    return 0


if __name__ == "__main__":
    # Run the imported module's main, not this `__main__` copy: scrapy loads the
    # middlewares by their dotted names, and exception classes must be the same objects
    # in both places for the spider to recognise them.
    from crawlers.scrapy_runner import main as module_main

    sys.exit(module_main())
