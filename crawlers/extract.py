"""Main text and metadata of an article page: title, text, date, byline, language, canonical.

trafilatura does the text, favouring precision: menus, related links, comments and
footers must not reach the narratives. Precision mode sometimes drops whole parts of an
article, though; when its text is short, a second, balanced pass is run and wins if it
finds at least twice as much (measured in bench/bench_extraction.py: on the development
halves of both benchmarks this kept precision mode's precision and recovered most of the
recall that balanced mode has).

When that finds nothing usable, fallbacks are tried in order, and only for pages that say
they are articles (og:type, JSON-LD, an <article> element) or that a feed pointed to,
because the generous fallbacks would otherwise turn index pages into "articles":

    trafilatura (recall) -> trafilatura baseline -> JSON-LD articleBody
        -> the page's description -> the feed item's summary

Dates: the page's own machine-readable publication time first (article:published_time,
JSON-LD datePublished, itemprop, <time datetime>); a page date without a time yields to
the feed's timestamp on the same day; then the feed's date; then the page's date alone.
Everything is returned as aware UTC; a time without a zone is read in `naive_tz`.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any

import lxml.html

from crawlers import encoding
from crawlers.canonical import canonical_url
from mediawatch.records import Article, FeedItem, Page, content_hash, stable_id

log = logging.getLogger(__name__)

# A page that says it is an article may be short (a news brief); anything else must carry
# enough text that it is unlikely to be an index page's leftovers.
MIN_CHARS_DECLARED_ARTICLE = 40
MIN_CHARS_OTHER = 250
# Precision mode's text shorter than this gets a second, balanced pass, which wins when it
# is more than 1 / BALANCED_RATIO times as long (both chosen on the benchmarks' dev halves).
SECOND_PASS_BELOW_CHARS = 2000
BALANCED_RATIO = 0.5
ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "blogposting",
     "opinionnewsarticle", "report", "liveblogposting", "backgroundnewsarticle"}
)  # fmt: skip
_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "sailthru.date",
    "parsely-pub-date",
    "date",
)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_SPACES_RE = re.compile(r"[ \t\u00a0]+")
_DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TITLE_SEPARATOR_RE = re.compile(r"\s+[|\-–—:·•»]\s+")


class ExtractionError(ValueError):
    """The page has no article we can use; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ExtractedArticle:
    title: str
    text: str
    published_at: datetime | None
    byline: str | None
    language: str | None  # primary language subtag the page declares: 'vi', 'en', ...
    canonical_url: str
    method: str  # which step produced the text: trafilatura, recall, baseline, ...
    date_source: str | None  # page, page+feed, feed, page-date

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "text": self.text,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "byline": self.byline,
            "language": self.language,
            "canonical_url": self.canonical_url,
            "method": self.method,
            "date_source": self.date_source,
        }


@dataclass(frozen=True)
class PageMeta:
    """What the HTML says about itself, read with lxml (trafilatura's dates are days only)."""

    published: datetime | None = None
    published_has_time: bool = False
    title: str | None = None
    h1: str | None = None
    site_name: str | None = None
    byline: str | None = None
    language: str | None = None
    canonical: str | None = None
    description: str | None = None
    # the longest JSON-LD articleBody (some CMSs put the whole text there)
    ld_body: str | None = None
    # characters of visible text in the body (scripts, styles left out), spaces collapsed
    text_chars: int = 0
    declares_article: bool = False
    # the page has <article> elements and they hold (almost) no text: a shell whose story
    # is missing (removed, or rendered by JavaScript)
    hollow_article: bool = False


# --------------------------------------------------------------------------- public API


def extract_page(page: Page, *, allowed_hosts: Iterable[str] = ()) -> Article | None:
    """The article on a fetched page, or None (the reason is logged)."""
    article, reason = _extract(page, tuple(allowed_hosts))
    if article is None:
        log.info("no article at %s: %s", page.final_url, reason)
    return article


def extract_pages(
    pages: Iterable[Page], *, allowed_hosts: Iterable[str] = ()
) -> tuple[list[Article], dict[str, str]]:
    """Articles from many pages (in page order), and {page url: reason} for the others."""
    hosts = tuple(allowed_hosts)
    articles: list[Article] = []
    skipped: dict[str, str] = {}
    for page in pages:
        article, reason = _extract(page, hosts)
        if article is None:
            skipped[page.url] = reason or "no article"
        else:
            articles.append(article)
    return articles, skipped


def _extract(page: Page, allowed_hosts: tuple[str, ...]) -> tuple[Article | None, str | None]:
    try:
        article, _ = extract_for_store(page, allowed_hosts=allowed_hosts)
    except ExtractionError as exc:
        return None, exc.reason
    return article, None


def extract_for_store(
    page: Page, *, allowed_hosts: Iterable[str] = ()
) -> tuple[Article, ExtractedArticle]:
    """The `Article` the crawler stores for a page, and how it was found (method, date
    source); raises `ExtractionError`. `mediawatch extract` shows exactly this."""
    extracted = extract_html(
        page.body,
        page.final_url,
        page.feed_item,
        content_type=page.content_type,
        allowed_hosts=tuple(allowed_hosts),
    )
    return _article(page, extracted), extracted


def extract_html(
    html: bytes | str,
    url: str,
    hints: FeedItem | None = None,
    *,
    content_type: str = "",
    allowed_hosts: Iterable[str] = (),
    naive_tz: tzinfo = UTC,
) -> ExtractedArticle:
    """Extract one article from HTML; raises `ExtractionError` when there is none."""
    text_html = _as_text(html, content_type)
    if not text_html.strip():
        raise ExtractionError("empty page")
    meta = read_page_meta(text_html, naive_tz=naive_tz)
    document = _trafilatura(text_html, url, mode="precision")
    title = _headline(document, meta, hints)
    text, method = _main_text(text_html, url, document, meta, hints, title)
    published_at, date_source = choose_date(
        meta, trafilatura_day=document.date if document else None, hints=hints
    )
    return ExtractedArticle(
        title=_nfc(title or ""),
        text=_nfc(text),
        published_at=published_at,
        byline=_first(
            document.author if document else None, meta.byline, hints.author if hints else None
        ),
        language=_primary_language(meta.language or (hints.language if hints else None)),
        canonical_url=canonical_url(
            url,
            meta.canonical or (document.url if document else None),
            allowed_hosts=allowed_hosts,
        ),
        method=method,
        date_source=date_source,
    )


def _headline(document: Any, meta: PageMeta, hints: FeedItem | None) -> str | None:
    """The article's headline: the first title that is not the site's name, without the
    " | Site Name" that many pages append to it."""
    site_name = meta.site_name or (document.sitename if document else None)
    candidates = (
        document.title if document else None,
        meta.title,
        meta.h1,
        hints.title if hints else None,
    )
    for candidate in candidates:
        title = _first(candidate)
        if title and not _same_text(title, site_name):
            return _trim_site_name(title, site_name, meta.h1)
    return None


def _trim_site_name(title: str, site_name: str | None, h1: str | None) -> str:
    separators = list(_TITLE_SEPARATOR_RE.finditer(title))
    if not separators:
        return title
    head, tail = title[: separators[-1].start()], title[separators[-1].end() :]
    if h1 and (_same_text(head, h1) or _same_text(tail, h1)):
        return _first(h1) or title
    if site_name and _same_text(tail, site_name):
        return head.strip()
    first_head = title[: separators[0].start()]
    if site_name and _same_text(first_head, site_name):
        return title[separators[0].end() :].strip()
    return title


def _article(page: Page, extracted: ExtractedArticle) -> Article:
    return Article(
        article_id=stable_id(extracted.canonical_url),
        outlet_id=page.outlet_id,
        url=page.final_url,
        canonical_url=extracted.canonical_url,
        title=extracted.title,
        text=extracted.text,
        published_at=extracted.published_at,
        language=extracted.language,
        byline=extracted.byline,
        content_hash=content_hash(extracted.title, extracted.text),
        fetched_at=page.fetched_at,
    )


# --------------------------------------------------------------------------- text


def _trafilatura(html: str, url: str, *, mode: str) -> Any:
    """trafilatura's document in `mode` precision, balanced or recall (None if it failed)."""
    import trafilatura  # here, not at the top: it costs ~0.4 s to import (CLI start-up)

    try:
        return trafilatura.bare_extraction(
            html,
            url=url,
            favor_precision=mode == "precision",
            favor_recall=mode == "recall",
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            deduplicate=False,
            # no full-text date hunting: a date in a sentence is not the publication date
            date_extraction_params={"extensive_search": False, "original_date": True},
            # the second opinions only need the text (a third faster without metadata)
            with_metadata=mode == "precision",
        )
    except Exception:  # trafilatura on hostile HTML: treat as "found nothing"
        log.debug("trafilatura failed on %s", url, exc_info=True)
        return None


def _main_text(
    html: str,
    url: str,
    document: Any,
    meta: PageMeta,
    hints: FeedItem | None,
    title: str | None,
) -> tuple[str, str]:
    """(text, method) or `ExtractionError`; fallbacks only for pages that claim an article."""
    minimum = MIN_CHARS_DECLARED_ARTICLE if meta.declares_article else MIN_CHARS_OTHER
    text = _drop_title_line(_clean_text(document.text if document else ""), title)
    method = "trafilatura"
    # The balanced text cannot be longer than all the page's visible text: when that is
    # under twice what precision found, the second pass could not win (skip its cost). Like
    # the fallbacks, it may not turn a page that is no article into one: precision must
    # have found enough, or the page (or a feed) must say it is an article.
    if (
        not meta.hollow_article
        and len(text) < SECOND_PASS_BELOW_CHARS
        and meta.text_chars > len(text) / BALANCED_RATIO
        and (len(text) >= minimum or meta.declares_article or hints is not None)
    ):
        balanced = _trafilatura(html, url, mode="balanced")
        balanced_text = _drop_title_line(_clean_text(balanced.text if balanced else ""), title)
        if len(text) < BALANCED_RATIO * len(balanced_text):
            text, method = balanced_text, "balanced"
    if meta.hollow_article:
        # whatever trafilatura found lies outside the page's own (empty) <article>: chrome
        text = ""
    elif len(text) >= minimum:
        return text, method
    headlines = (title, hints.title if hints else None)
    for method, candidate in _fallbacks(html, url, meta, hints):
        candidate = _drop_title_line(_clean_text(candidate), title)
        if len(candidate) >= MIN_CHARS_DECLARED_ARTICLE and not any(
            _same_text(candidate, headline) for headline in headlines
        ):
            return candidate, method
    if meta.hollow_article:
        raise ExtractionError("the page's <article> element is empty and no fallback applied")
    found = f"only {len(text)} characters of main text" if text else "no main text"
    raise ExtractionError(f"{found} (need {minimum}) and no fallback applied: not an article?")


def _fallbacks(
    html: str, url: str, meta: PageMeta, hints: FeedItem | None
) -> Iterator[tuple[str, str]]:
    """Generous extractions, each tried only if the previous one found too little.

    Recall and baseline would turn an index page's menus into "text", so they run only on
    pages that declare themselves articles and whose <article>, if any, is not empty. The
    page's description and the feed item's summary are the outlet's own words about the
    article, acceptable as a last resort (but not when they only repeat the headline).
    """
    if meta.declares_article and not meta.hollow_article:
        recall = _trafilatura(html, url, mode="recall")
        yield "recall", recall.text if recall else ""
        from trafilatura import baseline

        try:
            _, baseline_text, _ = baseline(html)
        except Exception:  # baseline on hostile HTML: nothing found
            baseline_text = ""
        yield "baseline", baseline_text
    if meta.declares_article:
        yield "json-ld", meta.ld_body or ""
        yield "description", meta.description or ""
    if hints is not None:
        yield "feed-summary", hints.summary


def _same_text(text: str, title: str | None) -> bool:
    return bool(title) and _squash(text) == _squash(title or "")


def _clean_text(text: str | None) -> str:
    if not text:
        return ""
    lines = (_SPACES_RE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _drop_title_line(text: str, title: str | None) -> str:
    """trafilatura sometimes keeps the headline as the first line; the text is the body."""
    if not title:
        return text
    first, _, rest = text.partition("\n")
    if rest and _squash(first) == _squash(title):
        return rest
    return text


def _squash(text: str) -> str:
    return " ".join(_nfc(text).casefold().split())


def _nfc(text: str) -> str:
    # Vietnamese may arrive decomposed (NFD); store one form so hashes and search agree
    return unicodedata.normalize("NFC", text)


# --------------------------------------------------------------------------- metadata


def read_page_meta(html: str, *, naive_tz: tzinfo = UTC) -> PageMeta:
    try:
        tree = lxml.html.fromstring(_XML_DECL_RE.sub("", html, count=1))
    except (ValueError, lxml.etree.ParserError):
        return PageMeta()
    metas = _meta_values(tree)
    ld_items = list(_json_ld_articles(tree))
    published, has_time = _published(tree, metas, ld_items, naive_tz)
    og_type = (metas.get("og:type") or "").lower()
    articles = tree.xpath("//article")
    return PageMeta(
        published=published,
        published_has_time=has_time,
        title=_first(metas.get("og:title"), _text_of(tree, "//title")),
        h1=_text_of(tree, "//h1"),
        site_name=metas.get("og:site_name"),
        byline=_first(metas.get("author"), *(_ld_author(item) for item in ld_items)),
        language=_first(
            tree.get("lang"),
            tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
            metas.get("og:locale"),
            metas.get("content-language"),
        ),
        canonical=_first(*_canonical_links(tree), metas.get("og:url")),
        description=_first(metas.get("og:description"), metas.get("description")),
        ld_body=_ld_body(ld_items),
        text_chars=_visible_chars(tree),
        declares_article=og_type == "article" or bool(ld_items) or bool(articles),
        hollow_article=bool(articles) and _text_length(articles) < MIN_CHARS_DECLARED_ARTICLE,
    )


_VISIBLE_TEXT = (
    "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript"
    " or ancestor::template or ancestor::svg)]"
)


def _visible_chars(tree: Any) -> int:
    return len(" ".join(" ".join(tree.xpath(_VISIBLE_TEXT)).split()))


def _text_length(elements: list[Any]) -> int:
    return sum(len("".join(element.text_content().split())) for element in elements)


def _canonical_links(tree: Any) -> list[str | None]:
    return [
        element.get("href")
        for element in tree.xpath("//link[@href][@rel]")
        if "canonical" in element.get("rel", "").lower().split()
    ]


def _meta_values(tree: Any) -> dict[str, str]:
    """<meta> values by lowercased name/property/itemprop/http-equiv; the first one wins."""
    values: dict[str, str] = {}
    for element in tree.xpath("//meta[@content]"):
        for attribute in ("property", "name", "itemprop", "http-equiv"):
            key = (element.get(attribute) or "").strip().lower()
            if key and key not in values:
                values[key] = element.get("content", "").strip()
    return values


def _json_ld_articles(tree: Any) -> Iterator[dict[str, Any]]:
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text_content(), strict=False)
        except (json.JSONDecodeError, TypeError):
            continue
        yield from (item for item in _walk_ld(data) if _is_article_type(item.get("@type")))


def _walk_ld(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _walk_ld(item)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _walk_ld(data["@graph"])


def _is_article_type(value: Any) -> bool:
    types = value if isinstance(value, list) else [value]
    return any(isinstance(kind, str) and kind.lower() in ARTICLE_TYPES for kind in types)


def _ld_body(items: list[dict[str, Any]]) -> str | None:
    bodies = [item.get("articleBody") for item in items]
    texts = [body.strip() for body in bodies if isinstance(body, str) and body.strip()]
    if not texts:
        return None
    longest = max(texts, key=len)
    # some CMSs put HTML in it
    return _html_fragment_text(longest) if "<" in longest else longest


def _html_fragment_text(fragment: str) -> str:
    try:
        element = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ValueError, lxml.etree.ParserError):
        return fragment
    for block in element.iter("p", "br", "div", "li", "h2", "h3", "h4"):
        block.tail = "\n" + (block.tail or "")
    return element.text_content()


def _ld_author(item: dict[str, Any]) -> str | None:
    author = item.get("author")
    authors = author if isinstance(author, list) else [author]
    names = [a.get("name") if isinstance(a, dict) else a for a in authors]
    names = [name.strip() for name in names if isinstance(name, str) and name.strip()]
    return ", ".join(names) or None


def _published(
    tree: Any, metas: dict[str, str], ld_items: list[dict[str, Any]], naive_tz: tzinfo
) -> tuple[datetime | None, bool]:
    """The first parseable publication date the page states, and whether it has a time."""
    candidates: list[str | None] = [metas.get(name) for name in _PUBLISHED_META[:2]]
    candidates += [item.get("datePublished") for item in ld_items]
    candidates += [metas.get(name) for name in _PUBLISHED_META[2:]]
    candidates += tree.xpath('//*[@itemprop="datePublished"]/@datetime')
    candidates += tree.xpath("//article//time/@datetime | //time[@pubdate]/@datetime")
    for candidate in candidates:
        parsed = parse_date_value(candidate, naive_tz=naive_tz)
        if parsed is not None:
            return parsed
    return None, False


def parse_date_value(value: Any, *, naive_tz: tzinfo = UTC) -> tuple[datetime, bool] | None:
    """(aware UTC datetime, has a time of day) from ISO 8601 or RFC 822 text."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if _DATE_ONLY_RE.match(text):
        day = datetime.fromisoformat(text)
        return day.replace(tzinfo=naive_tz).astimezone(UTC), False
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text[:11] else text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_tz)
    return parsed.astimezone(UTC), True


def choose_date(
    meta: PageMeta, *, trafilatura_day: str | None, hints: FeedItem | None
) -> tuple[datetime | None, str | None]:
    """Page metadata first; the feed's timestamp when the page only knows the day."""
    feed_date = hints.published_at if hints else None
    if meta.published is not None and meta.published_has_time:
        return meta.published, "page"
    page_day = meta.published
    if page_day is None and trafilatura_day:
        parsed = parse_date_value(trafilatura_day)
        page_day = parsed[0] if parsed else None
    if page_day is not None:
        # a day in the page's zone and an instant in UTC can straddle midnight
        if feed_date is not None and abs(feed_date - page_day) <= timedelta(hours=36):
            return feed_date, "page+feed"
        return page_day, "page-date"
    if feed_date is not None:
        return feed_date.astimezone(UTC), "feed"
    return None, None


# --------------------------------------------------------------------------- helpers


def _as_text(html: bytes | str, content_type: str) -> str:
    if isinstance(html, str):
        return html
    text, _ = encoding.decode(
        html, [encoding.http_charset(content_type), encoding.meta_charset(html)]
    )
    return text


def _text_of(tree: Any, xpath: str) -> str | None:
    elements = tree.xpath(xpath)
    return elements[0].text_content().strip() or None if elements else None


def _first(*values: str | None) -> str | None:
    for value in values:
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return None


def _primary_language(tag: str | None) -> str | None:
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None
