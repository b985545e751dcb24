"""Reading outlet feeds (RSS, Atom, JSON Feed) into `FeedItem`s, with a `FetchRecord` each.

Nothing raises: every way a feed can fail ends in the returned `FetchRecord` (see
`crawlers.errors` for the convention). In short:

- a feed we could read, even partly, has `error_class=None`; problems found on the way
  (malformed XML that feedparser's loose parser got past, a charset the server or the
  document lied about, items without a link) are a warning in `error_message`;
- a feed of which nothing could be read has `error_class="MalformedFeed"` (or
  `"NotAFeed"` when an HTML page came back), and no items;
- HTTP and transport failures have `"HTTPError 500"`, `"Timeout"`, `"TooLarge"`, ...

Character encodings are decided here, before feedparser sees the bytes, because a lying
declaration that still decodes (UTF-8 bytes labelled iso-8859-1 decode "fine" into
mojibake) is invisible to feedparser: valid UTF-8 wins over any declaration, then the
document's XML declaration, then the HTTP charset, then a statistical guess.

Feeds are fetched like a feed reader fetches them (one direct GET, no robots.txt check: a
feed is published for machines); article pages go through the scrapy crawl, which obeys
robots.txt.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import httpx

from crawlers import encoding, errors
from crawlers.encoding import http_charset
from crawlers.httpfetch import HttpResult, conditional_headers, fetch_with_retries, make_client
from mediawatch.records import FeedItem, FetchRecord, Outlet

log = logging.getLogger(__name__)

_XML_DECL_RE = re.compile(rb"^\s*<\?xml[^>]*?encoding=[\"']([A-Za-z0-9._:-]+)[\"']", re.I)
_XML_DECL_ANY_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_WHITESPACE_RE = re.compile(r"\s+")
_JSON_FEED_PREFIX = "https://jsonfeed.org/version/"
NOT_MODIFIED = "not modified"  # the message of a 304 answer to a conditional GET


@dataclass(frozen=True)
class ParsedFeed:
    """What a feed document yielded: items, warnings, or why nothing could be read."""

    items: list[FeedItem]
    warnings: list[str]
    error_class: str | None = None
    error_message: str | None = None


# --------------------------------------------------------------------------- public API


Validators = tuple[str | None, str | None]  # (ETag, Last-Modified) of a feed


@dataclass
class FeedsRead:
    """What `read_feeds` found: items, one record per feed, and each feed's new validators.

    `validators` has an entry for every feed that answered 200 with an ETag or a
    Last-Modified: keep them (once the items are safely stored) and pass them back next
    time so an unchanged feed answers 304 and costs nothing.
    """

    items: list[FeedItem] = field(default_factory=list)
    records: list[FetchRecord] = field(default_factory=list)
    validators: dict[tuple[str, str], Validators] = field(default_factory=dict)


def fetch_feed(
    outlet: Outlet,
    feed_url: str,
    *,
    timeout_s: float,
    max_bytes: int,
    user_agent: str,
    client: httpx.Client | None = None,
    validators: Validators | None = None,
    retry_times: int = 0,
    backoff_s: float = 1.0,
) -> tuple[list[FeedItem], FetchRecord]:
    """Download and read one feed. Never raises; see the module docstring for the record.

    `client` lets `fetch_feeds` share one connection pool; without it a client is made here.
    With `validators` the request is conditional: a 304 is a record with status 304, no
    error, the message "not modified", and no items.
    """
    items, record, _ = _fetch_feed(
        outlet,
        feed_url,
        timeout_s=timeout_s,
        max_bytes=max_bytes,
        user_agent=user_agent,
        client=client,
        validators=validators,
        retry_times=retry_times,
        backoff_s=backoff_s,
    )
    return items, record


def _fetch_feed(
    outlet: Outlet,
    feed_url: str,
    *,
    timeout_s: float,
    max_bytes: int,
    user_agent: str,
    client: httpx.Client | None,
    validators: Validators | None,
    retry_times: int,
    backoff_s: float,
) -> tuple[list[FeedItem], FetchRecord, Validators | None]:
    headers = conditional_headers(*validators) if validators else None
    try:
        if client is None:
            with make_client(timeout_s=timeout_s, user_agent=user_agent) as own_client:
                response = fetch_with_retries(
                    own_client,
                    feed_url,
                    timeout_s=timeout_s,
                    max_bytes=max_bytes,
                    headers=headers,
                    retry_times=retry_times,
                    backoff_s=backoff_s,
                )
        else:
            response = fetch_with_retries(
                client,
                feed_url,
                timeout_s=timeout_s,
                max_bytes=max_bytes,
                headers=headers,
                retry_times=retry_times,
                backoff_s=backoff_s,
            )
        if response.error_class is not None:
            log.warning("feed %s: %s (%s)", feed_url, response.error_class, response.error_message)
            return [], _record(outlet, response, response.error_class, response.error_message), None
        if response.not_modified:
            return [], _record(outlet, response, None, NOT_MODIFIED), None
        parsed = parse_feed(
            response.body,
            outlet_id=outlet.outlet_id,
            feed_url=feed_url,
            base_url=response.final_url,
            content_type=response.content_type,
        )
    except Exception as exc:  # a bug must cost one feed, not the run
        log.exception("feed %s: unexpected error", feed_url)
        now = datetime.now(UTC)
        record = FetchRecord(
            outlet_id=outlet.outlet_id,
            url=feed_url,
            kind="feed",
            status=None,
            bytes=0,
            elapsed_ms=0.0,
            fetched_at=now,
            error_class=errors.INTERNAL_ERROR,
            error_message=f"{type(exc).__name__}: {exc}",
        )
        return [], record, None
    record = _feed_record(outlet, feed_url, response, parsed)
    new_validators = response.validators if record.ok and any(response.validators) else None
    return parsed.items, record, new_validators


def fetch_feeds(
    outlets: Iterable[Outlet],
    *,
    timeout_s: float,
    max_bytes: int,
    user_agent: str,
    max_workers: int = 8,
) -> tuple[list[FeedItem], list[FetchRecord]]:
    """Every feed of every enabled outlet (unconditional GETs): `read_feeds` without state."""
    found = read_feeds(
        outlets,
        timeout_s=timeout_s,
        max_bytes=max_bytes,
        user_agent=user_agent,
        max_workers=max_workers,
    )
    return found.items, found.records


def read_feeds(
    outlets: Iterable[Outlet],
    *,
    timeout_s: float,
    max_bytes: int,
    user_agent: str,
    validators: Mapping[tuple[str, str], Validators] | None = None,
    retry_times: int = 0,
    backoff_s: float = 1.0,
    max_workers: int = 8,
) -> FeedsRead:
    """Every feed of every enabled outlet: outlets in parallel, each outlet's feeds in turn.

    One outlet's feeds are fetched one after another, spaced by its rate limit, because they
    usually live on one server; different outlets run concurrently in a thread pool. Results
    come back in registry order whatever the completion order, so runs are reproducible.
    Items are de-duplicated per outlet by URL (the same story is often in several section
    feeds); the first feed that lists it wins. `validators` ({(outlet id, feed url):
    (ETag, Last-Modified)}) make the requests conditional.
    """
    active = [outlet for outlet in outlets if outlet.enabled and outlet.feeds]
    found = FeedsRead()
    if not active:
        return found
    with (
        make_client(timeout_s=timeout_s, user_agent=user_agent) as client,
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="feeds") as pool,
    ):
        futures = [
            pool.submit(
                _fetch_outlet_feeds,
                outlet,
                timeout_s=timeout_s,
                max_bytes=max_bytes,
                user_agent=user_agent,
                client=client,
                validators=validators or {},
                retry_times=retry_times,
                backoff_s=backoff_s,
            )
            for outlet in active
        ]
        per_outlet = [future.result() for future in futures]
    for outlet_items, outlet_records, outlet_validators in per_outlet:
        found.items.extend(outlet_items)
        found.records.extend(outlet_records)
        found.validators.update(outlet_validators)
    return found


def parse_feed(
    body: bytes,
    *,
    outlet_id: str,
    feed_url: str,
    base_url: str | None = None,
    content_type: str = "",
) -> ParsedFeed:
    """Read feed bytes (RSS, Atom or JSON Feed) as far as they can be read."""
    base_url = base_url or feed_url
    if _looks_like_json(body, content_type):
        return _parse_json_feed(body, outlet_id=outlet_id, feed_url=feed_url, base_url=base_url)
    return _parse_xml_feed(
        body,
        outlet_id=outlet_id,
        feed_url=feed_url,
        base_url=base_url,
        content_type=content_type,
    )


# --------------------------------------------------------------------------- fetching


def _fetch_outlet_feeds(
    outlet: Outlet,
    *,
    timeout_s: float,
    max_bytes: int,
    user_agent: str,
    client: httpx.Client,
    validators: Mapping[tuple[str, str], Validators],
    retry_times: int,
    backoff_s: float,
) -> tuple[list[FeedItem], list[FetchRecord], dict[tuple[str, str], Validators]]:
    interval = 1.0 / outlet.requests_per_second if outlet.requests_per_second > 0 else 0.0
    items: list[FeedItem] = []
    records: list[FetchRecord] = []
    new_validators: dict[tuple[str, str], Validators] = {}
    seen: set[str] = set()
    last_start: float | None = None
    for feed_url in dict.fromkeys(outlet.feeds):  # a feed listed twice is fetched once
        if last_start is not None:
            time.sleep(max(0.0, last_start + interval - time.monotonic()))
        last_start = time.monotonic()
        key = (outlet.outlet_id, feed_url)
        feed_items, record, answered = _fetch_feed(
            outlet,
            feed_url,
            timeout_s=timeout_s,
            max_bytes=max_bytes,
            user_agent=user_agent,
            client=client,
            validators=validators.get(key),
            retry_times=retry_times,
            backoff_s=backoff_s,
        )
        records.append(record)
        if answered is not None:
            new_validators[key] = answered
        for item in feed_items:
            if item.url not in seen:
                seen.add(item.url)
                items.append(item)
    return items, records, new_validators


def _record(
    outlet: Outlet, response: HttpResult, error_class: str | None, message: str | None
) -> FetchRecord:
    return FetchRecord(
        outlet_id=outlet.outlet_id,
        url=response.url,
        kind="feed",
        status=response.status,
        bytes=len(response.body),
        elapsed_ms=round(response.elapsed_ms, 1),
        fetched_at=response.fetched_at,
        error_class=error_class,
        error_message=message,
    )


def _feed_record(
    outlet: Outlet, feed_url: str, response: HttpResult, parsed: ParsedFeed
) -> FetchRecord:
    if parsed.error_class is not None:
        log.warning("feed %s: %s (%s)", feed_url, parsed.error_class, parsed.error_message)
        return _record(outlet, response, parsed.error_class, parsed.error_message)
    warning = "; ".join(parsed.warnings) or None
    if warning:
        log.warning(
            "feed %s: read %d items with warnings: %s", feed_url, len(parsed.items), warning
        )
    return _record(outlet, response, None, warning)


# --------------------------------------------------------------------------- XML feeds


def _parse_xml_feed(
    body: bytes, *, outlet_id: str, feed_url: str, base_url: str, content_type: str
) -> ParsedFeed:
    utf8, encoding_warning = decode_xml(body, content_type)
    parsed = feedparser.parse(
        utf8,
        response_headers={
            # we decoded already: tell feedparser the truth so it does not guess again
            "content-type": "application/xml; charset=utf-8",
            "content-location": base_url,
        },
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    warnings = [encoding_warning] if encoding_warning else []
    language = _language(parsed.feed.get("language"))
    items, skipped = _items_from_entries(
        parsed.entries, outlet_id=outlet_id, feed_url=feed_url, base_url=base_url, language=language
    )
    if skipped:
        warnings.append(f"{skipped} item(s) without a usable link skipped")
    problem = _bozo_problem(parsed)
    if items:
        if problem:
            warnings.insert(0, f"malformed feed, {len(items)} item(s) recovered: {problem}")
        return ParsedFeed(items, warnings)
    if not parsed.version and _looks_like_html(body):
        return ParsedFeed([], warnings, errors.NOT_A_FEED, "an HTML page, not a feed")
    if problem or not parsed.version:
        message = f"no item could be read: {problem or 'not RSS, Atom or JSON Feed'}"
        return ParsedFeed([], warnings, errors.MALFORMED_FEED, message)
    return ParsedFeed([], warnings)  # a well-formed feed that is simply empty today


def _bozo_problem(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    # we hand feedparser UTF-8 labelled as such; an encoding note from it is not news
    if isinstance(exc, feedparser.CharacterEncodingOverride):
        return None
    return f"{type(exc).__name__}: {exc}" if exc else "not well-formed"


def _items_from_entries(
    entries: Sequence[Any], *, outlet_id: str, feed_url: str, base_url: str, language: str | None
) -> tuple[list[FeedItem], int]:
    items = []
    skipped = 0
    for entry in entries:
        url = _entry_url(entry, base_url)
        if url is None:
            skipped += 1
            continue
        summary = entry.get("summary") or _first_content(entry)
        title_detail = entry.get("title_detail") or {}
        items.append(
            FeedItem(
                outlet_id=outlet_id,
                feed_url=feed_url,
                url=url,
                title=html_to_text(entry.get("title", "")),
                summary=html_to_text(summary),
                published_at=_struct_to_utc(
                    entry.get("published_parsed")
                    or entry.get("updated_parsed")
                    or entry.get("created_parsed")
                ),
                author=_clean(entry.get("author")),
                language=_language(title_detail.get("language")) or language,
            )
        )
    return items, skipped


def _entry_url(entry: Any, base_url: str) -> str | None:
    candidates = [entry.get("link")]
    # RSS <guid isPermaLink="true"> is the article URL when <link> is missing
    if entry.get("guidislink") or str(entry.get("id", "")).startswith(("http://", "https://")):
        candidates.append(entry.get("id"))
    for candidate in candidates:
        if candidate:
            url = urljoin(base_url, str(candidate).strip())
            if urlsplit(url).scheme in ("http", "https"):
                return url
    return None


def _first_content(entry: Any) -> str:
    content = entry.get("content") or []
    return content[0].get("value", "") if content else ""


def _struct_to_utc(value: time.struct_time | None) -> datetime | None:
    # feedparser normalises parsed dates to UTC struct_time; dates without a zone are read
    # as UTC (the feed gave us nothing better)
    if value is None:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- encodings


def decode_xml(body: bytes, content_type: str = "") -> tuple[bytes, str | None]:
    """The document re-encoded as UTF-8 (declaration rewritten), and a warning if it lied.

    The XML declaration is trusted before the HTTP charset: it was written by the software
    that wrote the bytes, while a server's charset is often a default for all files.
    """
    match = _XML_DECL_RE.match(body)
    declared = [
        match.group(1).decode("ascii").lower() if match else None,
        http_charset(content_type),
    ]
    text, used = encoding.decode(body, declared)
    warning = encoding.lie_warning(body, declared, used)
    text = _XML_DECL_ANY_RE.sub("", text, count=1).lstrip("\ufeff")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + text).encode("utf-8"), warning


# --------------------------------------------------------------------------- JSON Feed


def _looks_like_json(body: bytes, content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    if media_type in ("application/feed+json", "application/json"):
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _parse_json_feed(body: bytes, *, outlet_id: str, feed_url: str, base_url: str) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (feedparser 6 does not read it)."""
    try:
        document = json.loads(body.decode("utf-8-sig", errors="replace"))
    except json.JSONDecodeError as exc:
        return ParsedFeed([], [], errors.MALFORMED_FEED, f"invalid JSON: {exc}")
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
        _JSON_FEED_PREFIX
    ):
        return ParsedFeed([], [], errors.NOT_A_FEED, "JSON, but not a JSON Feed")
    raw_items = document.get("items")
    if not isinstance(raw_items, list):
        return ParsedFeed([], [], errors.MALFORMED_FEED, "JSON Feed without an items list")
    language = _language(document.get("language"))
    feed_author = _json_author(document)
    items: list[FeedItem] = []
    skipped = 0
    for raw in raw_items:
        item = _json_item(raw, outlet_id, feed_url, base_url, language, feed_author)
        if item is None:
            skipped += 1
        else:
            items.append(item)
    warnings = [f"{skipped} item(s) without a usable link skipped"] if skipped else []
    if skipped and not items:
        return ParsedFeed([], [], errors.MALFORMED_FEED, warnings[0])
    return ParsedFeed(items, warnings)


def _json_item(
    raw: Any,
    outlet_id: str,
    feed_url: str,
    base_url: str,
    language: str | None,
    feed_author: str | None,
) -> FeedItem | None:
    if not isinstance(raw, dict):
        return None
    link = raw.get("url") or raw.get("external_url")
    if not isinstance(link, str):
        return None
    url = urljoin(base_url, link.strip())
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    summary = raw.get("summary") or raw.get("content_text") or raw.get("content_html") or ""
    return FeedItem(
        outlet_id=outlet_id,
        feed_url=feed_url,
        url=url,
        title=html_to_text(str(raw.get("title") or "")),
        summary=html_to_text(str(summary)),
        published_at=parse_iso_datetime(raw.get("date_published") or raw.get("date_modified")),
        author=_json_author(raw) or feed_author,
        language=_language(raw.get("language")) or language,
    )


def _json_author(obj: dict) -> str | None:
    authors = obj.get("authors")
    if isinstance(authors, list):
        names = [a.get("name") for a in authors if isinstance(a, dict) and a.get("name")]
        if names:
            return ", ".join(str(name) for name in names)
    author = obj.get("author")  # JSON Feed 1.0
    if isinstance(author, dict) and author.get("name"):
        return str(author["name"])
    return None


# --------------------------------------------------------------------------- small helpers


def parse_iso_datetime(value: Any) -> datetime | None:
    """RFC 3339 / ISO 8601 text to an aware UTC datetime (naive values are taken as UTC)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def html_to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment (feed titles and summaries), whitespace collapsed."""
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return _WHITESPACE_RE.sub(" ", fragment).strip()
    import lxml.html

    try:
        text = lxml.html.fragment_fromstring(fragment, create_parent="div").text_content()
    except Exception:  # lxml rejects some fragments (e.g. only a comment): keep the raw text
        text = fragment
    return _WHITESPACE_RE.sub(" ", text).strip()


def _clean(value: Any) -> str | None:
    text = html_to_text(str(value)) if value else ""
    return text or None


def _language(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    primary, _, rest = value.strip().replace("_", "-").partition("-")
    return f"{primary.lower()}-{rest}" if rest else primary.lower()


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head
