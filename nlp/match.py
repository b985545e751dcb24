"""Matching narratives and free text against the rebuttal library (faiss over every phrasing).

Every claim phrasing and the title of each entry is one row of a flat inner-product index
(vectors are unit length, so inner product is cosine); an entry scores the best of its rows.
Which entries may be *suggested* (approved, unexpired) is decided by the caller: the
matcher scores drafts too, so the team can see them marked as drafts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mediawatch.records import Match
from nlp.embed import Embedder


@dataclass(frozen=True)
class LibraryItem:
    """What the matcher needs of a library entry."""

    entry_id: str
    version: str
    phrasings: tuple[str, ...]


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    entry_version: str
    score: float


class LibraryIndex:
    """A faiss index over the phrasings of a library."""

    def __init__(self, items: Sequence[LibraryItem], embedder: Embedder) -> None:
        import faiss

        self.items = list(items)
        self.row_entry = np.array(
            [k for k, item in enumerate(self.items) for _ in item.phrasings], dtype=np.int64
        )
        phrasings = [p for item in self.items for p in item.phrasings]
        vectors = embedder.embed_queries(phrasings) if phrasings else np.zeros((0, 1), "float32")
        self.dimension = embedder.dimension
        self.index = faiss.IndexFlatIP(self.dimension)
        if len(phrasings):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, queries: np.ndarray, top_k: int) -> list[list[Candidate]]:
        """Best entries for each query vector (unit length), best first."""
        if self.index.ntotal == 0 or len(queries) == 0:
            return [[] for _ in range(len(queries))]
        # ask for enough rows that top_k distinct entries survive the per-entry max
        rows = min(self.index.ntotal, top_k * 8 + 16)
        scores, hits = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), rows)
        results = []
        for row_scores, row_hits in zip(scores, hits, strict=True):
            best: dict[int, float] = {}
            for score, hit in zip(row_scores, row_hits, strict=True):
                if hit < 0:
                    continue
                entry = int(self.row_entry[hit])
                best[entry] = max(best.get(entry, -1.0), float(score))
            ranked = sorted(best.items(), key=lambda kv: (-kv[1], self.items[kv[0]].entry_id))
            results.append(
                [
                    Candidate(self.items[k].entry_id, self.items[k].version, s)
                    for k, s in ranked[:top_k]
                ]
            )
        return results


def match_narratives(
    centroids: dict[str, np.ndarray],
    index: LibraryIndex,
    threshold: float,
    top_k: int = 3,
) -> list[Match]:
    """Top-k entries for each narrative centroid, flagged when over the threshold."""
    ids = sorted(centroids)
    if not ids:
        return []
    queries = np.stack([centroids[i] for i in ids])
    matches = []
    for narrative_id, candidates in zip(ids, index.search(queries, top_k), strict=True):
        matches += [
            Match(narrative_id, c.entry_id, c.entry_version, c.score, rank, c.score >= threshold)
            for rank, c in enumerate(candidates, start=1)
        ]
    return matches


def match_text(
    text: str, embedder: Embedder, index: LibraryIndex, top_k: int = 5
) -> list[Candidate]:
    """Best entries for one free text (an article, a sentence someone forwarded)."""
    vector = embedder.embed_passages([text])
    return index.search(vector, top_k)[0]
