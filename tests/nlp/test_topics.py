"""Topic tags from the editable taxonomy, matched by embedding."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from nlp.topics import TaxonomyError, load_topics, tag_narratives, topic_vectors


def test_taxonomy_has_the_domain_topics_in_vietnamese_and_english():
    topics = load_topics()
    assert len(topics) == 13
    assert {"sovereignty", "public-health", "press-freedom"} <= {t.topic_id for t in topics}
    for topic in topics:
        assert {"vi", "en"} <= set(topic.descriptions)
    assert "Chủ quyền biển đảo" in topics[0].descriptions["vi"]  # diacritics kept


def test_a_broken_taxonomy_is_refused_with_its_path(tmp_path):
    bad = tmp_path / "topics.yaml"
    bad.write_text("topics:\n  - name: no id\n", "utf-8")
    with pytest.raises(TaxonomyError, match="topic 1 needs an id"):
        load_topics(bad)


def test_demo_narratives_get_their_planted_topic():
    from demo.world import build_world
    from mediawatch.settings import Settings
    from nlp.embed import article_text, load_embedder

    settings = Settings()
    embedder = load_embedder(settings.embedding_model, settings.models_dir)
    planted = {
        "N01": "sovereignty",
        "N04": "public-health",
        "N07": "press-freedom",
        "N09": "religion",
        "N12": "economy",
        "N13": "diplomacy",
    }
    articles = [
        a
        for a in build_world(date(2026, 11, 23)).good_articles()
        if a.narrative_id in planted or (a.narrative_id is None and a.body)
    ]
    vectors = embedder.embed_passages([article_text(a.title, a.body) for a in articles])
    centroids = {
        n: vectors[[k for k, a in enumerate(articles) if a.narrative_id == n]].mean(axis=0)
        for n in planted
    }
    topics = load_topics()
    tags = tag_narratives(centroids, topics, topic_vectors(topics, embedder), vectors.mean(axis=0))
    best = {}
    for narrative_id, topic_id, _score in tags:  # best first per narrative
        best.setdefault(narrative_id, topic_id)
    assert best == planted
    assert all(np.isfinite(score) for *_, score in tags)
