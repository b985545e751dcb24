"""Narrative clustering on ECB+ (English news, gold event clusters), beside baselines. Prints.

    .venv/bin/python bench/bench_narratives.py [--data DIR] [--no-bertopic]

The pipeline runs with its default settings, through the same code as `mediawatch cluster`
(nlp/batch.py: language id, near-duplicates, headline + lead embedded with the default
model, per-language centring, TwoStageClustering). Nothing here is tuned on ECB+.
Baselines on the same vectors: BERTopic with its default HDBSCAN, and TF-IDF average-link
(the best threshold on the gold itself: an oracle the pipeline does not have).
Measures: B-cubed P/R/F1 against story_id; over-merge: the share of topics whose two events
end up (at least partly) in one predicted cluster, and the share of cross-event pairs merged.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = Path("/work/shared/datasets/ecbplus-event-clusters")


def bcubed(pred: list, gold: list) -> tuple[float, float, float]:
    by_pred, by_gold = defaultdict(list), defaultdict(list)
    for i, (p, g) in enumerate(zip(pred, gold, strict=True)):
        by_pred[p].append(i)
        by_gold[g].append(i)
    precision = recall = 0.0
    for p, g in zip(pred, gold, strict=True):
        same_pred = by_pred[p]
        correct = sum(1 for j in same_pred if gold[j] == g)
        precision += correct / len(same_pred)
        recall += correct / len(by_gold[g])
    n = len(pred)
    precision, recall = precision / n, recall / n
    return precision, recall, 2 * precision * recall / (precision + recall)


def over_merge(pred: list, gold: list, topics: list) -> tuple[float, float]:
    """(share of topics with both events in one cluster, share of cross-event pairs merged)."""
    merged_topics = set()
    clusters = defaultdict(list)
    for i, p in enumerate(pred):
        clusters[p].append(i)
    for rows in clusters.values():
        by_topic = defaultdict(set)
        for i in rows:
            by_topic[topics[i]].add(gold[i])
        merged_topics |= {t for t, stories in by_topic.items() if len(stories) > 1}
    pairs = merged = 0
    for t in set(topics):
        rows = [i for i in range(len(pred)) if topics[i] == t]
        for a in rows:
            for b in rows:
                if a < b and gold[a] != gold[b]:
                    pairs += 1
                    merged += pred[a] == pred[b]
    return len(merged_topics) / len(set(topics)), merged / max(pairs, 1)


def load(data: Path) -> list[dict]:
    docs = []
    for line in (data / "articles.jsonl").open(encoding="utf-8"):
        doc = json.loads(line)
        lines = [s for s in doc["text"].split("\n") if s.strip()]
        # ecbplus documents start with a URL line, then the headline
        if lines and lines[0].startswith("http"):
            lines = lines[1:]
        doc["title"] = lines[0] if lines else ""
        doc["body"] = "\n".join(lines[1:])
        docs.append(doc)
    return docs


class Recording:
    """The configured embedder, keeping the vectors it made for the baselines."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.dimension = embedder.dimension
        self.model_id = embedder.model_id
        self.vectors = None

    def embed_passages(self, texts):
        self.vectors = self.embedder.embed_passages(texts)
        return self.vectors


def row(name: str, pred: list, gold: list, topics: list, seconds: float | None = None) -> None:
    p, r, f = bcubed(pred, gold)
    topic_rate, pair_rate = over_merge(pred, gold, topics)
    n = len(set(pred))
    took = f"{seconds:7.1f}" if seconds is not None else "      -"
    print(
        f"{name:44s} {p:6.3f} {r:6.3f} {f:6.3f}   {topic_rate:6.3f} {pair_rate:7.3f} {n:6d} {took}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--no-bertopic", action="store_true")
    parser.add_argument("--throughput", type=int, default=0, help="N articles (e.g. 10000)")
    parser.add_argument("--stability", action="store_true", help="demo outlets, one more day")
    args = parser.parse_args()
    if args.stability:
        stability()
        return
    if args.throughput:
        throughput(args.data, args.throughput)
        return

    from mediawatch.settings import Settings
    from nlp.batch import ClusterRecord, cluster_records
    from nlp.embed import article_text, load_embedder
    from nlp.narratives import TwoStageClustering

    settings = Settings()
    docs = load(args.data)
    gold = [d["story_id"] for d in docs]
    topics = [d["topic"] for d in docs]
    print(
        f"ECB+: {len(docs)} documents, {len(set(gold))} stories, {len(set(topics))} topics; "
        f"model {settings.embedding_model}"
    )
    embedder = Recording(
        load_embedder(settings.embedding_model, settings.models_dir, settings.embedding_batch_size)
    )
    records = [ClusterRecord(d["doc_id"], d["title"], d["body"]) for d in docs]
    strategy = TwoStageClustering(
        settings.narrative_threshold,
        settings.narrative_merge_threshold,
        settings.narrative_cross_language_bonus,
    )
    started = time.perf_counter()
    narrative_of, counts = cluster_records(records, embedder, strategy)
    seconds = time.perf_counter() - started
    print(f"pipeline counts: {counts}")
    print(
        f"{'':44s} {'B3 P':>6s} {'B3 R':>6s} {'B3 F1':>6s}   {'topic':>6s} {'pairs':>7s} "
        f"{'k':>6s} {'s':>7s}"
    )
    print(f"{'':44s} {'':6s} {'':6s} {'':6s}   {'over-merge':>14s}")
    pipeline = [narrative_of[d["doc_id"]] for d in docs]
    row("pipeline (defaults, mediawatch cluster)", pipeline, gold, topics, seconds)
    vectors = embedder.vectors

    # the same vectors, one-stage average link at the default article threshold
    from nlp.narratives import AverageLinkClustering, center_by_language

    centred = center_by_language(vectors, ["en"] * len(docs))
    labels = AverageLinkClustering(settings.narrative_threshold).cluster(centred, [])
    row("same vectors, one stage only (0.40)", labels.tolist(), gold, topics)

    if not args.no_bertopic:
        try:
            from bertopic import BERTopic

            started = time.perf_counter()
            texts = [article_text(d["title"], d["body"]) for d in docs]
            topic_model = BERTopic(calculate_probabilities=False, verbose=False)
            found, _ = topic_model.fit_transform(texts, embeddings=vectors)
            took = time.perf_counter() - started
            # outliers (-1) are singletons
            pred = [t if t >= 0 else f"out{i}" for i, t in enumerate(found)]
            row("BERTopic default (UMAP+HDBSCAN), same vectors", pred, gold, topics, took)
        except ImportError as exc:
            print(f"BERTopic not installed ({exc}); HDBSCAN below is the nearest baseline")
    from sklearn.cluster import HDBSCAN

    found = HDBSCAN(min_cluster_size=3, metric="cosine").fit_predict(vectors)
    pred = [t if t >= 0 else f"out{i}" for i, t in enumerate(found)]
    row("sklearn HDBSCAN(min_cluster_size=3), cosine", pred, gold, topics)

    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=1).fit_transform(
        [f"{d['title']}\n{d['body']}" for d in docs]
    )
    dense = tfidf.toarray()
    best = None
    for threshold in np.arange(0.05, 0.50, 0.025):
        labels = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average", distance_threshold=1 - threshold
        ).fit_predict(dense)
        f1 = bcubed(labels.tolist(), gold)[2]
        if best is None or f1 > best[0]:
            best = (f1, threshold, labels.tolist())
    row(f"TF-IDF average-link, ORACLE cut {best[1]:.3f}", best[2], gold, topics)
    print("sizes of gold stories:", sorted(Counter(gold).values())[:3], "...")


def _embedder():
    from mediawatch.settings import Settings
    from nlp.embed import load_embedder

    settings = Settings()
    return settings, load_embedder(
        settings.embedding_model, settings.models_dir, settings.embedding_batch_size
    )


def throughput(data: Path, n: int) -> None:
    """Each meaning step for n articles, beside the raw model encode of the same texts."""
    import resource
    from dataclasses import replace

    from mediawatch.records import ArticleForAnalysis, content_hash
    from nlp.embed import article_text
    from nlp.enrich import enrich, summarise
    from nlp.language import identify
    from nlp.narratives import TwoStageClustering, build_narratives

    settings, embedder = _embedder()
    docs = load(data)
    sentences = [[s for s in d["body"].split("\n") if s.strip()] for d in docs]
    articles = []
    for k in range(n):
        # distinct articles (no syndicated copies): for k past the corpus, interleave the
        # sentences of two documents
        a, b = k % len(docs), (k * 7 + 3) % len(docs)
        lines = (
            sentences[a]
            if k < len(docs)
            else [x for pair in zip(sentences[a], sentences[b], strict=False) for x in pair]
        )
        title, body = docs[a]["title"], "\n".join(lines)
        articles.append(
            ArticleForAnalysis(str(k), "", title, body, None, None, content_hash(title, body))
        )
    texts = [article_text(a.title, a.text) for a in articles]
    embedder.embed_passages(texts[:64])  # warm up
    started = time.perf_counter()
    embedder.embed_passages(texts)
    raw = time.perf_counter() - started
    steps = {}
    started = time.perf_counter()
    articles = [replace(a, language=identify(f"{a.title}\n{a.text}")) for a in articles]
    steps["language id"] = time.perf_counter() - started
    started = time.perf_counter()
    enriched = enrich(articles)
    steps["enrich (spaCy)"] = time.perf_counter() - started
    started = time.perf_counter()
    vectors = embedder.embed_passages(texts)
    steps["embed"] = time.perf_counter() - started
    started = time.perf_counter()
    result = build_narratives(
        articles,
        vectors,
        strategy=TwoStageClustering(
            settings.narrative_threshold,
            settings.narrative_merge_threshold,
            settings.narrative_cross_language_bonus,
        ),
    )
    steps["cluster"] = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    whole = sum(steps.values())
    print(f"{n} articles (ECB+ texts, English), model {embedder.model_id}")
    print(f"enrichment: {summarise(enriched)}; narratives {len(result.narratives)}")
    print(f"raw model encode            {raw:7.1f} s {n / raw:7.1f} texts/s")
    for name, took in steps.items():
        print(f"  {name:25s} {took:7.1f} s")
    print(f"enrich+embed+cluster        {whole:7.1f} s {n / whole:7.1f} texts/s")
    print(
        f"ratio (raw / whole) {raw / whole:.2f}; without spaCy "
        f"{raw / (whole - steps['enrich (spaCy)']):.2f}; peak RSS {peak:.0f} MiB"
    )


def stability() -> None:
    """Demo outlets: cluster all but the last day, then everything with identities carried:
    the share of the first run's memberships that stay unchanged."""
    from datetime import timedelta

    from demo.world import build_world
    from nlp.batch import ClusterRecord, cluster_records

    settings, embedder = _embedder()
    articles = build_world().good_articles()
    last = max(a.published_at for a in articles)
    cut = last - timedelta(days=1)
    records = [ClusterRecord(a.key, a.title, a.body, None, a.published_at) for a in articles]
    before = [r for r in records if r.published_at <= cut]
    first, _ = cluster_records(before, embedder)
    # only narratives of two or more articles are memberships the store keeps
    sizes = Counter(first.values())
    kept = {k: v for k, v in first.items() if sizes[v] > 1}
    second, _ = cluster_records(records, embedder, previous=kept)
    same = sum(second[k] == v for k, v in kept.items())
    print(
        f"stability: {len(before)} articles, then {len(records) - len(before)} more "
        f"(last day); {same}/{len(kept)} memberships unchanged ({same / len(kept):.1%})"
    )


if __name__ == "__main__":
    main()
