"""Duplicate articles: exact copies and near-copies (syndication) across outlets.

`find_duplicates(articles)` maps each copy's id to the id of the earliest article it
copies (always an original: copies of copies point to the first one, so the mapping is
flat). "Earliest" is by publication time, then id, so the answer does not depend on the
order articles arrive in, and a fixed MinHash seed makes it the same on every machine.

How a copy is recognised, cheapest first:
1. the same content hash (same title and text), or the same text under another title;
2. a near-copy: the body's word shingles (3 words; NFC, case-folded) mostly contained in
   another's. Candidates come from MinHash LSH; each is then verified exactly.

The measure is the *containment of the shorter text* in the longer one (the overlap
coefficient), not Jaccard: a wire story re-published with a new first paragraph, or cut
short, is a copy, yet its Jaccard falls fast (a 10% change gives Jaccard ~0.82, a 20%
change ~0.67). Containment treats those as copies while two different stories on the same
subject still share only a few shingles. LSH finds pairs whose Jaccard is above about 0.5,
so a text less than half the length of the one it copies is not looked for.

Scripts written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar) are split
into characters, so their shingles are character trigrams; Vietnamese syllables are
space-separated and need nothing special.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime

from datasketch import MinHash, MinHashLSH

from mediawatch.records import Article

SHINGLE_SIZE = 3
NUM_PERM = 128
SEED = 20261123  # fixed: the same signatures on every run and machine
CANDIDATE_JACCARD = 0.5  # LSH recall floor; verification decides
MIN_SHINGLES = 8  # shorter texts are only matched exactly
_NO_SPACE_SCRIPTS = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
)
_TOKEN_RE = re.compile(rf"[{_NO_SPACE_SCRIPTS}]|[^\W{_NO_SPACE_SCRIPTS}]+")


def find_duplicates(articles: list[Article], *, threshold: float = 0.8) -> dict[str, str]:
    """{copy's article_id: id of the earliest article it copies}; originals are absent."""
    index = DuplicateIndex(threshold=threshold)
    duplicates: dict[str, str] = {}
    for article in sorted(articles, key=publication_order):
        original = index.add(article.article_id, article.text, content_hash=article.content_hash)
        if original is not None:
            duplicates[article.article_id] = original
    return duplicates


def publication_order(article: Article) -> tuple[bool, datetime, str]:
    """Earliest published first; undated articles after dated ones, by fetch time; then id."""
    when = article.published_at or article.fetched_at
    return (article.published_at is None, when, article.article_id)


class DuplicateIndex:
    """Articles added in publication order; `add` says which earlier one a text copies.

    Kept as a class so that a later run can keep one open over the store's recent articles
    and check new ones incrementally.
    """

    def __init__(self, *, threshold: float = 0.8, num_perm: int = NUM_PERM) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.num_perm = num_perm
        # false negatives cost a missed copy, false positives only a verification
        self._lsh = MinHashLSH(threshold=CANDIDATE_JACCARD, num_perm=num_perm, weights=(0.1, 0.9))
        self._order: dict[str, int] = {}
        self._shingles: dict[str, frozenset[str]] = {}
        self._original: dict[str, str] = {}
        self._by_hash: dict[str, str] = {}
        self._by_text: dict[str, str] = {}

    def add(self, article_id: str, text: str, *, content_hash: str | None = None) -> str | None:
        """Index one article; the id of the original it copies, or None if it is new."""
        if article_id in self._order:  # the same article twice: nothing to learn
            return self._original.get(article_id)
        self._order[article_id] = len(self._order)
        text_key = _text_key(text)
        original = self._exact(content_hash, text_key)
        shingles = shingle(text)
        if original is None and len(shingles) >= MIN_SHINGLES:
            original = self._near(shingles)
        self._remember(article_id, content_hash, text_key, shingles)
        if original is not None:
            original = self._original.get(original, original)  # flatten chains
            self._original[article_id] = original
        return original

    def _exact(self, content_hash: str | None, text_key: str | None) -> str | None:
        if content_hash and content_hash in self._by_hash:
            return self._by_hash[content_hash]
        if text_key and text_key in self._by_text:
            return self._by_text[text_key]
        return None

    def _near(self, shingles: frozenset[str]) -> str | None:
        candidates = self._lsh.query(minhash(shingles, self.num_perm))
        verified = [
            candidate
            for candidate in candidates
            if containment(shingles, self._shingles[candidate]) >= self.threshold
        ]
        return min(verified, key=self._order.__getitem__, default=None)

    def _remember(
        self, article_id: str, content_hash: str | None, text_key: str | None, shingles: frozenset
    ) -> None:
        if content_hash:
            self._by_hash.setdefault(content_hash, article_id)
        if text_key:
            self._by_text.setdefault(text_key, article_id)
        if len(shingles) >= MIN_SHINGLES:
            self._shingles[article_id] = shingles
            self._lsh.insert(article_id, minhash(shingles, self.num_perm))


# --------------------------------------------------------------------------- text features


def tokens(text: str) -> list[str]:
    """NFC, case-folded words; characters for scripts written without spaces."""
    return _TOKEN_RE.findall(unicodedata.normalize("NFC", text).casefold())


def shingle(text: str, size: int = SHINGLE_SIZE) -> frozenset[str]:
    words = tokens(text)
    if len(words) < size:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def minhash(shingles: Iterable[str], num_perm: int = NUM_PERM) -> MinHash:
    signature = MinHash(num_perm=num_perm, seed=SEED)
    signature.update_batch([item.encode("utf-8") for item in shingles])
    return signature


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    """|A ∩ B| / min(|A|, |B|): how much of the shorter text the longer one contains."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _text_key(text: str) -> str | None:
    words = tokens(text)
    if not words:
        return None
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()
