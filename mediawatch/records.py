"""Typed records that stages hand to each other (and to `store/`).

Stages never pass open connections or ORM objects; they pass these, or NumPy arrays.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Scope = Literal["domestic", "foreign"]
FetchKind = Literal["feed", "page", "robots", "sitemap", "section"]


def stable_id(*parts: str, length: int = 16) -> str:
    """A short, stable hex id from text parts (same parts, same id, on every machine)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


def content_hash(title: str, text: str) -> str:
    """What decides whether an article's content changed."""
    return hashlib.sha256(f"{title.strip()}\n{text.strip()}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Outlet:
    """A publisher we follow, as the analysts describe it in the source registry."""

    outlet_id: str
    name: str
    homepage: str
    country: str
    languages: tuple[str, ...]
    scope: Scope
    type: str
    feeds: tuple[str, ...]
    tags: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    requests_per_second: float = 1.0
    enabled: bool = True


@dataclass(frozen=True)
class FeedItem:
    """One entry of a feed: a pointer to an article page plus what the feed says of it."""

    outlet_id: str
    feed_url: str
    url: str
    title: str
    summary: str
    published_at: datetime | None
    author: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class FetchRecord:
    """One request and how it ended: a row of `fetch_log`."""

    outlet_id: str
    url: str
    kind: FetchKind
    status: int | None
    bytes: int
    elapsed_ms: float
    fetched_at: datetime
    error_class: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_class is None


@dataclass(frozen=True)
class Page:
    """An article page as downloaded, before extraction."""

    outlet_id: str
    url: str
    final_url: str
    status: int
    body: bytes
    content_type: str
    fetched_at: datetime
    feed_item: FeedItem | None = None


@dataclass(frozen=True)
class Article:
    """One published piece, identified by its canonical URL."""

    article_id: str
    outlet_id: str
    url: str
    canonical_url: str
    title: str
    text: str
    published_at: datetime | None
    language: str | None
    byline: str | None
    content_hash: str
    fetched_at: datetime
    # id of the article this one copies (exact or near-duplicate syndication), if any
    duplicate_of: str | None = None


@dataclass(frozen=True)
class ArticleForAnalysis:
    """What the meaning stages need of a stored article."""

    article_id: str
    outlet_id: str
    title: str
    text: str
    published_at: datetime | None
    language: str | None
    content_hash: str
    duplicate_of: str | None = None


@dataclass
class Narrative:
    """Articles that tell the same story, across outlets and languages, with a stable id."""

    narrative_id: str
    label: str
    keywords: list[str]
    article_ids: list[str]
    origin_article_id: str
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    representative_article_id: str
    similarities: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    """A narrative paired with a library entry, with its score."""

    narrative_id: str
    entry_id: str
    entry_version: str
    score: float
    rank: int
    above_threshold: bool
