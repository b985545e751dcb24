"""Library matching: quality on the labelled pairs, and speed at scale. Prints figures.

    .venv/bin/python bench/bench_matching.py            # both parts (about 5 minutes)
    .venv/bin/python bench/bench_matching.py --quality  # labelled pairs only (~1 min)
    .venv/bin/python bench/bench_matching.py --speed    # synthetic library only

Quality, on the two labelled sets of data/labelled/ (README.md there), each in one run for
the hybrid matcher, BM25 alone and dense alone:

- demo: demo_pairs.tsv (Vietnamese, English, French and Chinese queries as a rapid-response
  officer would paste them; a quarter match nothing) against the demo library (every entry
  but retired ones);
- hard: hard_pairs.tsv (paraphrases that mostly avoid the entries' tell-tale names,
  social-media posts with links and hashtags, Vietnamese without diacritics, near misses
  that share a name or a topic with an entry) against the demo library plus the distractor
  entries of distractors.jsonl (neighbouring stories: rice prices beside the export ban,
  the HPV vaccine beside DengiShield, a singer's flood appeal beside the relief fund …).

The calibration is fitted as `python -m nlp.evaluate calibrate` fits it (both sets, each
against its library and its one-language views), but on one half of each set only, and
every figure is read on the other halves, both ways round, over several random halvings
(never on what it was fitted on). MAP@5 and recall@1 count the queries that have a right
entry; precision at the threshold counts every candidate of a query's top 3 whose
calibrated score reaches the threshold (settings.match_threshold), which is what the
pipeline flags.

Speed: a synthetic library of 100,000 entries (two rows each: title and claim; random
unit vectors and Zipf-distributed pseudo-words, since no real library that size ships
here) and 10,000 queries, excluding embedding (query vectors given), flat and HNSW; then
including embedding, measured on 1,000 real query texts embedded by the default model
(the labelled queries, cycled) against the same library, and extrapolated per query.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mediawatch.settings import load_settings  # noqa: E402
from nlp.calibration import FIT_CANDIDATES, Calibration  # noqa: E402
from nlp.evaluate import (  # noqa: E402
    DEMO_PAIRS,
    calibrated_probabilities,
    fit_with_cross_language,
    labelled_sets,
    language_views,
    rank_figures,
    split_halves,
)
from nlp.match import POOL, LibraryIndex, background_similarity  # noqa: E402
from nlp.trec import read_pairs  # noqa: E402

SEEDS = 5
SIGNALS = ("hybrid", "bm25", "dense")


def _flag_figures(calibration, pairs, results, threshold: float) -> dict[str, float]:
    p, right = calibrated_probabilities(calibration, pairs, results)
    out: dict[str, float] = {}
    for key, t in (("prec", threshold), ("p50", 0.5), ("p95", 0.95)):
        over = p >= t
        out[key] = float(right[over].mean()) if over.any() else float("nan")
    over = p >= threshold
    out["flagged"] = float(over.sum())
    out["recall"] = float(right[over].sum() / max(1, sum(q.entry_id is not None for q in pairs)))
    per_query = FIT_CANDIDATES
    none = [
        bool(np.any(p[k * per_query : (k + 1) * per_query] >= threshold))
        for k, q in enumerate(pairs)
        if q.entry_id is None and len(results[k]) >= per_query
    ]
    out["false"] = float(np.mean(none)) if none else float("nan")
    out["reliability"] = list(zip(p.tolist(), right.tolist(), strict=True))
    return out


class _Set:
    """One labelled set, its library index and one-language views, and their results."""

    def __init__(self, labelled, embedder, base: Calibration) -> None:
        self.name = labelled.name.split("_")[0]
        self.pairs = labelled.pairs
        self.index = LibraryIndex(labelled.items, embedder, calibration=base)
        self.views = language_views(self.index)
        self.cross = [k for k, p in enumerate(self.pairs) if p.lang != "en"]

    def run(self, mode: str, base: Calibration) -> None:
        texts = [p.text for p in self.pairs]
        for each in (self.index, *self.views.values()):
            each.signals = mode
            each.calibration = base
        self.results = self.index.search_texts(texts, max(5, FIT_CANDIDATES))
        self.view_results = {
            lang: v.search_texts(texts, max(5, FIT_CANDIDATES)) for lang, v in self.views.items()
        }

    def samples(self, chosen: list[int]):
        pairs = [self.pairs[k] for k in chosen]
        whole = (pairs, [self.results[k] for k in chosen])
        views = [(pairs, [r[k] for k in chosen]) for r in self.view_results.values()]
        return whole, views


def quality(settings) -> None:
    from nlp.embed import load_embedder

    embedder = load_embedder(settings.embedding_model, settings.models_dir)
    sets_given = labelled_sets()
    first = LibraryIndex(sets_given[0].items, embedder)
    mean, std, gap = background_similarity(
        first.dense.vectors, first.rows.entry, first.row_language
    )
    base = Calibration(first.model_id, 1.0, 0.0, mean, std, language_gap=gap)
    sets = [_Set(s, embedder, base) for s in sets_given]
    threshold = settings.match_threshold
    for s in sets:
        positives = sum(p.entry_id is not None for p in s.pairs)
        print(
            f"{s.name}: {len(s.pairs)} queries ({positives} with a right entry, "
            f"{len(s.pairs) - positives} matching nothing) against {len(s.index)} entries "
            f"({len(s.index.rows.texts)} phrasings)"
        )
    print(
        f"model {first.model_id}; calibration fitted on one half of each set (each against "
        f"its library and its one-language views),\nfigures read on the other halves, both "
        f"ways, {SEEDS} random halvings; threshold {threshold} (settings.match_threshold)"
    )
    figures: dict[tuple[str, str], dict[str, list]] = {}
    cross_figures: dict[tuple[str, str], dict[str, list]] = {}
    reliability: dict[str, list] = {s.name: [] for s in sets}
    for signals in SIGNALS:
        mode = {"bm25": "lexical"}.get(signals, signals)
        for s in sets:
            s.run(mode, base)
        for seed in range(SEEDS):
            halves = [split_halves(s.pairs, seed) for s in sets]
            for way in (0, 1):
                fit = [h[way] for h in halves]
                held = [h[1 - way] for h in halves]
                wholes, views = [], []
                for s, chosen in zip(sets, fit, strict=True):
                    whole, view = s.samples(chosen)
                    wholes.append(whole)
                    views += view
                calibration = replace(base, **fit_with_cross_language(wholes, views))
                for s, chosen in zip(sets, held, strict=True):
                    _read(s, chosen, calibration, threshold, signals, figures, cross_figures,
                          reliability)
    for s in sets:
        _print_table(s, figures, cross_figures)
    for s in sets:
        _print_reliability(s.name, reliability[s.name])
    for s in sets:
        for each in (s.index, *s.views.values()):
            each.signals = "hybrid"
        _print_by_language(s)


def _read(s, chosen, calibration, threshold, signals, figures, cross_figures, reliability):
    pairs = [s.pairs[k] for k in chosen]
    results = [s.results[k] for k in chosen]
    ranks = rank_figures(pairs, [[c.entry_id for c in r] for r in results])
    row = figures.setdefault((s.name, signals), {})
    row.setdefault("map", []).append(ranks.map_at_5)
    row.setdefault("r1", []).append(ranks.recall_at_1)
    for key, value in _flag_figures(calibration, pairs, results, threshold).items():
        if key == "reliability":
            if signals == "hybrid":
                reliability[s.name] += value
        else:
            row.setdefault(key, []).append(value)
    if "en" in s.view_results:
        cross = set(s.cross)
        ks = [k for k in chosen if k in cross]
        held_cross = [s.pairs[k] for k in ks]
        cross_results = [s.view_results["en"][k] for k in ks]
        f = rank_figures(held_cross, [[c.entry_id for c in r] for r in cross_results])
        flags = _flag_figures(calibration, held_cross, cross_results, threshold)
        row = cross_figures.setdefault((s.name, signals), {})
        for key, value in (("map", f.map_at_5), ("r1", f.recall_at_1),
                           ("prec", flags["prec"]), ("recall", flags["recall"])):
            row.setdefault(key, []).append(value)


def _print_table(s, figures, cross_figures) -> None:
    header = (
        f"{'method':<8} {'MAP@5':>6} {'R@1':>6} {'prec@t':>7} {'flagged':>8} "
        f"{'recall@t':>9} {'false/none':>10} {'prec@0.5':>9} {'prec@0.95':>9}"
    )
    print(f"\n{s.name} set, held-out halves (~{len(s.pairs) // 2} queries each):")
    print(header)
    print("-" * len(header))
    for signals in SIGNALS:
        m = {k: float(np.nanmean(v)) for k, v in figures[(s.name, signals)].items()}
        print(
            f"{signals:<8} {m['map']:6.3f} {m['r1']:6.3f} {m['prec']:7.3f} "
            f"{m['flagged']:8.1f} {m['recall']:9.3f} {m['false']:10.3f} "
            f"{m['p50']:9.3f} {m['p95']:9.3f}"
        )
    if "en" in s.views:
        print(
            f"  cross-lingual: held-out non-English queries ({len(s.cross)} in all) against "
            f"the library cut to its English phrasings ({len(s.views['en'].rows.texts)} rows):"
        )
        for signals in SIGNALS:
            m = {k: float(np.nanmean(v)) for k, v in cross_figures[(s.name, signals)].items()}
            print(f"    {signals:<7} MAP@5 {m['map']:.3f}  R@1 {m['r1']:.3f}  prec@t "
                  f"{m['prec']:.3f}  recall@t {m['recall']:.3f}")


def _print_reliability(name: str, reliability: list) -> None:
    if name == "demo":
        print(
            "\nprec@t: share of flagged candidates (top 3, calibrated score >= threshold) that "
            "are right;\nflagged: flagged candidates per held-out half; recall@t: queries with "
            "a right entry\nwhose right entry is flagged; false/none: queries that match "
            "nothing yet get a flagged candidate."
        )
    print(f"\nHybrid, {name} set, held-out reliability (predicted probability vs share right):")
    p = np.array([r[0] for r in reliability])
    ok = np.array([r[1] for r in reliability])
    for low, high in ((0, 0.1), (0.1, 0.5), (0.5, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01)):
        inside = (p >= low) & (p < high)
        if inside.any():
            print(
                f"  p in [{low:.2f}, {min(high, 1):.2f}): {int(inside.sum()):5d} candidates, "
                f"mean p {p[inside].mean():.3f}, right {ok[inside].mean():.3f}"
            )


def _print_by_language(s) -> None:
    by_lang: dict[str, list[int]] = {}
    for k, pair in enumerate(s.pairs):
        if pair.entry_id:
            by_lang.setdefault(pair.lang, []).append(k)
    results = s.index.search_texts([p.text for p in s.pairs], 5)
    print(f"\nHybrid, {s.name} set, by query language (MAP@5 / recall@1, all pairs: ranking is "
          "not fitted):")
    for lang, ks in sorted(by_lang.items()):
        f = rank_figures([s.pairs[k] for k in ks], [[c.entry_id for c in results[k]] for k in ks])
        print(f"  {lang}: {f.queries:3d} queries  MAP@5 {f.map_at_5:.3f}  R@1 {f.recall_at_1:.3f}")


# -- speed -----------------------------------------------------------------------------------


class GivenVectors:
    """An 'embedder' that hands out precomputed row vectors (the synthetic library)."""

    def __init__(self, vectors: np.ndarray, model_id: str) -> None:
        self.vectors = vectors
        self.model_id = model_id
        self.dimension = vectors.shape[1]

    def embed_queries(self, texts):
        assert len(texts) == len(self.vectors)
        return self.vectors

    embed_passages = embed_queries


def synthetic_library(entries: int, dimension: int, seed: int = 0):
    from nlp.match import LibraryItem

    rng = np.random.default_rng(seed)
    syllables = [a + b for a in "bcdghklmnprstvx" for b in ("a", "e", "i", "o", "u", "an", "ong")]
    parts = rng.integers(0, len(syllables), (50_000, 3))
    vocabulary = np.array(["".join(syllables[k] for k in row) for row in parts])
    ranks = np.arange(1, len(vocabulary) + 1)
    zipf = (1 / ranks) / (1 / ranks).sum()
    lengths = np.stack([rng.integers(5, 10, entries), rng.integers(8, 16, entries)], axis=1)
    words = vocabulary[rng.choice(len(vocabulary), int(lengths.sum()), p=zipf)].tolist()
    texts, at = [], 0
    for n in lengths.ravel().tolist():
        texts.append(" ".join(words[at : at + n]))
        at += n
    items = [LibraryItem(f"S{k}", "v1", (texts[2 * k], texts[2 * k + 1])) for k in range(entries)]
    vectors = _e5_like_vectors(rng, entries, dimension)
    return items, vectors, vocabulary, zipf, rng


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _e5_like_vectors(rng, entries: int, dimension: int) -> np.ndarray:
    """Two rows per entry, with E5's geometry rather than uniform noise: every vector
    leans on one common direction (unrelated texts still score ~0.72), entries share one of
    2,000 topics (~0.80 within a topic) and an entry's title and claim share more (~0.88)."""
    common = _unit(rng.standard_normal(dimension))
    topics = _unit(rng.standard_normal((2_000, dimension)))
    topic = rng.integers(0, len(topics), entries)
    own = _unit(rng.standard_normal((entries, dimension)))
    base = np.sqrt(0.72) * common + np.sqrt(0.08) * topics[topic] + np.sqrt(0.08) * own
    rows = np.repeat(base, 2, axis=0)
    noise = _unit(rng.standard_normal((2 * entries, dimension)))
    return _unit(rows + np.sqrt(0.12) * noise)


def synthetic_queries(items, vectors, vocabulary, zipf, rng, n: int):
    targets = rng.integers(0, len(items), n)
    noise = _unit(rng.standard_normal((n, vectors.shape[1])))
    q = _unit(vectors[targets * 2 + 1] + np.sqrt(0.15) * noise)  # cosine ~0.93 to its claim
    from nlp.lexical import tokenize

    noise = vocabulary[rng.choice(len(vocabulary), (n, 5), p=zipf)].tolist()
    tokens = []
    for t, extra in zip(targets.tolist(), noise, strict=True):
        words = items[t].phrasings[1].split()
        keep = [w for w, r in zip(words, rng.random(len(words)), strict=True) if r < 0.6]
        tokens.append(tokenize(" ".join(keep + extra)))
    return q.astype(np.float32), tokens, targets


def speed(settings) -> None:
    import faiss

    from nlp.embed import load_embedder

    dimension = 384
    n_entries, n_queries = 100_000, 10_000
    print(f"\nSpeed: synthetic library of {n_entries:,} entries ({2 * n_entries:,} rows), "
          f"{n_queries:,} queries, top 10, {faiss.omp_get_max_threads()} threads")
    started = time.perf_counter()
    items, vectors, vocabulary, zipf, rng = synthetic_library(n_entries, dimension)
    print(f"  generated in {time.perf_counter() - started:.1f} s")
    queries, tokens, targets = synthetic_queries(items, vectors, vocabulary, zipf, rng,
                                                 n_queries)
    found = {}
    for kind in ("flat", "hnsw"):
        started = time.perf_counter()
        index = LibraryIndex(items, GivenVectors(vectors, "synthetic"), kind=kind,
                             calibration=Calibration("synthetic", 1.0, -6.0, 0.0, 0.05))
        built = time.perf_counter() - started
        started = time.perf_counter()
        results = index.search_vectors(queries, 10, tokens)
        seconds = time.perf_counter() - started
        found[kind] = results
        hit1 = np.mean([r[0].entry_id == f"S{t}" for r, t in zip(results, targets, strict=True)])
        print(f"  {kind:<5} index built in {built:6.1f} s (BM25 included); hybrid search "
              f"{n_queries / seconds:7.0f} queries/s ({seconds:.1f} s), right entry first "
              f"{hit1:.3f}   [excluding embedding]")
    # the size the maintainers' English benchmark has (10,000+ claims): the first 10,000
    small_items = items[:10_000]
    index_small = LibraryIndex(small_items, GivenVectors(vectors[:20_000], "synthetic"),
                               calibration=Calibration("synthetic", 1.0, -6.0, 0.0, 0.05))
    small_q, small_tokens, small_targets = synthetic_queries(
        small_items, vectors[:20_000], vocabulary, zipf, rng, n_queries
    )
    started = time.perf_counter()
    results = index_small.search_vectors(small_q, 10, small_tokens)
    seconds = time.perf_counter() - started
    hit1 = np.mean([r[0].entry_id == f"S{t}" for r, t in zip(results, small_targets,
                                                             strict=True)])
    print(f"  10,000 entries ({index_small.kind}): hybrid search {n_queries / seconds:7.0f} "
          f"queries/s, right entry first {hit1:.3f}   [excluding embedding]")
    overlap = np.mean([
        len({c.entry_id for c in a} & {c.entry_id for c in b}) / max(len(a), 1)
        for a, b in zip(found["flat"], found["hnsw"], strict=True)
    ])
    print(f"  HNSW hybrid top-10 agreement with flat: {overlap:.3f}")

    # where flat search stops paying: dense search alone, by library size
    print(f"  dense search alone (faiss), 10,000 queries, {2 * POOL} rows each:")
    for rows in (25_000, 50_000, 100_000, 200_000):
        flat = faiss.IndexFlatIP(dimension)
        flat.add(vectors[:rows])
        started = time.perf_counter()
        flat.search(queries, 2 * POOL)
        flat_s = time.perf_counter() - started
        print(f"    {rows:>7,} rows: flat {flat_s:5.1f} s "
              f"({flat_s / n_queries * 1e3:.2f} ms/query)")
    hnsw = index.dense  # the last one built is HNSW over every row
    started = time.perf_counter()
    _, approx = hnsw.search(queries, 2 * POOL)
    hnsw_s = time.perf_counter() - started
    flat = faiss.IndexFlatIP(dimension)
    flat.add(vectors)
    _, exact = flat.search(queries[:1000], 10)
    recall = np.mean([len(set(e) & set(a[:10])) / 10 for e, a in
                      zip(exact, approx[:1000], strict=True)])
    print(f"    {len(vectors):>7,} rows: HNSW {hnsw_s:5.1f} s "
          f"({hnsw_s / n_queries * 1e3:.2f} ms/query), recall@10 vs flat {recall:.3f}")

    # including embedding: real texts, embedded by the default model, same library
    embedder = load_embedder(settings.embedding_model, settings.models_dir)
    texts = [p.text for p in read_pairs(DEMO_PAIRS)]
    texts = (texts * (1000 // len(texts) + 1))[:1000]
    embedder.embed_queries(texts[:8])  # warm up
    index.embedder = embedder
    index.dense.vectors  # noqa: B018 (a view; nothing to warm)
    started = time.perf_counter()
    index.search_texts(texts, 10)
    seconds = time.perf_counter() - started
    print(f"  including embedding ({embedder.model_id}, {len(texts)} real query texts, HNSW "
          f"library above): {len(texts) / seconds:.0f} queries/s; for 10,000 queries about "
          f"{10_000 * seconds / len(texts) / 60:.1f} min")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--speed", action="store_true")
    args = parser.parse_args()
    settings = load_settings()
    both = not (args.quality or args.speed)
    if args.quality or both:
        quality(settings)
    if args.speed or both:
        speed(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
