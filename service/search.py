"""Search the store by meaning: the narratives and articles closest to a text."""

from __future__ import annotations

from typing import Any

import numpy as np

from mediawatch.settings import Settings
from store import reads
from store.db import connection


def search_store(settings: Settings, text: str, limit: int = 10) -> dict[str, Any]:
    from nlp.embed import load_embedder

    with connection(settings.db, read_only=True) as con:
        model_id = reads.narrative_model_id(con)
        centroids = reads.narrative_centroids(con)
    embedder = load_embedder(settings.embedding_model, settings.models_dir)
    if model_id and model_id != embedder.model_id:
        raise ValueError(f"the store was built with {model_id}, settings name {embedder.model_id}")
    query = embedder.embed_queries([text])[0]
    with connection(settings.db, read_only=True) as con:
        articles = reads.search_articles_by_vector(con, embedder.model_id, query, limit)
        ids = sorted(centroids)
        narratives = []
        if ids:
            scores = np.stack([centroids[i] for i in ids]) @ query
            best = np.argsort(-scores, kind="stable")[:limit]
            labels = {r["narrative_id"]: r["label"] for r in reads.narrative_list(con)}
            narratives = [
                {"narrative_id": ids[i], "label": labels.get(ids[i], ""), "score": float(scores[i])}
                for i in best
            ]
    return {"query": text, "narratives": narratives, "articles": articles}
