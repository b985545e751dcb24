"""Finding article pages beyond feeds: sitemaps (news sitemaps included) and section pages.

`discover(outlets, ...)` reads every enabled outlet's `sitemaps` and `sections` and returns
`FeedItem`s for the article pages they list (the scrapy crawl then fetches them like feed
items), one `FetchRecord` per document (kind `sitemap` or `section`, plus `robots` for the
robots.txt files read), and the validators for conditional GETs next time.

Rules, the same as for the page crawl:

- robots.txt is obeyed for every sitemap and section page (RFC 9309: a robots.txt that
  answers a server error forbids everything; one that does not exist allows everything);
- only links on the outlet's allowed domains are kept, and a sitemap index is only followed
  to child sitemaps on them;
- each outlet's requests are spaced by its rate limit; outlets run in parallel;
- requests are conditional when validators are known: a 304 is a record with no error and
  "not modified", and lists nothing;
- pages already stored (`known_urls`) are not listed again, then at most `max_links` links
  per document are kept, newest first for sitemaps, in page order for sections;
- sitemap entries older than `max_age` (news publication date, else lastmod) are skipped:
  a site's full sitemap may list every article since 2005.

Sitemaps are parsed with lxml without entity resolution or network access (no XXE, no
billion laughs); gzip'd sitemaps are inflated with a size cap (no gzip bomb).
"""

from __future__ import annotations

import gzip
import logging
import re
import threading
import time
import zlib
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from crawlers import errors
from crawlers.canonical import normalise_url
from crawlers.httpfetch import (
    HttpResult,
    conditional_headers,
    fetch,
    fetch_with_retries,
    make_client,
)
from crawlers.sources import host_allowed
from mediawatch.records import FeedItem, FetchRecord, Outlet

log = logging.getLogger(__name__)

Validators = tuple[str | None, str | None]
NOT_MODIFIED = "not modified"
MAX_CHILD_SITEMAPS = 5  # per sitemap index: the newest children
HTML_TYPES = ("text/html", "application/xhtml+xml")
# a link under one of these is site navigation, not a story list
_CHROME_TAGS = frozenset({"nav", "header", "footer", "aside", "form"})
# path segments that name listings, people or the site itself, never one article
_NOT_ARTICLE_SEGMENTS = frozenset(
    {"tag", "tags", "category", "categories", "topic", "topics", "author", "authors",
     "search", "login", "signin", "signup", "subscribe", "account", "about", "contact",
     "privacy", "terms", "feed", "rss", "page", "video", "videos", "gallery"}
)  # fmt: skip
_PAGE_SUFFIXES = (".html", ".htm", ".shtml", ".php", ".asp", ".aspx", ".jsp", ".ece")
_DIGITS_RE = re.compile(r"\d{4,}")
_WORDS_RE = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
_SPACE_RE = re.compile(r"\s+")


@dataclass
class Discovered:
    items: list[FeedItem] = field(default_factory=list)
    records: list[FetchRecord] = field(default_factory=list)
    validators: dict[tuple[str, str], Validators] = field(default_factory=dict)
    kinds: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass(frozen=True)
class SitemapEntry:
    url: str
    published_at: datetime | None = None  # news:publication_date
    modified_at: datetime | None = None  # lastmod
    title: str = ""
    language: str | None = None

    @property
    def when(self) -> datetime | None:
        return self.published_at or self.modified_at


@dataclass(frozen=True)
class ParsedSitemap:
    entries: list[SitemapEntry]
    children: list[SitemapEntry]  # a sitemap index's child sitemaps
    error_class: str | None = None
    error_message: str | None = None


# --------------------------------------------------------------------------- public API


def discover(
    outlets: Iterable[Outlet],
    *,
    timeout_s: float,
    max_bytes: int,
    user_agent: str,
    validators: Mapping[tuple[str, str], Validators] | None = None,
    known_urls: Collection[str] = (),
    max_links: int = 100,
    max_age: timedelta = timedelta(days=7),
    retry_times: int = 0,
    backoff_s: float = 1.0,
    now: datetime | None = None,
    max_workers: int = 8,
) -> Discovered:
    """Article links from every enabled outlet's sitemaps and section pages. Never raises."""
    active = [o for o in outlets if o.enabled and (o.sitemaps or o.sections)]
    found = Discovered()
    if not active:
        return found
    context = _Context(
        timeout_s=timeout_s,
        max_bytes=max_bytes,
        user_agent=user_agent,
        validators=validators or {},
        known=frozenset(known_urls),
        max_links=max_links,
        oldest=(now or datetime.now(UTC)) - max_age,
        retry_times=retry_times,
        backoff_s=backoff_s,
    )
    with (
        make_client(timeout_s=timeout_s, user_agent=user_agent) as client,
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="discover") as pool,
    ):
        context.client = client
        results = list(pool.map(lambda outlet: _OutletDiscovery(outlet, context).run(), active))
    for outlet_found in results:
        found.items.extend(outlet_found.items)
        found.records.extend(outlet_found.records)
        found.validators.update(outlet_found.validators)
        found.kinds.update(outlet_found.kinds)
    return found


def parse_sitemap(body: bytes, *, max_bytes: int = 50_000_000) -> ParsedSitemap:
    """A sitemap (urlset, with news/lastmod), a sitemap index, or why it is neither."""
    from lxml import etree

    if body[:2] == b"\x1f\x8b":
        try:
            body = _gunzip_capped(body, max_bytes)
        except (OSError, zlib.error, EOFError) as exc:
            return ParsedSitemap([], [], errors.MALFORMED_SITEMAP, f"bad gzip: {exc}")
        except _TooLarge as exc:
            return ParsedSitemap([], [], errors.TOO_LARGE, str(exc))
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        return ParsedSitemap([], [], errors.MALFORMED_SITEMAP, f"not XML: {exc}")
    if root is None:
        return ParsedSitemap([], [], errors.MALFORMED_SITEMAP, "not XML")
    kind = etree.QName(root).localname.lower()
    if kind == "urlset":
        entries = [_url_entry(node) for node in root if _local(node) == "url"]
        entries = [entry for entry in entries if entry is not None]
        return ParsedSitemap(entries, [])
    if kind == "sitemapindex":
        children = [_url_entry(node) for node in root if _local(node) == "sitemap"]
        return ParsedSitemap([], [child for child in children if child is not None])
    if kind in ("html", "body"):
        return ParsedSitemap([], [], errors.NOT_A_SITEMAP, "an HTML page, not a sitemap")
    return ParsedSitemap([], [], errors.NOT_A_SITEMAP, f"<{kind}> is not a sitemap")


def section_links(html: bytes | str, base_url: str) -> list[tuple[str, str]]:
    """(URL, anchor text) of the links on a section page that look like articles, in page
    order, navigation (nav, header, footer, aside, forms) left out."""
    import lxml.html

    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return []
    links: dict[str, str] = {}
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        if any(ancestor.tag in _CHROME_TAGS for ancestor in anchor.iterancestors()):
            continue
        url = urljoin(base_url, href).split("#", 1)[0]
        if not looks_like_article(url) or url in links:
            continue
        links[url] = _SPACE_RE.sub(" ", anchor.text_content()).strip()
    return list(links.items())


def looks_like_article(url: str) -> bool:
    """A URL shaped like one story (a dated path, an id, a slug of several words), not a
    listing, a file or the site's own pages. Deliberately simple: the extraction step
    refuses what is not an article anyway."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.query.startswith("page="):
        return False
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        return False
    if any(segment.lower() in _NOT_ARTICLE_SEGMENTS for segment in segments):
        return False
    last = segments[-1].lower()
    stem, dot, suffix = last.rpartition(".")
    if dot and not last.endswith(_PAGE_SUFFIXES):
        return False  # a PDF, an image, an archive
    slug = stem if dot else last
    return (
        last.endswith(_PAGE_SUFFIXES)
        or bool(_DIGITS_RE.search(parts.path))
        or len(_WORDS_RE.findall(slug)) >= 3
    )


# --------------------------------------------------------------------------- one outlet


@dataclass
class _Context:
    timeout_s: float
    max_bytes: int
    user_agent: str
    validators: Mapping[tuple[str, str], Validators]
    known: frozenset[str]
    max_links: int
    oldest: datetime
    retry_times: int
    backoff_s: float
    client: httpx.Client | None = None
    robots: dict[str, Any] = field(default_factory=dict)  # origin -> (parser, why)
    robots_lock: threading.Lock = field(default_factory=threading.Lock)
    origin_locks: dict[str, threading.Lock] = field(default_factory=dict)


class _OutletDiscovery:
    def __init__(self, outlet: Outlet, context: _Context):
        self.outlet = outlet
        self.context = context
        self.found = Discovered()
        self.interval = 1.0 / outlet.requests_per_second if outlet.requests_per_second else 0.0
        self.last_start: float | None = None
        self.listed: set[str] = set()

    def run(self) -> Discovered:
        for url in dict.fromkeys(self.outlet.sitemaps):
            self._guarded(self._sitemap, url, "sitemap")
        for url in dict.fromkeys(self.outlet.sections):
            self._guarded(self._section, url, "section")
        return self.found

    def _guarded(self, step: Any, url: str, kind: str) -> None:
        try:
            step(url)
        except Exception as exc:  # a bug must cost one document, not the run
            log.exception("%s %s: unexpected error", kind, url)
            self._record_failure(url, kind, errors.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")

    # -- documents

    def _sitemap(self, url: str, *, depth: int = 0) -> None:
        response = self._get(url, "sitemap")
        if response is None:
            return
        parsed = parse_sitemap(response.body, max_bytes=self.context.max_bytes)
        if parsed.error_class is not None:
            self._record(response, "sitemap", parsed.error_class, parsed.error_message)
            return
        if parsed.children:
            children = [c for c in parsed.children if self._allowed(c.url)]
            fresh = [c for c in children if c.when is None or c.when >= self.context.oldest]
            fresh.sort(key=lambda c: c.when or datetime.min.replace(tzinfo=UTC), reverse=True)
            skipped = len(children) - len(fresh[:MAX_CHILD_SITEMAPS])
            note = f"sitemap index: {len(fresh[:MAX_CHILD_SITEMAPS])} child sitemap(s) read"
            if skipped:
                note += f", {skipped} older or beyond {MAX_CHILD_SITEMAPS} skipped"
            self._record(response, "sitemap", None, note if skipped else None, validators=True)
            if depth == 0:
                for child in fresh[:MAX_CHILD_SITEMAPS]:
                    self._guarded(lambda u: self._sitemap(u, depth=1), child.url, "sitemap")
            return
        entries = [e for e in parsed.entries if self._allowed(e.url)]
        offsite = len(parsed.entries) - len(entries)
        entries = [e for e in entries if e.when is None or e.when >= self.context.oldest]
        entries = [e for e in entries if not self._known(e.url)]
        # newest first; undated entries keep their order after the dated ones
        entries.sort(key=lambda e: e.when or datetime.min.replace(tzinfo=UTC), reverse=True)
        kept = entries[: self.context.max_links]
        for entry in kept:
            self._add(
                FeedItem(
                    outlet_id=self.outlet.outlet_id,
                    feed_url=url,
                    url=entry.url,
                    title=entry.title,
                    summary="",
                    published_at=entry.published_at,
                    language=entry.language,
                )
            )
        notes = []
        if offsite:
            notes.append(f"{offsite} link(s) outside allowed domains skipped")
        if len(entries) > len(kept):
            notes.append(f"{len(entries) - len(kept)} new link(s) beyond {len(kept)} left")
        self._record(response, "sitemap", None, "; ".join(notes) or None, validators=True)

    def _section(self, url: str) -> None:
        response = self._get(url, "section")
        if response is None:
            return
        media_type = response.content_type.split(";")[0].strip().lower()
        if media_type and media_type not in HTML_TYPES:
            self._record(response, "section", errors.NOT_HTML, f"content type {media_type!r}")
            return
        from crawlers.extract import _as_text

        html = _as_text(response.body, response.content_type)
        links = section_links(html, response.final_url)
        sections = {normalise_url(s) for s in self.outlet.sections}
        links = [
            (link, text)
            for link, text in links
            if self._allowed(link) and normalise_url(link) not in sections
        ]
        new = [(link, text) for link, text in links if not self._known(link)]
        for link, text in new[: self.context.max_links]:
            self._add(
                FeedItem(
                    outlet_id=self.outlet.outlet_id,
                    feed_url=url,
                    url=link,
                    title=text,
                    summary="",
                    published_at=None,
                )
            )
        note = None
        if not links:
            note = "no article links found"
        elif len(new) > self.context.max_links:
            left = len(new) - self.context.max_links
            note = f"{left} new link(s) beyond {self.context.max_links} left"
        self._record(response, "section", None, note, validators=True)

    # -- requests

    def _get(self, url: str, kind: str) -> HttpResult | None:
        """The document, or None when it was refused, failed or has not changed (recorded)."""
        if not self._allowed(url):
            self._record_failure(url, kind, errors.OFFSITE, "outside the outlet's allowed domains")
            return None
        allowed, why = self._robots_allow(url)
        if not allowed:
            self._record_failure(url, kind, errors.ROBOTS_FORBIDDEN, why)
            return None
        self._pace()
        key = (self.outlet.outlet_id, url)
        known = self.context.validators.get(key)
        assert self.context.client is not None
        response = fetch_with_retries(
            self.context.client,
            url,
            timeout_s=self.context.timeout_s,
            max_bytes=self.context.max_bytes,
            headers=conditional_headers(*known) if known else None,
            retry_times=self.context.retry_times,
            backoff_s=self.context.backoff_s,
        )
        if response.error_class is not None:
            log.warning("%s %s: %s (%s)", kind, url, response.error_class, response.error_message)
            self._record(response, kind, response.error_class, response.error_message)
            return None
        if response.not_modified:
            self._record(response, kind, None, NOT_MODIFIED)
            return None
        return response

    def _pace(self) -> None:
        if self.last_start is not None:
            time.sleep(max(0.0, self.last_start + self.interval - time.monotonic()))
        self.last_start = time.monotonic()

    def _robots_allow(self, url: str) -> tuple[bool, str]:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self.context.robots_lock:
            lock = self.context.origin_locks.setdefault(origin, threading.Lock())
        with lock:  # one fetch per origin; other origins go on meanwhile
            if origin not in self.context.robots:
                self.context.robots[origin] = self._read_robots(origin)
            parser, why = self.context.robots[origin]
        if parser is None or parser is False:
            return parser is None, why
        if parser.can_fetch(url, self.context.user_agent):
            return True, ""
        return False, "forbidden by robots.txt"

    def _read_robots(self, origin: str) -> tuple[Any, str]:
        """(a Protego parser, None to allow all or False to disallow all, and why); the
        fetch is logged. RFC 9309: a robots.txt that does not exist (4xx) allows all; one
        that is unreachable (5xx, network error) means complete disallow."""
        from protego import Protego

        assert self.context.client is not None
        response = fetch(
            self.context.client,
            origin + "/robots.txt",
            timeout_s=self.context.timeout_s,
            max_bytes=500_000,
        )
        status = response.status
        if status is not None and status >= 500:
            self._record(response, "robots", errors.http_error(status), "disallows everything")
            return False, f"robots.txt answered {status}: everything disallowed (RFC 9309)"
        if response.error_class is not None and status is None:
            self._record(response, "robots", response.error_class, response.error_message)
            return False, f"robots.txt unreachable ({response.error_class}): everything disallowed"
        if status is None or status >= 400:
            self._record(response, "robots", None, "no robots.txt: everything allowed")
            return None, ""
        self._record(response, "robots", None, None)
        return Protego.parse(response.body.decode("utf-8", errors="replace")), ""

    # -- bookkeeping

    def _allowed(self, url: str) -> bool:
        host = urlsplit(url).hostname or ""
        return host_allowed(host, self.outlet.allowed_domains)

    def _known(self, url: str) -> bool:
        known = self.context.known
        return url in known or normalise_url(url) in known

    def _add(self, item: FeedItem) -> None:
        if item.url not in self.listed:
            self.listed.add(item.url)
            self.found.items.append(item)

    def _record(
        self,
        response: HttpResult,
        kind: str,
        error_class: str | None,
        message: str | None,
        *,
        validators: bool = False,
    ) -> None:
        self.found.records.append(
            FetchRecord(
                outlet_id=self.outlet.outlet_id,
                url=response.url,
                kind=kind,  # type: ignore[arg-type]
                status=response.status,
                bytes=len(response.body),
                elapsed_ms=round(response.elapsed_ms, 1),
                fetched_at=response.fetched_at,
                error_class=error_class,
                error_message=message,
            )
        )
        if validators and error_class is None and any(response.validators):
            key = (self.outlet.outlet_id, response.url)
            self.found.validators[key] = response.validators
            self.found.kinds[key] = kind

    def _record_failure(self, url: str, kind: str, error_class: str, message: str) -> None:
        self.found.records.append(
            FetchRecord(
                outlet_id=self.outlet.outlet_id,
                url=url,
                kind=kind,  # type: ignore[arg-type]
                status=None,
                bytes=0,
                elapsed_ms=0.0,
                fetched_at=datetime.now(UTC),
                error_class=error_class,
                error_message=message,
            )
        )


# --------------------------------------------------------------------------- parsing


def _local(node: Any) -> str:
    tag = node.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _child_text(node: Any, name: str) -> str | None:
    for child in node.iter():
        if _local(child) == name and child.text and child.text.strip():
            return child.text.strip()
    return None


def _url_entry(node: Any) -> SitemapEntry | None:
    loc = _child_text(node, "loc")
    if not loc or urlsplit(loc).scheme not in ("http", "https"):
        return None
    from crawlers.feeds import parse_iso_datetime

    published = parse_iso_datetime(_child_text(node, "publication_date"))
    modified = parse_iso_datetime(_child_text(node, "lastmod"))
    language = _child_text(node, "language")
    return SitemapEntry(
        url=loc,
        published_at=published,
        modified_at=modified,
        title=_SPACE_RE.sub(" ", _child_text(node, "title") or "").strip(),
        language=language.lower() if language else None,
    )


class _TooLarge(ValueError):
    pass


def _gunzip_capped(body: bytes, max_bytes: int) -> bytes:
    """gzip.decompress that stops past `max_bytes` of output (a bomb is 1,000:1)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(body, max_bytes + 1)
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise _TooLarge(f"gzip'd sitemap inflates past the cap of {max_bytes} bytes")
    if not inflater.eof:
        raise gzip.BadGzipFile("truncated gzip stream")
    return out
