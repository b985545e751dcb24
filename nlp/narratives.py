"""Narratives: articles that tell the same story, across outlets and languages.

v2 strategy (TwoStageClustering): centre the vectors per language; within each language,
average-link clustering on a hybrid similarity (the dense cosine, and the overlap of the
names the articles print); lone articles then join the group they fit best at a lower cut;
finally groups in different languages are bridged by their dense centres. Narrative
identity is carried from the previous run by member overlap, so a narrative keeps its id
week after week; merges and splits are reported for `narrative_lineage`. Syndicated copies
join the narrative of the article they copy and never weigh in the clustering.
"""

from __future__ import annotations

import functools
import heapq
import inspect
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from mediawatch.records import ArticleForAnalysis, Narrative, stable_id
from nlp.embed import article_text
from nlp.keywords import class_tfidf_keywords


class ClusteringStrategy(Protocol):
    """Groups unit vectors (one row per article); returns one label per row, -1 for none.

    `texts` (what was embedded of each article: headline and lead) is given to strategies
    whose `cluster` accepts it; others are called with vectors and languages only.
    """

    def cluster(self, vectors: np.ndarray, languages: Sequence[str | None]) -> np.ndarray: ...


@dataclass(frozen=True)
class AverageLinkClustering:
    """Average-link agglomerative clustering cut at a cosine similarity (one signal, one cut)."""

    threshold: float = 0.40

    def cluster(self, vectors: np.ndarray, languages: Sequence[str | None]) -> np.ndarray:
        n = len(vectors)
        if n < 2:
            return np.full(n, -1)
        from sklearn.cluster import AgglomerativeClustering

        model = AgglomerativeClustering(
            n_clusters=None,
            metric="cosine",
            linkage="average",
            distance_threshold=1.0 - self.threshold,
        )
        return model.fit_predict(vectors)


# -- names: what an article prints with a capital letter, and the years it mentions ---------

_WORD = re.compile(r"\w+", re.UNICODE)
# a new sentence (or headline line) starts after these; its first word is capitalised anyway
_SENTENCE = re.compile(r"(?<=[.!?:;\"”»])\s+|\n")
# capitalised in English but not names: they would tie unrelated events told the same week
_CALENDAR = frozenset(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    + ["january", "february", "march", "april", "may", "june", "july", "august"]
    + ["september", "october", "november", "december"]
)


@functools.lru_cache(maxsize=100_000)
def _fold(word: str) -> str:
    """Base letters, case-folded ("Hội An" and "Hoi An" meet; đ -> d)."""
    decomposed = unicodedata.normalize("NFD", word.casefold().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def name_terms(text: str) -> list[str]:
    """The names an article prints, as matching terms.

    Names are what tells two events of one kind apart (two rehab stories, two earthquakes,
    two toll-station disputes): a capitalised word that does not open a sentence, an
    all-capitals word (BOT, NATO), and four-digit numbers (years). Terms are folded, so the
    Vietnamese and English spellings of a place meet. A text in a script without case
    (Chinese, Thai, ...) has no such signal: its words stand in (Unicode word runs).
    """
    text = unicodedata.normalize("NFC", text)
    if text.lower() == text.upper():  # no letter with case at all: the words stand in
        return [w for w in _WORD.findall(text) if not w.isdigit()]
    terms: list[str] = []
    for sentence in _SENTENCE.split(text):
        for k, word in enumerate(_WORD.findall(sentence)):
            if word.isdigit():
                if len(word) == 4:
                    terms.append(word)
            elif (k > 0 and word[0].isupper()) or (len(word) > 1 and word.isupper()):
                folded = _fold(word)
                if len(folded) > 1 and folded not in _CALENDAR:
                    terms.append(folded)
    return terms


def name_vectors(texts: Sequence[str], evidence: float = 4.0):
    """TF-IDF rows of the names of each text (scipy CSR), shrunk when a text names little.

    Each row is divided by sqrt(|row|^2 + evidence * w^2) instead of |row| (w: the median
    weight of one name in the corpus): as if every article also named `evidence` things no
    other article names. A headline naming only "Quảng Ninh" then no longer looks identical,
    on names, to every other headline naming only "Quảng Ninh"; long texts are unaffected.
    """
    from scipy import sparse

    vocabulary: dict[str, int] = {}
    rows, cols, counts = [], [], []
    for r, text in enumerate(texts):
        for term, n in Counter(name_terms(text)).items():
            rows.append(r)
            cols.append(vocabulary.setdefault(term, len(vocabulary)))
            counts.append(n)
    shape = (len(texts), max(len(vocabulary), 1))
    matrix = sparse.csr_matrix((np.asarray(counts, dtype=np.float64), (rows, cols)), shape=shape)
    if matrix.nnz == 0:
        return matrix
    df = np.bincount(matrix.indices, minlength=shape[1])
    idf = np.log((1 + shape[0]) / (1 + df)) + 1.0
    matrix.data = (1.0 + np.log(matrix.data)) * idf[matrix.indices]
    floor = evidence * float(np.median(matrix.data)) ** 2
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel() + floor)
    return sparse.diags(1.0 / norms) @ matrix


@dataclass(frozen=True)
class TwoStageClustering:
    """The default: groups within each language on two signals, then bridges across languages.

    Stage one, per language: average-link clustering on a hybrid similarity,
    `dense_weight` x (cosine of the centred vectors) + the rest x (cosine of the names the
    articles print, see `name_vectors`), cut at `article_threshold`. Two signals must agree:
    two earthquakes, or two toll-station protests, read alike to a sentence model but name
    different places and people. Then each article left alone joins the group it fits best
    if its average similarity to that group reaches `article_threshold - lone_margin`:
    attaching one article costs at most one wrong membership, merging two groups can
    conflate two stories, so the second takes more evidence.

    Stage two bridges languages: groups that share no language merge when their dense
    centres agree to `centre_threshold - cross_language_bonus`, the same story told in two
    languages scoring lower than in one (on the demo outlets, after centring: 0.40 against
    0.61 on average). A bridge that would bring two groups of one language together is taken
    only if their articles reach the lone-article cut on the hybrid similarity, the bridge
    being the extra evidence. Lone articles do not bridge. Same-language groups are not
    merged again by their centres alone: on ECB+ that step merged the two events of one
    topic (B-cubed F1 0.833).

    Chosen, by a grid over the weight, the cuts, `lone_margin` and `name_evidence`, on the
    demo world, on the binhvq Vietnamese headlines labelled by hand
    (data/labelled/binhvq_title_stories.tsv) and on the odd-numbered ECB+ topics; the
    even-numbered ECB+ topics were held out. Through `mediawatch cluster`: B-cubed F1 0.930
    on the tuning topics, 0.930 on the held-out ones, 0.919 on all of ECB+ (TF-IDF at its
    oracle cut: 0.873), 0.915 on the Vietnamese headlines (TF-IDF oracle: 0.911); printed by
    bench/bench_narratives.py.
    """

    article_threshold: float = 0.45
    centre_threshold: float = 0.45
    cross_language_bonus: float = 0.15
    dense_weight: float = 0.75
    lone_margin: float = 0.10
    name_evidence: float = 4.0
    neighbours: int = 50  # candidate pairs per article (the cut decides, this bounds the work)

    def cluster(
        self,
        vectors: np.ndarray,
        languages: Sequence[str | None],
        texts: Sequence[str] | None = None,
    ) -> np.ndarray:
        n = len(vectors)
        labels = np.full(n, -1)
        if n == 0:
            return labels
        dense = np.asarray(vectors, dtype=np.float32)
        names = name_vectors(texts, self.name_evidence) if texts is not None else None
        weight = self.dense_weight if names is not None else 1.0
        codes = [lang or "?" for lang in languages]
        units: list[list[int]] = []
        for lang in sorted(set(codes)):
            rows = np.array([i for i, c in enumerate(codes) if c == lang])
            groups = _within_language(
                dense[rows],
                names[rows] if names is not None else None,
                weight,
                self.article_threshold,
                self.article_threshold - self.lone_margin,
                self.neighbours,
            )
            units += [[int(rows[i]) for i in g] for g in groups]
        # lone articles do not bridge: two of them in two languages are too weak a story
        bridged = _bridge_languages(
            [u for u in units if len(u) > 1],
            dense,
            names,
            weight,
            codes,
            self.centre_threshold - self.cross_language_bonus,
            self.article_threshold - self.lone_margin,
        )
        for k, rows in enumerate(bridged):
            if len(rows) > 1:
                labels[rows] = k
        return labels


def _within_language(dense, names, weight, threshold, lone_threshold, neighbours):
    """Groups (lists of row numbers, lone articles included) of one language's articles."""
    groups = _average_link(dense, names, weight, threshold, neighbours)
    lone = [g[0] for g in groups if len(g) == 1]
    kept = [g for g in groups if len(g) > 1]
    if not lone or not kept:
        return groups
    from scipy import sparse

    sizes = np.array([len(g) for g in kept], dtype=np.float64)
    member = sparse.csr_matrix(
        (
            np.ones(int(sizes.sum())),
            ([k for k, g in enumerate(kept) for _ in g], [row for g in kept for row in g]),
        ),
        shape=(len(kept), len(dense)),
    )
    dense_sums = member @ dense.astype(np.float64)
    name_sums = (member @ names).T.tocsr() if names is not None else None
    best = np.full(len(lone), -1)
    for start in range(0, len(lone), 1024):
        rows = lone[start : start + 1024]
        link = weight * (dense[rows] @ dense_sums.T)
        if name_sums is not None:
            link += (1 - weight) * (names[rows] @ name_sums).toarray()
        link /= sizes
        choice = np.argmax(link, axis=1)
        good = link[np.arange(len(rows)), choice] >= lone_threshold
        best[start : start + len(rows)] = np.where(good, choice, -1)
    for row, k in zip(lone, best.tolist(), strict=True):
        if k >= 0:
            kept[k].append(row)
    return [sorted(g) for g in kept] + [[row] for row, k in zip(lone, best, strict=True) if k < 0]


def _average_link(dense, names, weight, threshold, neighbours):
    """Average-link agglomeration cut at `threshold`, without an n x n matrix.

    The average similarity of two groups is linear in their members, so it is exact from
    per-group sums (dense: a vector; names: a sparse one). Candidate pairs are each article's
    `neighbours` most similar articles at or above the cut: two groups whose average reaches
    the cut always hold such a pair (unless a larger story crowds it out of every list).
    Ties are broken by row number, so the same input always gives the same groups.
    """
    m = len(dense)
    if m < 2:
        return [[i] for i in range(m)]
    names_t = names.T.tocsr() if names is not None else None
    pairs: dict[tuple[int, int], float] = {}
    for start in range(0, m, 512):
        stop = min(start + 512, m)
        sim = weight * (dense[start:stop] @ dense.T)
        if names_t is not None:
            sim += (1 - weight) * (names[start:stop] @ names_t).toarray()
        sim[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        if m - 1 > neighbours:
            top = np.argpartition(-sim, neighbours, axis=1)[:, :neighbours]
        else:
            top = np.broadcast_to(np.arange(m), (stop - start, m))
        for r, cols in enumerate(top):
            i = start + r
            for j in cols[sim[r, cols] >= threshold].tolist():
                pairs[(min(i, j), max(i, j))] = float(sim[r, j])
    size = [1] * m
    dense_sum = [dense[i].astype(np.float64) for i in range(m)]
    name_sum = [_row_dict(names, i) for i in range(m)] if names is not None else None
    near: list[set[int] | None] = [set() for _ in range(m)]
    heap = []
    for (i, j), s in pairs.items():
        near[i].add(j)
        near[j].add(i)
        heap.append((-s, i, j))
    heapq.heapify(heap)
    parent = list(range(m))
    alive = [True] * m
    while heap:
        _s, a, b = heapq.heappop(heap)
        if not (alive[a] and alive[b]):
            continue
        k = len(size)
        parent[a] = parent[b] = k
        parent.append(k)
        alive[a] = alive[b] = False
        alive.append(True)
        size.append(size[a] + size[b])
        dense_sum.append(dense_sum[a] + dense_sum[b])
        dense_sum[a] = dense_sum[b] = None
        if name_sum is not None:
            big, small = sorted((name_sum[a], name_sum[b]), key=len, reverse=True)
            for col, value in small.items():
                big[col] = big.get(col, 0.0) + value
            name_sum.append(big)
            name_sum[a] = name_sum[b] = None
        around = (near[a] | near[b]) - {a, b}
        near[a] = near[b] = None
        near.append(around)
        for c in sorted(around):
            near[c].discard(a)
            near[c].discard(b)
            near[c].add(k)
            pairs_of = size[k] * size[c]
            link = weight * float(dense_sum[k] @ dense_sum[c]) / pairs_of
            if name_sum is not None and link + (1 - weight) >= threshold:
                # (names add at most 1 - weight: below that, the cut is out of reach)
                x, y = sorted((name_sum[k], name_sum[c]), key=len)
                link += (1 - weight) * sum(v * y.get(col, 0.0) for col, v in x.items()) / pairs_of
            if link >= threshold:
                heapq.heappush(heap, (-link, c, k))
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(m):
        root = i
        while parent[root] != root:
            root = parent[root]
        groups[root].append(i)
    return sorted(groups.values())


def _row_dict(matrix, i: int) -> dict[int, float]:
    start, stop = matrix.indptr[i], matrix.indptr[i + 1]
    return dict(
        zip(matrix.indices[start:stop].tolist(), matrix.data[start:stop].tolist(), strict=True)
    )


def _bridge_languages(
    units: list[list[int]],
    dense: np.ndarray,
    names,
    weight: float,
    codes: Sequence[str],
    cut: float,
    same_language_cut: float,
) -> list[list[int]]:
    """Groups of different languages whose dense centres agree to `cut`, merged best first.

    A bridge that would bring two units of one language together (an English group and a
    Vietnamese group that tell one story, and a second English group the first was kept
    apart from) is taken only if those same-language articles reach `same_language_cut` on
    the hybrid average similarity: the lone-article cut, the bridge being the extra evidence.
    """
    if len(units) < 2 or len({codes[u[0]] for u in units}) < 2:
        return units
    centres = np.stack([dense[u].mean(axis=0) for u in units])
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    unit_language = [codes[u[0]] for u in units]
    candidates = []
    for start in range(0, len(units), 1024):
        sim = centres[start : start + 1024] @ centres.T
        rows, cols = np.nonzero(sim >= cut)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            a = start + r
            if a < c and unit_language[a] != unit_language[c]:
                candidates.append((-float(sim[r, c]), a, c))
    candidates.sort()
    root = list(range(len(units)))
    # per component and language: its rows there
    parts = [{lang: list(unit)} for lang, unit in zip(unit_language, units, strict=True)]

    def find(k: int) -> int:
        while root[k] != k:
            root[k] = root[root[k]]
            k = root[k]
        return k

    def agree(x: list[int], y: list[int]) -> bool:
        link = weight * float(dense[x].sum(axis=0) @ dense[y].sum(axis=0))
        if names is not None:
            link += (1 - weight) * float((names[x].sum(axis=0) @ names[y].sum(axis=0).T)[0, 0])
        return link / (len(x) * len(y)) >= same_language_cut

    for _s, a, b in candidates:
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        shared = parts[ra].keys() & parts[rb].keys()
        if all(agree(parts[ra][lang], parts[rb][lang]) for lang in sorted(shared)):
            root[rb] = ra
            for lang, rows in parts[rb].items():
                parts[ra][lang] = parts[ra].get(lang, []) + rows
    merged: dict[int, list[int]] = defaultdict(list)
    for k, unit in enumerate(units):
        merged[find(k)] += unit
    return [sorted(rows) for rows in merged.values()]


def center_by_language(
    vectors: np.ndarray, languages: Sequence[str | None], shrink: float = 20.0
) -> np.ndarray:
    """Remove each language's mean direction, then renormalise.

    E5 similarities are compressed and biased by language: two unrelated Vietnamese articles
    score about as high as the same story told in Vietnamese and English. Subtracting the
    per-language mean removes both effects (on the demo outlets, B-cubed F1 0.89 -> 0.92).
    A language with few articles borrows from the global mean (shrinkage), so five Chinese
    articles about one story do not erase that story.
    """
    if len(vectors) == 0:
        return vectors
    overall = vectors.mean(axis=0)
    centred = np.empty_like(vectors)
    codes = np.array([lang or "?" for lang in languages])
    for lang in np.unique(codes):
        rows = codes == lang
        n = int(rows.sum())
        mean = (vectors[rows].sum(axis=0) + shrink * overall) / (n + shrink)
        centred[rows] = vectors[rows] - mean
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    return centred / np.where(norms == 0, 1.0, norms)


@dataclass
class NarrativeResult:
    narratives: list[Narrative]
    centroids: dict[str, np.ndarray]
    lineage: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, from, to)
    unclustered: int = 0


def build_narratives(
    articles: Sequence[ArticleForAnalysis],
    vectors: np.ndarray,
    previous: dict[str, str] | None = None,
    strategy: ClusteringStrategy | None = None,
    min_articles: int = 2,
) -> NarrativeResult:
    """Group articles (rows of `vectors`, unit length) into narratives.

    `previous` maps article_id -> narrative_id from the last run, to keep identities stable.
    """
    strategy = strategy or TwoStageClustering()
    previous = previous or {}
    row_of = {a.article_id: i for i, a in enumerate(articles)}
    originals = [i for i, a in enumerate(articles) if not _copies_known(a, row_of)]
    spoken = [articles[i].language for i in originals]
    # copies weigh in nothing, not even in the language means
    space = center_by_language(vectors[originals], spoken)
    if not originals:
        labels = np.array([], dtype=int)
    elif _reads_texts(strategy):
        texts = [article_text(articles[i].title, articles[i].text) for i in originals]
        labels = strategy.cluster(space, spoken, texts=texts)
    else:
        labels = strategy.cluster(space, spoken)

    groups: dict[int, list[int]] = defaultdict(list)
    for row, label in zip(originals, labels, strict=True):
        if label >= 0:
            groups[int(label)].append(row)
    clusters = [rows for rows in groups.values() if len(rows) >= min_articles]
    # syndicated copies follow the article they copy
    cluster_of = {row: k for k, rows in enumerate(clusters) for row in rows}
    for i, article in enumerate(articles):
        if _copies_known(article, row_of):
            k = cluster_of.get(row_of[article.duplicate_of])
            if k is not None:
                clusters[k].append(i)

    ids, lineage = _carry_identity(clusters, articles, previous)
    narratives, centroids = [], {}
    keywords = _keywords(clusters, articles)
    for k, rows in enumerate(clusters):
        narrative, centroid = _describe(ids[k], rows, articles, vectors, keywords[k])
        narratives.append(narrative)
        centroids[narrative.narrative_id] = centroid
    narratives.sort(key=lambda n: n.narrative_id)
    clustered = sum(len(rows) for rows in clusters)
    return NarrativeResult(narratives, centroids, lineage, unclustered=len(articles) - clustered)


def _reads_texts(strategy: ClusteringStrategy) -> bool:
    try:
        return "texts" in inspect.signature(strategy.cluster).parameters
    except (TypeError, ValueError):
        return False


def _copies_known(article: ArticleForAnalysis, row_of: dict[str, int]) -> bool:
    return article.duplicate_of is not None and article.duplicate_of in row_of


def _first_published(rows: list[int], articles: Sequence[ArticleForAnalysis]) -> int:
    def key(i: int) -> tuple:
        a = articles[i]
        return (a.published_at is None, a.published_at or 0, a.article_id)

    return min(rows, key=key)


def _carry_identity(
    clusters: list[list[int]],
    articles: Sequence[ArticleForAnalysis],
    previous: dict[str, str],
) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Give each cluster the id of the previous narrative it inherits most members from.

    Larger clusters choose first; a previous id is used once. A cluster holding members of
    several previous narratives records merges; a previous narrative whose members now sit in
    several clusters records a split.
    """
    order = sorted(range(len(clusters)), key=lambda k: (-len(clusters[k]), min(clusters[k])))
    ids: list[str] = [""] * len(clusters)
    taken: set[str] = set()
    lineage: list[tuple[str, str, str]] = []
    spread: dict[str, set[int]] = defaultdict(set)
    for k in order:
        inherited = Counter(
            previous[articles[i].article_id]
            for i in clusters[k]
            if articles[i].article_id in previous
        )
        for old in inherited:
            spread[old].add(k)
        choice = next(
            (
                old
                for old, _n in sorted(inherited.items(), key=lambda kv: (-kv[1], kv[0]))
                if old not in taken
            ),
            None,
        )
        if choice is None:
            origin = articles[_first_published(clusters[k], articles)].article_id
            choice = stable_id("narrative", origin)
        taken.add(choice)
        ids[k] = choice
        lineage += [("merge", old, choice) for old in sorted(inherited) if old != choice]
    for old, ks in sorted(spread.items()):
        if len(ks) > 1:
            lineage += [("split", old, ids[k]) for k in sorted(ks) if ids[k] != old]
    return ids, sorted(set(lineage))


# Keywords are read from the headline and the lead: segmenting Vietnamese (pyvi) cost more
# than the clustering itself when it read 1,500 characters an article.
KEYWORD_CHARS = 600


def _keywords(clusters: list[list[int]], articles: Sequence[ArticleForAnalysis]) -> list[list[str]]:
    docs = [
        [
            (
                article_text(articles[i].title, articles[i].text[:KEYWORD_CHARS]),
                articles[i].language,
            )
            for i in rows
            if articles[i].duplicate_of is None
        ]
        for rows in clusters
    ]
    return class_tfidf_keywords(docs) if docs else []


def _describe(
    narrative_id: str,
    rows: list[int],
    articles: Sequence[ArticleForAnalysis],
    vectors: np.ndarray,
    keywords: list[str],
) -> tuple[Narrative, np.ndarray]:
    members = vectors[rows]
    centroid = members.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    similarity = members @ centroid
    medoid = rows[int(np.argmax(similarity))]
    origin = _first_published(rows, articles)
    dates = [articles[i].published_at for i in rows if articles[i].published_at is not None]
    narrative = Narrative(
        narrative_id=narrative_id,
        label=articles[medoid].title,
        keywords=keywords,
        article_ids=sorted(articles[i].article_id for i in rows),
        origin_article_id=articles[origin].article_id,
        first_seen_at=min(dates) if dates else None,
        last_seen_at=max(dates) if dates else None,
        representative_article_id=articles[medoid].article_id,
        similarities={
            articles[i].article_id: float(s) for i, s in zip(rows, similarity, strict=True)
        },
    )
    return narrative, centroid
