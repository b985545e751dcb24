"""The in-memory search corpus: every article's vector and metadata, every narrative's centroid.

Searching 200,000 vectors inside DuckDB (list_cosine_similarity) costs a full scan per query
and a connection per request; the console keeps instead one exact faiss index (inner product
over unit vectors = cosine), the metadata filters need as NumPy arrays, and two BM25 indexes
(article titles; narrative labels, keywords and headlines). It is built from the store once
and rebuilt when the store file changes (`StoreSource.version()`); while a writer holds the
store, the last corpus keeps answering and says it is stale.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from service.store_access import StoreBusy, StoreSource
from service.textindex import BM25
from store import reads

NO_TIME = np.iinfo(np.int64).min


def _micros(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1_000_000)


class Codes:
    """A column of repeated strings as small integers (None is code -1)."""

    def __init__(self, values: list[str | None]) -> None:
        self.values: list[str] = []
        lookup: dict[str, int] = {}
        codes = np.empty(len(values), dtype=np.int32)
        for i, v in enumerate(values):
            if v is None:
                codes[i] = -1
            else:
                codes[i] = lookup.setdefault(v, len(lookup))
        self.values = list(lookup)
        self.lookup = lookup
        self.codes = codes

    def equals(self, value: str) -> np.ndarray:
        code = self.lookup.get(value)
        if code is None:
            return np.zeros(len(self.codes), dtype=bool)
        return self.codes == code

    def name(self, i: int) -> str | None:
        c = int(self.codes[i])
        return None if c < 0 else self.values[c]


@dataclass
class Corpus:
    version: tuple
    model_id: str
    built_at: datetime
    # articles; syndicated copies count in volumes but are not search results
    article_ids: list[str]
    titles: list[str]
    urls: list[str]
    outlet_names: list[str | None]
    published: np.ndarray  # int64 microseconds since the epoch, NO_TIME when unknown
    language: Codes
    outlet: Codes
    country: Codes
    scope: Codes
    article_narrative: np.ndarray  # int32 row in narrative arrays, -1 when none
    has_vector: np.ndarray
    original: np.ndarray
    index: Any  # faiss.IndexFlatIP, or None when nothing is embedded with model_id
    article_bm25: BM25
    # narratives
    narrative_ids: list[str]
    labels: list[str]
    keywords: list[list[str]]
    centroids: np.ndarray | None
    narrative_bm25: BM25
    narrative_articles: list[np.ndarray]  # article rows of each narrative
    matches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    narrative_row: dict[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.article_ids)

    # -- filters -------------------------------------------------------------------------

    def article_mask(self, f: dict[str, Any], with_since: bool = True) -> np.ndarray | None:
        """Rows passing the filters (store.reads' console keys), or None for 'all rows'."""
        mask = None

        def both(m: np.ndarray) -> None:
            nonlocal mask
            mask = m if mask is None else (mask & m)

        since, until = _micros(f.get("since")), _micros(f.get("until"))
        if with_since and since is not None:
            both((self.published != NO_TIME) & (self.published >= since))
        if until is not None:
            both((self.published != NO_TIME) & (self.published < until))
        for key, codes in (
            ("language", self.language),
            ("country", self.country),
            ("scope", self.scope),
            ("outlet", self.outlet),
        ):
            if f.get(key) is not None:
                both(codes.equals(f[key]))
        if f.get("topic"):
            topic = f["topic"].casefold()
            ok = np.array([self.narrative_has_topic(i, topic) for i in range(len(self.labels))])
            by_narrative = np.append(ok, False)[self.article_narrative]  # -1 picks the False
            by_title = np.fromiter((topic in t.casefold() for t in self.titles), bool, self.size)
            both(by_narrative | by_title)
        return mask

    def narrative_has_topic(self, row: int, topic: str) -> bool:
        if topic in self.labels[row].casefold():
            return True
        if any(topic in k.casefold() for k in self.keywords[row]):
            return True
        return any(
            m["above_threshold"] and topic in (m.get("topics") or [])
            for m in self.matches.get(self.narrative_ids[row], [])
        )

    # -- semantic ------------------------------------------------------------------------

    def nearest_articles(
        self, query: np.ndarray, k: int, mask: np.ndarray | None
    ) -> list[tuple[int, float]]:
        import faiss

        if self.index is None or k <= 0:
            return []
        allowed = self.has_vector & self.original
        if mask is not None:
            allowed &= mask
        bits = np.packbits(allowed, bitorder="little")
        params = faiss.SearchParameters(sel=faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(bits)))
        scores, rows = self.index.search(
            np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k, params=params
        )
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]


def build_corpus(con, model_id: str, version: tuple) -> Corpus:
    import faiss

    faiss.omp_set_num_threads(1)  # one query at a time: threads cost more than they give
    table: pa.Table = reads.console_article_corpus(con, model_id)
    narratives: pa.Table = reads.console_narrative_corpus(con)
    narrative_ids = narratives.column("narrative_id").to_pylist()
    narrative_row = {n: i for i, n in enumerate(narrative_ids)}
    n = table.num_rows

    published = pc.fill_null(table.column("published_at").cast(pa.int64()), NO_TIME)
    article_narrative = np.array(
        [narrative_row.get(x, -1) if x else -1 for x in table.column("narrative_id").to_pylist()],
        dtype=np.int32,
    )
    vectors = table.column("vector").combine_chunks()
    has_vector = vectors.is_valid().to_numpy(zero_copy_only=False).astype(bool)
    index = None
    if has_vector.any():
        flat = vectors.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        dim = len(flat) // int(has_vector.sum())
        matrix = np.zeros((n, dim), dtype=np.float32)
        matrix[has_vector] = flat.reshape(-1, dim)
        index = faiss.IndexFlatIP(dim)
        index.add(matrix)
        del matrix
    titles = table.column("title").to_pylist()

    grouping = np.argsort(article_narrative, kind="stable")
    bounds = np.searchsorted(article_narrative[grouping], np.arange(len(narrative_ids) + 1))
    narrative_articles = [grouping[bounds[i] : bounds[i + 1]] for i in range(len(narrative_ids))]

    centroids = None
    if narratives.num_rows:
        rows = narratives.column("centroid").to_pylist()
        if all(r is not None for r in rows) and len({len(r) for r in rows}) == 1:
            centroids = np.asarray(rows, dtype=np.float32)
            norms = np.linalg.norm(centroids, axis=1, keepdims=True)
            centroids /= np.where(norms > 0, norms, 1.0)
        if set(narratives.column("model_id").to_pylist()) != {model_id}:
            centroids = None  # built with another model: keyword search only for narratives
    labels = narratives.column("label").to_pylist()
    keywords = [k or [] for k in narratives.column("keywords").to_pylist()]
    member_titles = [t or [] for t in narratives.column("titles").to_pylist()]

    matches: dict[str, list[dict[str, Any]]] = {}
    for m in reads.console_match_summaries(con):
        matches.setdefault(m["narrative_id"], []).append(m)

    return Corpus(
        version=version,
        model_id=model_id,
        built_at=datetime.now(UTC),
        article_ids=table.column("article_id").to_pylist(),
        titles=titles,
        urls=table.column("url").to_pylist(),
        outlet_names=table.column("outlet_name").to_pylist(),
        published=published.to_numpy(zero_copy_only=False).astype(np.int64),
        language=Codes(table.column("language").to_pylist()),
        outlet=Codes(table.column("outlet_id").to_pylist()),
        country=Codes(table.column("country").to_pylist()),
        scope=Codes(table.column("scope").to_pylist()),
        article_narrative=article_narrative,
        has_vector=has_vector,
        original=pc.is_null(table.column("duplicate_of")).to_numpy(zero_copy_only=False),
        index=index,
        article_bm25=BM25(titles),
        narrative_ids=narrative_ids,
        labels=labels,
        keywords=keywords,
        centroids=centroids,
        narrative_bm25=BM25(
            f"{label}\n{' '.join(kw)}\n" + "\n".join(t)
            for label, kw, t in zip(labels, keywords, member_titles, strict=True)
        ),
        narrative_articles=narrative_articles,
        matches=matches,
        narrative_row=narrative_row,
    )


class CorpusCache:
    """One corpus per store, rebuilt when the store changes; stale but answering while locked."""

    def __init__(self, source: StoreSource, model_id: str) -> None:
        self.source = source
        self.model_id = model_id
        self._corpus: Corpus | None = None
        self._lock = threading.Lock()

    def get(self) -> tuple[Corpus, bool]:
        """(corpus, stale): stale while the store changed but the new corpus is not ready
        (a writer holds the store, or another request is rebuilding it)."""
        version = self.source.version()
        current = self._corpus
        if current is not None and current.version == version:
            return current, False
        if current is not None and not self._lock.acquire(blocking=False):
            return current, True  # someone is rebuilding: answer from the last corpus
        if current is None:
            self._lock.acquire()
        try:
            current = self._corpus
            if current is not None and current.version == self.source.version():
                return current, False
            try:
                with self.source.read() as con:
                    version = self.source.version()
                    corpus = build_corpus(con, self.model_id, version)
            except StoreBusy:
                if current is not None:
                    return current, True
                raise
            self._corpus = corpus
            return corpus, False
        finally:
            self._lock.release()
