"""Hybrid search over the store: meaning (query vector) and words (BM25), fused by rank.

Semantic side: the query's vector against every article (exact faiss inner product) and every
narrative centroid. Keyword side: BM25 over article titles, and over each narrative's label,
keywords and headlines. The ranked lists are fused by reciprocal rank (k = 10, so that the shown
score falls off quickly below the best): a result high in both comes first, a result found by
one side only still shows. A narrative also ranks by its
best article, so narratives and articles agree. Filters (dates, language, country, scope,
outlet, topic) apply before ranking; narratives keep only the articles the filters let through.

Everything here reads the in-memory corpus (service/corpus.py); no database round trip.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from service.corpus import NO_TIME, Corpus, CorpusCache
from service.filters import TREND_STATUSES, Filters
from service.narratives import TREND_DAYS, office_today, reference_end, response_state, trend_status
from service.textindex import query_tokens

RRF_K = 10
VIA_ARTICLES = 20  # a narrative also ranks by its place among the best articles
POOL = 100  # candidates each side contributes before fusion


def _top(scores: np.ndarray, k: int) -> list[int]:
    positive = np.flatnonzero(scores > 0)
    if len(positive) == 0:
        return []
    if len(positive) > k:
        positive = positive[np.argpartition(-scores[positive], k - 1)[:k]]
    return positive[np.lexsort((positive, -scores[positive]))].tolist()


def _fuse(*ranked: list[int]) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking in ranked:
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank)
    return fused


def _when(micros: int) -> datetime | None:
    if micros == NO_TIME:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(micros))


def hybrid_search(
    corpus: Corpus,
    query: np.ndarray | None,
    text: str,
    filters: Filters,
    settings: Any,
    limit: int = 10,
    now: datetime | None = None,
) -> dict[str, Any]:
    store_filters = filters.for_store(settings.timezone)
    mask = corpus.article_mask(store_filters)
    terms = query_tokens(text)
    pool = max(POOL, limit * 3)

    # articles
    semantic = corpus.nearest_articles(query, pool, mask) if query is not None else []
    cosine = dict(semantic)
    keyword_scores = corpus.article_bm25.scores(terms)
    keyword: list[int] = []
    if keyword_scores is not None:
        keep = corpus.original if mask is None else (mask & corpus.original)
        keyword_scores = np.where(keep, keyword_scores, 0.0)
        keyword = _top(keyword_scores, pool)
    sides = [s for s in ([r for r, _ in semantic], keyword) if s]
    fused = _fuse(*sides)
    best = max(len(sides), 1) / (RRF_K + 1)
    article_rows = sorted(fused, key=lambda r: (-fused[r], -cosine.get(r, -1.0), r))

    # narratives: by centroid, by words, by their best articles
    allowed = None
    if mask is not None:
        members = corpus.article_narrative[mask]
        allowed = np.zeros(len(corpus.narrative_ids), dtype=bool)
        allowed[members[members >= 0]] = True
    n_sides: list[list[int]] = []
    centroid_cos: dict[int, float] = {}
    if query is not None and corpus.centroids is not None and len(corpus.narrative_ids):
        scores = corpus.centroids @ query.astype(np.float32)
        order = np.argsort(-scores, kind="stable")
        if allowed is not None:
            order = order[allowed[order]]
        n_sides.append(order[:pool].tolist())
        centroid_cos = {int(i): float(scores[i]) for i in order[:pool]}
    n_keyword = corpus.narrative_bm25.scores(terms)
    if n_keyword is not None:
        if allowed is not None:
            n_keyword = np.where(allowed, n_keyword, 0.0)
        if top := _top(n_keyword, pool):
            n_sides.append(top)
    via_articles = list(
        dict.fromkeys(
            int(corpus.article_narrative[r])
            for r in article_rows[:VIA_ARTICLES]
            if corpus.article_narrative[r] >= 0
        )
    )
    if via_articles:
        n_sides.append(via_articles)
    n_fused = _fuse(*n_sides)
    n_best = max(len(n_sides), 1) / (RRF_K + 1)
    narrative_rows = sorted(n_fused, key=lambda r: (-n_fused[r], -centroid_cos.get(r, -1.0), r))

    narratives = []
    for row in narrative_rows:
        view = _narrative(corpus, row, store_filters, filters, settings, now)
        if view is None:
            continue
        view |= {
            "score": round(n_fused[row] / n_best, 4),
            "semantic": round(centroid_cos[row], 4) if row in centroid_cos else None,
            "keyword": round(float(n_keyword[row]), 3) if n_keyword is not None else None,
        }
        narratives.append(view)
        if len(narratives) == limit:
            break
    articles = []
    for row in article_rows[:limit]:
        n_row = int(corpus.article_narrative[row])
        articles.append(
            {
                "article_id": corpus.article_ids[row],
                "title": corpus.titles[row],
                "url": corpus.urls[row],
                "published_at": _when(corpus.published[row]),
                "language": corpus.language.name(row),
                "outlet_id": corpus.outlet.name(row),
                "outlet_name": corpus.outlet_names[row],
                "country": corpus.country.name(row),
                "narrative_id": corpus.narrative_ids[n_row] if n_row >= 0 else None,
                "narrative_label": corpus.labels[n_row] if n_row >= 0 else None,
                "score": round(fused[row] / best, 4),
                "semantic": round(cosine[row], 4) if row in cosine else None,
                "keyword": (
                    round(float(keyword_scores[row]), 3) if keyword_scores is not None else None
                ),
            }
        )
    return {
        "query": text,
        "filters": filters.model_dump(mode="json", exclude_none=True),
        "semantic": query is not None and corpus.index is not None,
        "narratives": narratives,
        "articles": articles,
    }


def _narrative(
    corpus: Corpus,
    row: int,
    store_filters: dict[str, Any],
    filters: Filters,
    settings: Any,
    now: datetime | None,
) -> dict[str, Any] | None:
    """A narrative result with its volume under the filters, trend and responses."""
    members = corpus.narrative_articles[row]
    end = reference_end(filters, settings.timezone, now)
    recent_start = end - timedelta(days=TREND_DAYS)
    previous_start = end - timedelta(days=2 * TREND_DAYS)
    nodate = corpus.article_mask(store_filters, with_since=False)
    in_scope = members if nodate is None else members[nodate[members]]
    full = corpus.article_mask(store_filters)
    counted = members if full is None else members[full[members]]
    published = corpus.published[in_scope]
    known = published[published != NO_TIME]
    end_us = int(end.timestamp() * 1e6)
    recent = int(((known >= recent_start.timestamp() * 1e6) & (known < end_us)).sum())
    previous = int(
        (
            (known >= previous_start.timestamp() * 1e6) & (known < recent_start.timestamp() * 1e6)
        ).sum()
    )
    first_at = _when(int(known.min())) if len(known) else None
    status = trend_status(recent, previous, first_at, recent_start)
    narrative_id = corpus.narrative_ids[row]
    state = response_state(
        corpus.matches.get(narrative_id, []),
        office_today(settings.timezone, now),
        len(counted),
        settings.gap_min_articles,
    )
    if filters.status is not None:
        wanted = filters.status.value
        if (wanted in TREND_STATUSES and status != wanted) or (
            wanted not in TREND_STATUSES and not state[wanted]
        ):
            return None
    counted_times = corpus.published[counted]
    counted_times = counted_times[counted_times != NO_TIME]
    return {
        "narrative_id": narrative_id,
        "label": corpus.labels[row],
        "keywords": corpus.keywords[row],
        "articles": len(counted),
        "total_articles": len(members),
        "outlets": len({int(corpus.outlet.codes[i]) for i in counted}),
        "languages": sorted({corpus.language.name(int(i)) or "?" for i in counted}),
        "first_seen_at": _when(int(counted_times.min())) if len(counted_times) else None,
        "last_seen_at": _when(int(counted_times.max())) if len(counted_times) else None,
        "status": status,
        **state,
    }


def search_store(
    settings: Any,
    text: str,
    limit: int = 10,
    filters: Filters | None = None,
    cache: CorpusCache | None = None,
    embedder: Any = None,
) -> dict[str, Any]:
    """Narratives and articles for a text (the CLI's `search`; the API passes its caches)."""
    from nlp.embed import model_id_for
    from service.embedding import shared_embedder
    from service.store_access import StoreSource

    if cache is None:
        cache = CorpusCache(
            StoreSource(settings.db), model_id_for(settings.embedding_model, settings.models_dir)
        )
    corpus, stale = cache.get()
    query = None
    if corpus.index is not None or corpus.centroids is not None:
        embedder = embedder or shared_embedder(settings.embedding_model, settings.models_dir)
        if embedder.model_id == corpus.model_id:
            query = embedder.embed_queries([text])[0]
    result = hybrid_search(corpus, query, text, filters or Filters(), settings, limit)
    result["stale"] = stale
    return result
