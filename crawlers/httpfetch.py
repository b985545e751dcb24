"""One bounded HTTP GET with httpx: streamed, size-capped, time-capped, never raising.

Feeds (and, later, sitemaps and health probes) are small documents fetched directly rather
than through the scrapy crawl: one request each, no link following. This module turns every
way such a request can end into an `HttpResult` whose `error_class` follows the convention
in `crawlers.errors`, so callers never handle transport exceptions themselves.

Conditional GET: pass `If-None-Match` / `If-Modified-Since` in `headers` (see
`conditional_headers`); a 304 comes back as a result with status 304, no body and no error.
`fetch_with_retries` retries what may pass (5xx, 408, 429, timeouts, connection errors) with
exponential backoff, honouring a numeric Retry-After.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from crawlers import errors

MAX_REDIRECTS = 5
MAX_BACKOFF_S = 60.0
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})


@dataclass(frozen=True)
class HttpResult:
    url: str
    final_url: str
    status: int | None
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    error_class: str | None = None
    error_message: str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def not_modified(self) -> bool:
        return self.status == 304 and self.error_class is None

    @property
    def validators(self) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) the server gave, to send back next time."""
        return self.headers.get("etag") or None, self.headers.get("last-modified") or None


def make_client(*, timeout_s: float, user_agent: str) -> httpx.Client:
    """A client to share between threads (httpx clients are thread-safe and pool connections)."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": user_agent},
        # no proxies or netrc from the environment: settings are the only configuration
        trust_env=False,
    )


def fetch(
    client: httpx.Client,
    url: str,
    *,
    timeout_s: float,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
) -> HttpResult:
    """GET `url`; an HTTP error status, a transport failure or a cap is an `error_class`."""
    fetched_at = datetime.now(UTC)
    started = time.monotonic()

    def result(**kwargs: object) -> HttpResult:
        elapsed_ms = (time.monotonic() - started) * 1000
        defaults: dict = {"final_url": url, "status": None, "body": b""}
        defaults.update(kwargs)
        return HttpResult(url=url, elapsed_ms=elapsed_ms, fetched_at=fetched_at, **defaults)

    try:
        with client.stream("GET", url, headers=headers, timeout=timeout_s) as response:
            final_url = str(response.url)
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            status = response.status_code
            if status >= 400:
                return result(
                    final_url=final_url,
                    status=status,
                    headers=response_headers,
                    error_class=errors.http_error(status),
                    error_message=f"{status} {response.reason_phrase}".strip(),
                )
            body, problem = _read_capped(response, max_bytes, deadline=started + timeout_s)
            if problem is not None:
                error_class, message = problem
                return result(
                    final_url=final_url,
                    status=status,
                    headers=response_headers,
                    body=body,
                    error_class=error_class,
                    error_message=message,
                )
            return result(final_url=final_url, status=status, headers=response_headers, body=body)
    except Exception as exc:  # every failure becomes a record: nothing escapes a fetch
        error_class, message = classify_exception(exc)
        return result(error_class=error_class, error_message=message)


def _read_capped(
    response: httpx.Response, max_bytes: int, *, deadline: float
) -> tuple[bytes, tuple[str, str] | None]:
    """The body, or what was read and why reading stopped (too large, too slow)."""
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        # refuse before reading: the server told us it is over the cap
        return b"", (errors.TOO_LARGE, f"Content-Length {declared} > cap {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            # counted after decompression, so a small gzip bomb is caught too
            return b"".join(chunks), (errors.TOO_LARGE, f"body over cap {max_bytes} bytes")
        chunks.append(chunk)
        # httpx's timeout is per read; a server dripping bytes must not hold us forever
        if time.monotonic() > deadline:
            return b"".join(chunks), (errors.TIMEOUT, f"body not complete after {size} bytes")
    return b"".join(chunks), None


def classify_exception(exc: BaseException) -> tuple[str, str]:
    """Map an httpx (or other) exception to (error_class, message)."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return errors.TIMEOUT, f"{type(exc).__name__}: {message}"
    if isinstance(exc, httpx.ConnectError):
        if _is_dns_failure(exc):
            return errors.DNS_ERROR, message
        return errors.CONNECTION_ERROR, message
    if isinstance(exc, httpx.TooManyRedirects):
        return errors.TOO_MANY_REDIRECTS, message
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return errors.INVALID_URL, message
    if isinstance(exc, httpx.DecodingError):
        return errors.CONNECTION_ERROR, f"undecodable content encoding: {message}"
    if isinstance(exc, httpx.TransportError):
        return errors.CONNECTION_ERROR, f"{type(exc).__name__}: {message}"
    return errors.INTERNAL_ERROR, f"{type(exc).__name__}: {message}"


def _is_dns_failure(exc: BaseException) -> bool:
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        if isinstance(current, socket.gaierror):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    text = str(exc).lower()
    return "name or service not known" in text or "name resolution" in text


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    """If-None-Match / If-Modified-Since for the validators a server gave last time."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def is_transient(error_class: str | None, status: int | None = None) -> bool:
    """A failure that may pass if asked again later (not a 404, a robots.txt ban, ...)."""
    if error_class is None:
        return False
    if error_class.startswith("HTTPError"):
        return status is not None and status in RETRY_STATUSES
    return error_class in (
        errors.TIMEOUT,
        errors.CONNECTION_ERROR,
        errors.DNS_ERROR,
        errors.CRAWL_ABORTED,
        errors.INTERNAL_ERROR,
    )


def fetch_with_retries(
    client: httpx.Client,
    url: str,
    *,
    timeout_s: float,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    retry_times: int = 0,
    backoff_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> HttpResult:
    """`fetch`, tried again up to `retry_times` times while the failure is transient.

    The n-th retry waits `backoff_s * 2**(n-1)` seconds, or the server's numeric
    Retry-After if longer (both capped at a minute). The last result is returned; when it
    is still a failure after retries, its message says how many attempts were made.
    """
    attempt = 0
    while True:
        result = fetch(client, url, timeout_s=timeout_s, max_bytes=max_bytes, headers=headers)
        if attempt >= retry_times or not is_transient(result.error_class, result.status):
            break
        attempt += 1
        delay = backoff_s * 2 ** (attempt - 1)
        retry_after = result.headers.get("retry-after", "").strip()
        if retry_after.isdigit():
            delay = max(delay, float(retry_after))
        sleep(min(delay, MAX_BACKOFF_S))
    if attempt and result.error_class is not None:
        message = f"{result.error_message} (after {attempt + 1} attempts)"
        return HttpResult(
            url=result.url,
            final_url=result.final_url,
            status=result.status,
            body=result.body,
            headers=result.headers,
            elapsed_ms=result.elapsed_ms,
            fetched_at=result.fetched_at,
            error_class=result.error_class,
            error_message=message,
        )
    return result
