"""Matching a free text, or an article already in the store, against the rebuttal library.

The matching itself is nlp.match's (LibraryIndex, LibraryItem, match_text): this module only
builds the index from the library as stored (every entry but retired ones, as the pipeline
does; drafts are scored and shown as drafts) and caches it until the store changes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

from nlp.embed import Embedder
from service.responses import entry_view
from service.store_access import StoreSource
from store import reads

TOP_K = 5


@dataclass
class Library:
    version: tuple
    index: Any  # nlp.match.LibraryIndex
    entries: dict[str, dict[str, Any]]


class LibraryCache:
    def __init__(self, source: StoreSource) -> None:
        self.source = source
        self._library: Library | None = None
        self._lock = threading.Lock()

    def get(self, con, embedder: Embedder) -> Library:
        version = self.source.version()
        with self._lock:
            current = self._library
            if current is not None and current.version == version:
                return current
            from nlp.match import LibraryIndex, LibraryItem

            scored = reads.library_for_matching(con)
            entries = {e["entry_id"]: e for e in reads.console_library(con)}
            index = LibraryIndex(
                [
                    LibraryItem(e["entry_id"], e["version"], tuple([e["title"], *e["claims"]]))
                    for e in scored
                ],
                embedder,
            )
            self._library = Library(version, index, entries)
            return self._library


def match_library(
    text: str,
    library: Library,
    embedder: Embedder,
    threshold: float,
    today: date,
    top_k: int = TOP_K,
) -> list[dict[str, Any]]:
    """The best entries for a text, best first, each as the team sees it (drafts flagged)."""
    from nlp.match import match_text

    views = []
    for candidate in match_text(text, embedder, library.index, top_k=top_k):
        entry = library.entries.get(candidate.entry_id)
        if entry is None:
            continue
        views.append(entry_view(entry, candidate.score, candidate.score >= threshold, today))
    return views


def article_text(article: dict[str, Any]) -> str:
    """What of a stored article is matched: headline and lead, as the pipeline embeds it."""
    from nlp.embed import article_text as lead

    return lead(article["title"], article["text"])
