"""Narrative keywords: class-based TF-IDF, each narrative one class against all the others.

Tokens keep their diacritics; Vietnamese syllables are also joined into bigrams so that
words like "xuất khẩu" survive as one keyword.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# Function words that c-TF-IDF alone does not push down in small corpora.
STOPWORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "from",
        "by",
        "at",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "will",
        "would",
        "could",
        "should",
        "not",
        "but",
        "also",
        "than",
        "then",
        "there",
        "their",
        "they",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "said",
        "says",
        "about",
        "after",
        "before",
        "over",
        "under",
        "into",
        "more",
        "most",
        "new",
        "one",
        "two",
        "three",
        "year",
        "years",
        "week",
        "weeks",
        "who",
        "which",
        "what",
        "when",
        "where",
        "while",
        "le",
        "la",
        "les",
        "un",
        "une",
        "des",
        "de",
        "du",
        "et",
        "ou",
        "en",
        "dans",
        "sur",
        "pour",
        "par",
        "avec",
        "au",
        "aux",
        "est",
        "sont",
        "été",
        "qui",
        "que",
        "ce",
        "ces",
        "cette",
        "il",
        "elle",
        "ils",
        "elles",
        "nous",
        "vous",
        "son",
        "sa",
        "ses",
        "leur",
        "leurs",
        "plus",
        "selon",
        "a",
        "pas",
        "ne",
        "và",
        "của",
        "là",
        "có",
        "các",
        "những",
        "được",
        "cho",
        "với",
        "trong",
        "này",
        "khi",
        "đã",
        "đang",
        "sẽ",
        "không",
        "một",
        "người",
        "từ",
        "đến",
        "cũng",
        "như",
        "về",
        "theo",
        "tại",
        "để",
        "thì",
        "mà",
        "nhưng",
        "ra",
        "vào",
        "lại",
        "rằng",
        "năm",
        "ngày",
        "nhiều",
    ]
)


def tokens(text: str, language: str | None) -> list[str]:
    if language == "vi":
        words = _vietnamese_words(text)
        if words is not None:
            return words
    words = [
        w
        for w in _WORD.findall(unicodedata.normalize("NFC", text).lower())
        if w not in STOPWORDS and len(w) > 1
    ]
    if language == "vi":
        # no segmenter: Vietnamese words are often two syllables, keep syllable pairs too.
        return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    if language in ("zh", "ja", "ko", "th", "lo", "km"):
        return words
    return [w for w in words if len(w) > 2]


def _vietnamese_words(text: str) -> list[str] | None:
    """Words as the enrichment segments them (pyvi: "xuất khẩu", "Trung Quốc"), lower-cased,
    diacritics kept; None when the segmenter is not installed."""
    try:
        words = _segmented(text)
    except ImportError:
        return None
    return list(words)


@functools.lru_cache(maxsize=20_000)
def _segmented(text: str) -> tuple[str, ...]:
    """Kept words of a Vietnamese text, remembered: each analysis run re-reads the keywords
    of every narrative in its window, and pyvi is the slow part."""
    from nlp.enrich import segment

    words = segment(text, "vi")
    kept = []
    for word in words:
        word = word.lower()
        syllables = word.split()
        if all(_WORD.fullmatch(x) for x in syllables) and word not in STOPWORDS and len(word) > 1:
            kept.append(word)
    return tuple(kept)


def class_tfidf_keywords(
    classes: Sequence[Sequence[tuple[str, str | None]]], top: int = 8
) -> list[list[str]]:
    """Top keywords per class; each class is a list of (text, language) documents."""
    counts = [Counter(t for text, lang in docs for t in tokens(text, lang)) for docs in classes]
    totals = Counter()
    for c in counts:
        totals.update(c)
    average_words = sum(sum(c.values()) for c in counts) / max(len(counts), 1)
    keywords = []
    for c in counts:
        size = sum(c.values()) or 1
        scored = {
            term: (n / size) * math.log(1 + average_words / totals[term])
            for term, n in c.items()
            if n >= 2
        }
        ranked = sorted(scored, key=lambda term: (-scored[term], term))
        keywords.append(_drop_contained(ranked, top))
    return keywords


def _drop_contained(ranked: list[str], top: int) -> list[str]:
    """The first `top` terms, skipping a syllable when a kept bigram already holds it, and
    vice versa."""
    kept: list[tuple[str, set[str]]] = []
    for term in ranked:
        if len(kept) == top:
            break
        parts = set(term.split())
        if any(parts <= k or k <= parts for _, k in kept):
            continue
        kept.append((term, parts))
    return [term for term, _ in kept]
