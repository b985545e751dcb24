"""Narrative clustering: quality, Vietnamese, stability and throughput, beside references. Prints.

    .venv/bin/python bench/bench_narratives.py [--no-bertopic] [--articles N] [--skip-throughput]

Everything runs in one go (about 10 minutes on 2 cores) and each figure is printed beside a
reference measured in the same run:

1. ECB+ (English news, gold event clusters): B-cubed P/R/F1 against story_id and the
   over-merge of the two events of one topic, for the pipeline with its default settings
   through the same code as `mediawatch cluster` (nlp/batch.py: language id, near-duplicates,
   headline + lead embedded with the default model, nlp/narratives.TwoStageClustering), beside
   BERTopic with its default HDBSCAN and HDBSCAN alone on the same vectors, and TF-IDF
   average-link at the best cut on the gold itself (an oracle the pipeline does not have).
   The defaults were chosen on the demo world, the binhvq headlines below and the
   odd-numbered ECB+ topics; the even-numbered topics were held out and are printed apart.
2. Vietnamese: the 1,000 binhvq headlines with same-story groups labelled by hand
   (data/labelled/binhvq_title_stories.tsv), the 44 binhvq articles whose full text the sample
   holds, and the demo outlets one language at a time (Vietnamese beside English), each
   beside the TF-IDF oracle on the same texts.
3. Stability (demo outlets): cluster up to a day, then with that day's articles added and
   identities carried as the pipeline does; the share of memberships unchanged, for each of
   the last seven days, beside plain dense average link (the previous stage one).
4. Throughput (a separate process, for its peak memory): language id, enrich, embed and
   cluster N articles (10,000 by default) built at run time from the ECB+, binhvq and demo
   texts, beside the raw model's encode of the same texts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATASETS = Path("/work/shared/datasets")
DATA = DATASETS / "ecbplus-event-clusters"
BINHVQ = DATASETS / "binhvq-vietnamese-news-sample"
BINHVQ_LABELS = ROOT / "data" / "labelled" / "binhvq_title_stories.tsv"
HEADER = f"{'':48s} {'B3 P':>6s} {'B3 R':>6s} {'B3 F1':>6s}   {'topic':>6s} {'pairs':>7s} {'k':>6s}"


# -- measures ---------------------------------------------------------------------------------


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


def row(name: str, pred: list, gold: list, topics: list | None = None) -> float:
    p, r, f = bcubed(pred, gold)
    merged = ""
    if topics is not None:
        topic_rate, pair_rate = over_merge(pred, gold, topics)
        merged = f"{topic_rate:6.3f} {pair_rate:7.3f}"
    print(f"{name:48s} {p:6.3f} {r:6.3f} {f:6.3f}   {merged:>14s} {len(set(pred)):6d}")
    return f


def tfidf_oracle(texts: list[str], gold: list, english: bool) -> tuple[float, list]:
    """TF-IDF average link at the cut that is best on the gold itself: (cut, labels)."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    stop = "english" if english else None
    dense = TfidfVectorizer(sublinear_tf=True, stop_words=stop).fit_transform(texts).toarray()
    best = None
    for threshold in np.arange(0.05, 0.60, 0.025):
        labels = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average", distance_threshold=1 - threshold
        ).fit_predict(dense)
        f1 = bcubed(labels.tolist(), gold)[2]
        if best is None or f1 > best[0]:
            best = (f1, float(threshold), labels.tolist())
    return best[1], best[2]


# -- data -------------------------------------------------------------------------------------


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


def binhvq_headlines() -> tuple[list[str], list[str]]:
    """The 1,000 headlines and their story (hand-labelled; unlisted lines stand alone)."""
    titles = (BINHVQ / "demo-title.txt").read_text(encoding="utf-8").splitlines()
    story = [f"alone-{i}" for i in range(len(titles))]
    for line in BINHVQ_LABELS.read_text(encoding="utf-8").splitlines()[1:]:
        if line.startswith("#") or line.startswith("line\t"):
            continue
        number, name, sha1 = line.split("\t")
        k = int(number)
        if hashlib.sha1(titles[k].encode("utf-8")).hexdigest()[:12] != sha1:
            raise SystemExit(f"{BINHVQ_LABELS}: line {k} does not match demo-title.txt")
        story[k] = name
    return titles, story


def binhvq_articles(story: list[str]) -> list[tuple[str, str, str]]:
    """(title, body, story) of the articles whose text demo-full.txt holds: it starts with the
    first headlines of demo-title.txt, each followed by its sapo and body sentences."""
    titles = (BINHVQ / "demo-title.txt").read_text(encoding="utf-8").splitlines()
    lines = (BINHVQ / "demo-full.txt").read_text(encoding="utf-8").splitlines()
    starts, k = [], 0
    for i, line in enumerate(lines):
        if k < len(titles) and line == titles[k]:
            starts.append(i)
            k += 1
    ends = starts[1:] + [len(lines)]
    return [
        (lines[s], "\n".join(lines[s + 1 : e]), story[n])
        for n, (s, e) in enumerate(zip(starts, ends, strict=True))
    ]


class CachingEmbedder:
    """The configured embedder, remembering vectors by text (runs on subsets re-use them)."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.dimension = embedder.dimension
        self.model_id = embedder.model_id
        self.cache: dict[str, np.ndarray] = {}

    def embed_passages(self, texts):
        todo = sorted({t for t in texts if t not in self.cache})
        if todo:
            self.cache.update(zip(todo, self.embedder.embed_passages(todo), strict=True))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.cache[t] for t in texts])


def _embedder():
    from mediawatch.settings import Settings
    from nlp.embed import load_embedder

    settings = Settings()
    return settings, load_embedder(
        settings.embedding_model, settings.models_dir, settings.embedding_batch_size
    )


def _strategy(settings):
    from nlp.narratives import TwoStageClustering

    return TwoStageClustering(
        settings.narrative_threshold,
        settings.narrative_merge_threshold,
        settings.narrative_cross_language_bonus,
    )


def _cluster(records, embedder, strategy, previous=None) -> dict[str, str]:
    from nlp.batch import cluster_records

    narrative_of, _counts = cluster_records(records, embedder, strategy, previous)
    return narrative_of


# -- 1. ECB+ ----------------------------------------------------------------------------------


def ecbplus(args, settings, embedder) -> None:
    from nlp.batch import ClusterRecord
    from nlp.embed import article_text
    from nlp.narratives import AverageLinkClustering, center_by_language

    docs = load(args.data)
    gold = [d["story_id"] for d in docs]
    topics = [d["topic"] for d in docs]
    print(
        f"== ECB+: {len(docs)} documents, {len(set(gold))} stories, {len(set(topics))} topics; "
        f"model {embedder.model_id} =="
    )
    records = [ClusterRecord(d["doc_id"], d["title"], d["body"]) for d in docs]
    strategy = _strategy(settings)
    print(f"pipeline settings: {strategy}")
    print(HEADER)
    print(f"{'':48s} {'':6s} {'':6s} {'':6s}   {'over-merge':>14s}")
    started = time.perf_counter()
    narrative_of = _cluster(records, embedder, strategy)
    took = time.perf_counter() - started
    row(
        "pipeline (defaults, mediawatch cluster)",
        [narrative_of[r.id] for r in records],
        gold,
        topics,
    )
    for name, odd in (
        ("tuning topics (odd), clustered alone", 1),
        ("held-out topics (even), clustered alone", 0),
    ):
        part = [i for i, t in enumerate(topics) if t % 2 == odd]
        found = _cluster([records[i] for i in part], embedder, strategy)
        row(
            f"  {name}",
            [found[records[i].id] for i in part],
            [gold[i] for i in part],
            [topics[i] for i in part],
        )
    texts = [article_text(d["title"], d["body"]) for d in docs]
    vectors = embedder.embed_passages(texts)
    centred = center_by_language(vectors, ["en"] * len(docs))
    labels = AverageLinkClustering(0.40).cluster(centred, [])
    row("dense average link 0.40 (previous stage one)", labels.tolist(), gold, topics)
    if not args.no_bertopic:
        try:
            from bertopic import BERTopic

            topic_model = BERTopic(calculate_probabilities=False, verbose=False)
            found, _ = topic_model.fit_transform(texts, embeddings=vectors)
            # outliers (-1) are singletons
            pred = [t if t >= 0 else f"out{i}" for i, t in enumerate(found)]
            row("BERTopic default (UMAP+HDBSCAN), same vectors", pred, gold, topics)
        except ImportError as exc:
            print(f"BERTopic not installed ({exc}); HDBSCAN below is the nearest baseline")
    from sklearn.cluster import HDBSCAN

    found = HDBSCAN(min_cluster_size=3, metric="cosine", copy=True).fit_predict(vectors)
    pred = [t if t >= 0 else f"out{i}" for i, t in enumerate(found)]
    row("sklearn HDBSCAN(min_cluster_size=3), cosine", pred, gold, topics)
    cut, labels = tfidf_oracle([f"{d['title']}\n{d['body']}" for d in docs], gold, english=True)
    row(f"TF-IDF average-link, ORACLE cut {cut:.3f}", labels, gold, topics)
    print(f"pipeline: {took:.1f} s for {len(docs)} documents, embedding included")


# -- 2. Vietnamese ----------------------------------------------------------------------------


def vietnamese(settings, embedder) -> None:
    from demo.world import build_world
    from nlp.batch import ClusterRecord

    strategy = _strategy(settings)
    titles, story = binhvq_headlines()
    labelled = Counter(s for s in story if not s.startswith("alone-"))
    print(
        f"\n== Vietnamese: binhvq headlines ({len(titles)}; {len(labelled)} stories of 2-"
        f"{max(labelled.values())} labelled by hand over {sum(labelled.values())} headlines, "
        "the others alone) =="
    )
    print(HEADER)
    records = [ClusterRecord(str(i), t, "", "vi") for i, t in enumerate(titles)]
    found = _cluster(records, embedder, strategy)
    row("pipeline (defaults), headlines only", [found[r.id] for r in records], story)
    cut, labels = tfidf_oracle(titles, story, english=False)
    row(f"TF-IDF average-link, ORACLE cut {cut:.3f}", labels, story)

    items = binhvq_articles(story)
    sizes = Counter(s for _t, _b, s in items)
    print(
        f"binhvq full texts ({len(items)} articles: {sum(1 for n in sizes.values() if n > 1)} "
        f"stories of {sorted(n for n in sizes.values() if n > 1)}, the others alone)"
    )
    records = [ClusterRecord(str(i), t, b, "vi") for i, (t, b, _s) in enumerate(items)]
    gold = [s for _t, _b, s in items]
    found = _cluster(records, embedder, strategy)
    row("pipeline (defaults), full texts", [found[r.id] for r in records], gold)
    cut, labels = tfidf_oracle([f"{t}\n{b}" for t, b, _s in items], gold, english=False)
    row(f"TF-IDF average-link, ORACLE cut {cut:.3f}", labels, gold)

    articles = [a for a in build_world().good_articles() if not a.syndicated_from]
    print(f"demo outlets ({len(articles)} articles but syndicated copies; noise stands alone)")
    gold = [a.narrative_id or f"noise-{a.key}" for a in articles]
    records = [ClusterRecord(a.key, a.title, a.body, a.language, a.published_at) for a in articles]
    found = _cluster(records, embedder, strategy)
    row("  all languages together, pipeline", [found[r.id] for r in records], gold)
    print("  one language at a time:")
    for lang in ("vi", "en"):
        mine = [a for a in articles if a.language == lang]
        gold = [a.narrative_id or f"noise-{a.key}" for a in mine]
        records = [ClusterRecord(a.key, a.title, a.body, lang, a.published_at) for a in mine]
        found = _cluster(records, embedder, strategy)
        row(f"  {lang} ({len(mine)} articles) pipeline", [found[r.id] for r in records], gold)
        cut, labels = tfidf_oracle(
            [f"{a.title}\n{a.body}" for a in mine], gold, english=lang == "en"
        )
        row(f"  {lang} TF-IDF average-link, ORACLE cut {cut:.3f}", labels, gold)


# -- 3. stability -----------------------------------------------------------------------------


def stability(settings, embedder, days: int = 7) -> None:
    from demo.world import HANOI, build_world
    from nlp.batch import ClusterRecord
    from nlp.narratives import AverageLinkClustering

    articles = build_world().good_articles()
    records = [ClusterRecord(a.key, a.title, a.body, None, a.published_at) for a in articles]
    dates = sorted({a.published_at.astimezone(HANOI).date() for a in articles})
    print(
        f"\n== Stability: demo outlets ({len(records)} articles over {len(dates)} days); "
        "cluster up to a day, then add that day (identities carried) =="
    )
    print(f"{'day added':12s} {'new':>4s}   {'pipeline':>22s}   {'dense average link 0.40':>24s}")
    shares = {"pipeline": [], "reference": []}
    for day in dates[-days:]:
        cut = [r for r in records if r.published_at.astimezone(HANOI).date() < day]
        upto = [r for r in records if r.published_at.astimezone(HANOI).date() <= day]
        cells = []
        for name, strategy in (
            ("pipeline", _strategy(settings)),
            ("reference", AverageLinkClustering(0.40)),
        ):
            first = _cluster(cut, embedder, strategy)
            sizes = Counter(first.values())
            # only narratives of two or more articles are memberships the store keeps
            kept = {k: v for k, v in first.items() if sizes[v] > 1}
            second = _cluster(upto, embedder, strategy, previous=kept)
            same = sum(second[k] == v for k, v in kept.items())
            shares[name].append(same / len(kept))
            cells.append(f"{same:4d}/{len(kept):4d} ({same / len(kept):6.1%})")
        print(
            f"{day.isoformat():12s} {len(upto) - len(cut):4d}   {cells[0]:>22s}   {cells[1]:>24s}"
        )
    for name, values in shares.items():
        print(
            f"{name:10s} memberships unchanged: min {min(values):.1%}, mean {np.mean(values):.1%}"
        )


# -- 4. throughput ----------------------------------------------------------------------------


def corpus(n: int) -> list:
    """n distinct articles from the texts at hand (ECB+, binhvq, demo outlets), read now.

    Each source document once, then for the rest a document's sentences interleaved with
    those of another document of its language (no syndicated copies among them).
    """
    from demo.world import build_world
    from mediawatch.records import ArticleForAnalysis, content_hash

    pool = []
    for a in build_world().good_articles():
        if not a.syndicated_from:
            pool.append((a.language, a.title, [p for p in a.body.split("\n\n") if p.strip()]))
    for d in load(DATA):
        pool.append(("en", d["title"], d["body"].split("\n")))
    titles = (BINHVQ / "demo-title.txt").read_text(encoding="utf-8").splitlines()
    sentences = [
        s for s in (BINHVQ / "demo-full.txt").read_text(encoding="utf-8").splitlines() if s
    ]
    for k, title in enumerate(titles):
        start = (k * 37) % (len(sentences) - 8)
        pool.append(("vi", title, sentences[start : start + 6]))
    by_language = defaultdict(list)
    for doc in pool:
        by_language[doc[0]].append(doc)
    articles = []
    for k in range(n):
        language, title, lines = pool[k % len(pool)]
        if k >= len(pool):
            same = by_language[language]
            other = same[(k * 7 + 3) % len(same)][2]
            lines = [x for pair in zip(lines, other, strict=False) for x in pair] or lines + other
        body = "\n".join(lines)
        articles.append(
            ArticleForAnalysis(f"a{k}", "", title, body, None, None, content_hash(title, body))
        )
    return articles


def throughput(n: int) -> None:
    """Runs in its own process (peak memory): raw encode, then the pipeline's steps."""
    import resource
    from dataclasses import replace

    from nlp.embed import article_text
    from nlp.enrich import enrich, summarise
    from nlp.language import identify
    from nlp.narratives import build_narratives

    settings, embedder = _embedder()
    articles = corpus(n)
    texts = [article_text(a.title, a.text) for a in articles]
    embedder.embed_passages(texts[:64])  # warm up
    started = time.perf_counter()
    embedder.embed_passages(texts)
    raw = time.perf_counter() - started
    peak_raw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    steps = {}
    started = time.perf_counter()
    articles = [replace(a, language=identify(f"{a.title}\n{a.text}")) for a in articles]
    steps["language id"] = time.perf_counter() - started
    started = time.perf_counter()
    enriched = enrich(articles)
    steps["enrich (spaCy)"] = time.perf_counter() - started
    started = time.perf_counter()
    vectors = embedder.embed_passages([article_text(a.title, a.text) for a in articles])
    steps["embed"] = time.perf_counter() - started
    started = time.perf_counter()
    result = build_narratives(articles, vectors, strategy=_strategy(settings))
    steps["cluster (narratives, keywords)"] = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    english = [a for a in articles if a.language == "en"][:500]
    previous_ner, ner = _english_ner_rates(english)
    # the raw encode again: on a shared machine the load can change during the run
    started = time.perf_counter()
    embedder.embed_passages(texts)
    raw_after = time.perf_counter() - started
    raw_before, raw = raw, (raw + raw_after) / 2
    languages = Counter(a.language for a in articles).most_common()
    print(
        f"\n== Throughput: {n} articles built from ECB+, binhvq and demo texts "
        f"({', '.join(f'{k} {v}' for k, v in languages)}); model {embedder.model_id} =="
    )
    print(f"enrichment: {summarise(enriched)}")
    print(f"narratives {len(result.narratives)}, articles alone {result.unclustered}")
    print(
        f"raw model encode, same texts        {raw:7.1f} s {n / raw:7.1f} texts/s "
        f"(mean of {raw_before:.1f} s before and {raw_after:.1f} s after the pipeline)"
    )
    for name, took in steps.items():
        print(f"  {name:33s} {took:7.1f} s")
    core = sum(v for k, v in steps.items() if k != "language id")
    whole = sum(steps.values())
    print(f"enrich + embed + cluster            {core:7.1f} s {n / core:7.1f} texts/s")
    print(f"language id + enrich + embed + cl.  {whole:7.1f} s {n / whole:7.1f} texts/s")
    print(
        f"ratio to raw encode: {raw / core:.2f} (goal >= 0.8); with language id "
        f"{raw / whole:.2f}; without spaCy {raw / (core - steps['enrich (spaCy)']):.2f}"
    )
    print(f"peak RSS: {peak_raw:.0f} MiB after the raw encode, {peak:.0f} MiB after the pipeline")
    from nlp.enrich import MAX_CHARS, NER_CHARS

    print(
        f"enrich, {len(english)} of the English articles: {ner:.0f} articles/s (recogniser only, "
        f"{NER_CHARS}-character lead) beside {previous_ner:.0f} articles/s (the previous set-up: "
        f"tagger and recogniser over {MAX_CHARS} characters)"
    )


def _english_ner_rates(articles) -> tuple[float, float]:
    """Articles/s of English entity recognition, the previous set-up and the current one."""
    import spacy

    from nlp.enrich import ENGLISH_MODEL, ENTITY_LABELS, MAX_CHARS, enrich

    texts = [f"{a.title}\n{a.text}".strip()[:MAX_CHARS] for a in articles]
    before = spacy.load(ENGLISH_MODEL, disable=["parser", "lemmatizer"])
    started = time.perf_counter()
    for doc in before.pipe(texts):
        _words = [t.text for t in doc if not t.is_space]
        _names = Counter((e.label_, e.text) for e in doc.ents if e.label_ in ENTITY_LABELS)
    previous = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    enrich(articles)
    return previous, len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--no-bertopic", action="store_true")
    parser.add_argument("--articles", type=int, default=10_000, help="throughput corpus size")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--throughput-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.throughput_only:
        throughput(args.articles)
        return
    settings, base = _embedder()
    embedder = CachingEmbedder(base)
    ecbplus(args, settings, embedder)
    vietnamese(settings, embedder)
    stability(settings, embedder)
    if not args.skip_throughput:
        sys.stdout.flush()
        subprocess.run(
            [sys.executable, __file__, "--throughput-only", "--articles", str(args.articles)],
            check=True,
        )


if __name__ == "__main__":
    main()
