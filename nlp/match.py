"""Matching narratives, articles and free text against the rebuttal library.

Hybrid and cross-lingual. Every entry's title and claim phrasings are rows of two indexes
(nlp/index.py): faiss over multilingual-e5 vectors (so a Vietnamese text meets an English-
only entry) and BM25 over tokens made for every script (nlp/lexical.py: Vietnamese syllable
pairs, folded diacritics, stemming). For each query:

1. candidates: the best `POOL` entries by dense similarity and the best `POOL` by BM25
   (an entry scores the best of its rows: claim-level scoring over every phrasing);
2. fused score: each signal standardised over that candidate pool (z-scores), plus how far
   the dense similarity stands above the model's background similarity between unrelated
   phrasings (an absolute term: without it the best of nothing looks as good as a match);
   s = z(dense) + LEXICAL_WEIGHT * z(bm25) + BACKGROUND_WEIGHT * (dense - mean) / spread,
   the BM25 spread being at least LEXICAL_FLOOR of what the query could score at best;
3. calibrated score: the probability, fitted on labelled pairs (nlp/calibration.py), that
   the entry is the right answer, from the fused score, the entry's margin over the best
   other candidate and whether the evidence crossed languages. `Candidate.score` is that
   probability, so a threshold (settings.match_threshold) is a precision target, the same
   for every query.

A narrative is matched through its representative headlines (the articles closest to its
centroid): each headline is a query, and an entry's narrative score is the mean of its best
`NARRATIVE_HEADLINES_USED` headline scores, so one stray headline cannot carry a match.
Without headlines, the centroid alone is the query (dense only).

Which entries may be *suggested* (approved, unexpired) is decided by the callers: the
matcher scores drafts too, so the team sees them, marked as drafts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mediawatch.records import Match
from nlp.calibration import Calibration, load_calibration, uncalibrated
from nlp.embed import Embedder
from nlp.index import build_index, library_rows, library_version, load_index, save_index
from nlp.language import identify_for_matching
from nlp.lexical import strip_clutter, tokenize

POOL = 50
# query segments scored at once: bounds memory (each holds one BM25 score per library row).
# The dense search runs over all of them in one call: faiss's exact search of 2,560 queries
# against 200,000 rows took 7 s in one call and 38 s in calls of 256 (2 cores).
QUERY_CHUNK = 256
LEXICAL_WEIGHT = 1.0
LEXICAL_FLOOR = 0.05
BACKGROUND_WEIGHT = 1.0
# narratives: headlines per narrative read, and how many of the best count (measured on a
# full demo run with the calibration shipped now: with the best two, the narratives of the
# planted stories that have an entry score 0.958 to 0.994 for it, but for the partnership
# upgrade (0.825, under the threshold); the other narratives 0.407 at most; with three, a
# narrative whose headlines also carry side stories fell to the threshold)
NARRATIVE_HEADLINES = 8
NARRATIVE_HEADLINES_USED = 2
# texts longer than this many words are also matched sentence by sentence (best counts)
LONG_TEXT_WORDS = 60
MAX_SEGMENTS = 6
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|\n+")


@dataclass(frozen=True)
class LibraryItem:
    """What the matcher needs of a library entry."""

    entry_id: str
    version: str
    phrasings: tuple[str, ...]


@dataclass(frozen=True)
class Candidate:
    """One library entry for one query. `score` is the calibrated probability."""

    entry_id: str
    entry_version: str
    score: float
    fused: float = 0.0
    dense: float = 0.0
    lexical: float = 0.0
    cross_language: bool = False  # no phrasing of the entry is in the query's language
    margin: float = 0.0  # fused minus the best other candidate's (negative but for the first)


@dataclass
class _Query:
    """One query's view of the library: its vector, BM25 row scores and pool statistics."""

    vector: np.ndarray
    bm25: np.ndarray | None
    pool: np.ndarray
    language: str = ""
    dense_mean: float = 0.0
    dense_std: float = 0.0
    lexical_mean: float = 0.0
    lexical_std: float = 0.0
    lexical_mass: float = 0.0


class LibraryIndex:
    """The library, indexed for hybrid matching.

    `cache_dir`: where indexes are saved by library version (nothing is embedded again
    while the library stays the same). `kind`: "flat" or "hnsw" when building (default: by
    size; a saved index keeps the kind it was built with).
    `calibration`: defaults to the shipped one for the embedder's model.
    `signals`: "hybrid" (the default), or "dense" / "lexical" alone (for measuring them):
    alone, the score is the raw cosine or BM25 of the best row.
    """

    signals = "hybrid"

    def __init__(
        self,
        items: Sequence[LibraryItem],
        embedder: Embedder,
        *,
        cache_dir: Path | None = None,
        kind: str | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        self.items = [item for item in items if item.phrasings]
        self.embedder = embedder
        self.model_id = embedder.model_id
        self.version = library_version(
            [(i.entry_id, i.version, i.phrasings) for i in self.items], self.model_id
        )
        rows = library_rows([i.phrasings for i in self.items])
        entry_ids = [i.entry_id for i in self.items]
        built = load_index(rows, Path(cache_dir), self.version, entry_ids) if cache_dir else None
        if built is None:
            if rows.texts:
                # claims are short statements like the queries: E5's symmetric "query: "
                # prompt on both sides (measured, dense alone: MAP@5 0.955 against 0.878
                # with "passage: " rows, non-English demo queries vs English phrasings)
                vectors = embedder.embed_queries(rows.texts)
            else:
                vectors = np.zeros((0, embedder.dimension), dtype=np.float32)
            built = build_index(rows, vectors, self.version, kind)
            if cache_dir is not None:
                save_index(built, Path(cache_dir), self.model_id, entry_ids)
        self.built = built
        self.rows = built.rows
        self.row_language = built.languages
        self.dense = built.dense
        self.lexical = built.lexical
        self.dimension = built.dense.dimension
        self.calibration = (
            calibration
            or load_calibration(self.model_id)
            or uncalibrated(
                self.model_id,
                *background_similarity(self.dense.vectors, rows.entry, self.row_language),
            )
        )

    # -- public searches --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.items)

    @property
    def kind(self) -> str:
        return self.dense.kind

    def search_texts(self, texts: Sequence[str], top_k: int) -> list[list[Candidate]]:
        """Best entries for each text, best first (embedding done here, in one batch)."""
        if not self.items or not texts:
            return [[] for _ in texts]
        segments, owner = [], []
        for k, text in enumerate(texts):
            for segment in text_segments(text):
                segments.append(segment)
                owner.append(k)
        vectors = self.embedder.embed_queries([strip_clutter(s) or s for s in segments])
        tokens = [tokenize(s) for s in segments]
        languages = [identify_for_matching(s) or "" for s in segments]
        return self._best_of_segments(vectors, tokens, owner, len(texts), top_k, languages)

    def search_vectors(
        self,
        vectors: np.ndarray,
        top_k: int,
        tokens: Sequence[Sequence[str]] | None = None,
        languages: Sequence[str] | None = None,
    ) -> list[list[Candidate]]:
        """Best entries for query vectors already embedded (and their tokens and languages,
        if known)."""
        owner = list(range(len(vectors)))
        return self._best_of_segments(vectors, tokens, owner, len(vectors), top_k, languages)

    def search(self, queries: np.ndarray, top_k: int) -> list[list[Candidate]]:
        """Dense-only search of unit vectors (kept for callers of the first matcher)."""
        return self.search_vectors(queries, top_k)

    # -- scoring ----------------------------------------------------------------------------

    def _best_of_segments(self, vectors, tokens, owner, n_queries, top_k, languages=None):
        if not self.items or len(vectors) == 0:
            return [[] for _ in range(n_queries)]
        best: list[dict[int, tuple]] = [{} for _ in range(n_queries)]
        hits = self._dense_hits(vectors)
        for at in range(0, len(vectors), QUERY_CHUNK):
            chunk = slice(at, at + QUERY_CHUNK)
            queries = self._queries(
                vectors[chunk],
                tokens[chunk] if tokens is not None else None,
                languages[chunk] if languages is not None else None,
                hits=hits[chunk],
            )
            for query, k in zip(queries, owner[chunk], strict=True):
                fused, dense, lexical, cross = self._fused(query, query.pool)
                found = best[k]
                for e, s, d, lx, x in zip(
                    query.pool.tolist(), fused, dense, lexical, cross, strict=True
                ):
                    if e not in found or s > found[e][0]:
                        found[e] = (float(s), float(d), float(lx), bool(x))
        return [self._candidates(found, top_k) for found in best]

    def _candidates(self, found: dict[int, tuple], top_k: int):
        ranked = sorted(found.items(), key=lambda kv: (-kv[1][0], self.items[kv[0]].entry_id))
        margins = candidate_margins([v[0] for _, v in ranked])[:top_k]
        ranked = ranked[:top_k]
        if not ranked:
            return []
        probabilities = self.calibration.probability(
            [v[0] for _, v in ranked], [float(v[3]) for _, v in ranked], margins
        )
        return [
            Candidate(
                self.items[e].entry_id,
                self.items[e].version,
                float(p),
                fused=s,
                dense=d,
                lexical=lx,
                cross_language=x,
                margin=float(m),
            )
            for (e, (s, d, lx, x)), p, m in zip(ranked, probabilities, margins, strict=True)
        ]

    def _dense_hits(self, vectors: np.ndarray) -> np.ndarray:
        """The best POOL * 2 rows of each query vector by dense similarity."""
        _, hits = self.dense.search(vectors, min(len(self.rows.texts), POOL * 2))
        return hits

    def _queries(self, vectors: np.ndarray, tokens, languages=None, hits=None) -> list[_Query]:
        """Per query: the candidate pool (best by dense and by BM25) and its statistics."""
        n_rows = len(self.rows.texts)
        rows_wanted = min(n_rows, POOL * 2)
        if hits is None:
            hits = self._dense_hits(vectors)
        queries = []
        for i, vector in enumerate(np.asarray(vectors, dtype=np.float32)):
            dense_rows = hits[i][hits[i] >= 0]
            pool = _first_unique(self.rows.entry[dense_rows], POOL)
            if self.signals == "lexical":
                pool = pool[:0]
            bm25 = None
            if tokens is not None and tokens[i] and self.signals != "dense":
                bm25 = self.lexical.scores(tokens[i])
                top = self.lexical.top_rows(tokens[i], bm25, rows_wanted)
                if len(top):
                    pool = np.union1d(pool, _first_unique(self.rows.entry[top], POOL))
                else:
                    bm25 = None
            query = _Query(vector, bm25, pool, languages[i] if languages is not None else "")
            if bm25 is not None:
                query.lexical_mass = self.lexical.query_mass(tokens[i])
            if len(pool) == 0:
                queries.append(query)
                continue
            dense, lexical, _ = self._raw(query, pool)
            query.dense_mean, query.dense_std = float(dense.mean()), float(dense.std())
            query.lexical_mean, query.lexical_std = float(lexical.mean()), float(lexical.std())
            queries.append(query)
        return queries

    def _raw(self, query: _Query, entries: np.ndarray):
        """Best dense similarity and best BM25 over the rows of each entry, and whether the
        entry has no phrasing in the query's language (so BM25 could not have seen it)."""
        if len(entries) == 0:
            empty = np.zeros(0, dtype=np.float32)
            return empty, empty, np.zeros(0, dtype=bool)
        rows, offsets = _rows_of(self.rows.start[entries], self.rows.stop[entries])
        similarity = self.dense.vectors[rows] @ query.vector
        cross = np.zeros(len(entries), dtype=bool)
        if query.language:
            row_language = self.row_language[rows]
            crossing = (row_language != query.language) & (row_language != "")
            if self.calibration.language_gap:
                similarity = similarity + self.calibration.language_gap * crossing
            cross = np.maximum.reduceat((~crossing).astype(np.int8), offsets) == 0
        dense = np.maximum.reduceat(similarity, offsets)
        if query.bm25 is None:
            lexical = np.zeros(len(entries), dtype=np.float32)
        else:
            lexical = np.maximum.reduceat(query.bm25[rows], offsets)
        return dense, lexical, cross

    def _fused(self, query: _Query, entries: np.ndarray):
        """(fused, dense, lexical, crosses languages) of each entry for one query."""
        dense, lexical, cross = self._raw(query, entries)
        if self.signals != "hybrid":
            return (dense if self.signals == "dense" else lexical), dense, lexical, cross
        fused = BACKGROUND_WEIGHT * (
            (dense - self.calibration.background_mean) / self.calibration.background_std
        )
        if query.dense_std > 1e-6:
            fused = fused + (dense - query.dense_mean) / query.dense_std
        # a spread of at least LEXICAL_FLOOR of the query's mass: in a small pool one word
        # in common by accident (Vietnamese "bán" and English "ban" fold alike) would
        # otherwise stand out as far as a real match
        spread = max(query.lexical_std, LEXICAL_FLOOR * query.lexical_mass)
        if spread > 1e-9:
            fused = fused + LEXICAL_WEIGHT * (lexical - query.lexical_mean) / spread
        return fused, dense, lexical, cross


def candidate_margins(fused: Sequence[float]) -> np.ndarray:
    """Each candidate's fused score minus the best other candidate's, for scores best first:
    the first's lead over the second, the others' (negative) distance to the first. A lone
    candidate has nothing to stand above: margin 0."""
    scores = np.asarray(fused, dtype=np.float64)
    if len(scores) < 2:
        return np.zeros(len(scores))
    margins = scores - scores[0]
    margins[0] = scores[0] - scores[1]
    return margins


def _first_unique(values: np.ndarray, limit: int) -> np.ndarray:
    """The first `limit` distinct values, in order of first appearance."""
    _, first = np.unique(values, return_index=True)
    return values[np.sort(first)][:limit]


def _rows_of(start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of consecutive [start, stop) ranges, and where each range begins."""
    lengths = stop - start
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    rows = np.repeat(start - offsets, lengths) + np.arange(int(lengths.sum()))
    return rows, offsets


def background_similarity(
    vectors: np.ndarray,
    row_entry: np.ndarray,
    languages: np.ndarray | None = None,
    pairs: int = 20_000,
) -> tuple[float, float, float]:
    """(mean, spread, language gap) of the cosine between rows of different entries, from a
    random sample of row pairs. The gap is the mean within one language minus the mean
    across two (0 when the rows are in one language or their languages are unknown); the
    mean and spread are of cosines with cross-language pairs raised by the gap."""
    n = len(vectors)
    if n < 2 or len(np.unique(row_entry)) < 2:
        return 0.75, 0.05, 0.0  # nothing to compare: E5-like defaults
    rng = np.random.default_rng(0)
    a = rng.integers(0, n, pairs)
    b = rng.integers(0, n, pairs)
    keep = row_entry[a] != row_entry[b]
    a, b = a[keep], b[keep]
    sims = np.einsum("ij,ij->i", vectors[a], vectors[b])
    gap = 0.0
    if languages is not None:
        known = (languages[a] != "") & (languages[b] != "")
        same = known & (languages[a] == languages[b])
        cross = known & (languages[a] != languages[b])
        if same.sum() >= 20 and cross.sum() >= 20:
            gap = max(0.0, float(sims[same].mean() - sims[cross].mean()))
            sims = sims + gap * cross
    return float(sims.mean()), float(max(sims.std(), 1e-3)), gap


def text_segments(text: str) -> list[str]:
    """A text, and for a long one also its first sentences (matched separately)."""
    text = text.strip()
    if len(text.split()) <= LONG_TEXT_WORDS:
        return [text]
    sentences = [s.strip() for s in _SENTENCE.split(text) if len(s.split()) >= 4]
    return [text] + sentences[: MAX_SEGMENTS - 1]


# -- the pipeline's and the console's entry points ------------------------------------------


def match_text(
    text: str, embedder: Embedder, index: LibraryIndex, top_k: int = 5
) -> list[Candidate]:
    """Best entries for one free text (an article, a sentence someone forwarded)."""
    del embedder  # the index embeds with the model it was built with
    return index.search_texts([text], top_k)[0]


def match_texts(texts: Sequence[str], index: LibraryIndex, top_k: int = 5):
    """Best entries for many texts (batch-embedded)."""
    return index.search_texts(texts, top_k)


def narrative_scores(
    index: LibraryIndex,
    centroids: dict[str, np.ndarray],
    headlines: dict[str, Sequence[str]] | None = None,
) -> dict[str, list[tuple[int, float, float]]]:
    """Per narrative: (entry position, fused score, share of it that crossed languages) for
    every candidate entry, best first."""
    headlines = headlines or {}
    out: dict[str, list[tuple[int, float, float]]] = {}
    ids = sorted(centroids)
    texts = {n: list(dict.fromkeys(t for t in headlines.get(n, []) if t.strip())) for n in ids}
    texts = {n: t[:NARRATIVE_HEADLINES] for n, t in texts.items()}
    flat = [t for n in ids for t in texts[n]]
    vectors = index.embedder.embed_queries([strip_clutter(t) or t for t in flat]) if flat else None
    tokens = [tokenize(t) for t in flat]
    languages = [identify_for_matching(t) or "" for t in flat]
    at = 0
    for narrative_id in ids:
        own = texts[narrative_id]
        if own:
            q_vectors = vectors[at : at + len(own)]
            q_tokens = tokens[at : at + len(own)]
            q_languages = languages[at : at + len(own)]
            at += len(own)
        else:
            q_vectors = np.asarray(centroids[narrative_id], dtype=np.float32)[None, :]
            norm = np.linalg.norm(q_vectors)
            q_vectors = q_vectors / (norm or 1.0)
            q_tokens = q_languages = None
        queries = index._queries(q_vectors, q_tokens, q_languages)
        pool = np.unique(np.concatenate([q.pool for q in queries]))
        fused = [index._fused(q, pool) for q in queries]
        scores = np.stack([f[0] for f in fused])
        crossing = np.stack([f[3] for f in fused]).astype(np.float64)
        used = min(NARRATIVE_HEADLINES_USED, len(queries))
        top = np.argsort(-scores, axis=0, kind="stable")[:used]
        best = np.take_along_axis(scores, top, axis=0).mean(axis=0)
        cross = np.take_along_axis(crossing, top, axis=0).mean(axis=0)
        order = np.lexsort(([index.items[e].entry_id for e in pool], -best))
        out[narrative_id] = [(int(pool[k]), float(best[k]), float(cross[k])) for k in order]
    return out


def match_narratives(
    centroids: dict[str, np.ndarray],
    index: LibraryIndex,
    threshold: float,
    top_k: int = 3,
    headlines: dict[str, Sequence[str]] | None = None,
) -> list[Match]:
    """Top-k entries for each narrative, flagged when their calibrated score reaches the
    threshold. `headlines`: each narrative's representative headlines, closest to its
    centroid first; a narrative without them is matched by its centroid alone."""
    if not centroids or not index.items:
        return []
    matches = []
    for narrative_id, ranked in narrative_scores(index, centroids, headlines).items():
        margins = candidate_margins([s for _, s, _ in ranked])[:top_k]
        ranked = ranked[:top_k]
        probabilities = index.calibration.probability(
            [s for _, s, _ in ranked], [x for _, _, x in ranked], margins
        )
        for rank, ((e, _, _), p) in enumerate(zip(ranked, probabilities, strict=True), start=1):
            item = index.items[e]
            score = round(float(p), 6)
            matches.append(
                Match(narrative_id, item.entry_id, item.version, score, rank, score >= threshold)
            )
    return matches


def library_items(entries: Sequence) -> list[LibraryItem]:
    """Items for the matcher from library entries (RebuttalEntry objects or store rows):
    every entry but retired ones, phrased by its title and every claim."""
    items = []
    for e in entries:
        get = e.get if isinstance(e, dict) else lambda k, e=e: getattr(e, k)
        if get("status") == "retired":
            continue
        entry_id = get("entry_id") if isinstance(e, dict) else e.id
        phrasings = tuple(dict.fromkeys(p for p in [get("title"), *get("claims")] if p))
        items.append(LibraryItem(entry_id, get("version"), phrasings))
    return items
