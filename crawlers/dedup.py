"""Duplicate articles: exact copies and near-copies (syndication) across outlets.

`find_duplicates(articles)` maps each copy's id to the id of the earliest article it
copies (always an original: copies of copies point to the first one, so the mapping is
flat). "Earliest" is by publication time, then id, so the answer does not depend on the
order articles arrive in, and a fixed MinHash seed makes it the same on every machine.

How a copy is recognised, cheapest first:
1. the same content hash (same title and text), or the same text under another title;
2. a near-copy: most of the body's word shingles (3 words; NFC, case-folded) found in
   another body *in the same order*. Candidates come from MinHash LSH; each is then
   verified exactly.

The measure, `ordered_containment`, is the share of the shorter text's shingles that the
longer one contains in the same order (their longest common subsequence). Why not Jaccard:
a wire story re-published with a new lead, a new dateline or a tagline, or cut short, is a
copy, yet its Jaccard falls fast (10% changed gives ~0.82, 20% ~0.67), while the share of
the shorter text that was copied stays high. Why in order: a copy reproduces the text as
it runs, with edits at the edges; articles that merely reuse the same passages (a press
release quoted by several outlets) put them in their own order, and are different
articles. LSH finds pairs whose Jaccard is above about 0.5, so a text less than half the
length of the one it copies is not looked for.

Scripts written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar) are split
into characters, so their shingles are character trigrams; Vietnamese syllables are
space-separated and need nothing special.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from mediawatch.records import Article

if TYPE_CHECKING:
    from datasketch import MinHash

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
        # imported here: datasketch takes over a second to import (its asyncio extras)
        from datasketch import MinHashLSH

        self.threshold = threshold
        self.num_perm = num_perm
        # false negatives cost a missed copy, false positives only a verification
        self._lsh = MinHashLSH(threshold=CANDIDATE_JACCARD, num_perm=num_perm, weights=(0.1, 0.9))
        self._order: dict[str, int] = {}
        self._shingles: dict[str, tuple[str, ...]] = {}
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
        shingles = shingle_sequence(text)
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

    def _near(self, shingles: tuple[str, ...]) -> str | None:
        candidates = self._lsh.query(minhash(shingles, self.num_perm))
        verified = [
            candidate
            for candidate in candidates
            if ordered_containment(shingles, self._shingles[candidate]) >= self.threshold
        ]
        return min(verified, key=self._order.__getitem__, default=None)

    def _remember(
        self,
        article_id: str,
        content_hash: str | None,
        text_key: str | None,
        shingles: tuple[str, ...],
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


def shingle_sequence(text: str, size: int = SHINGLE_SIZE) -> tuple[str, ...]:
    """The text's distinct word shingles in the order they first occur."""
    words = tokens(text)
    if len(words) < size:
        return (" ".join(words),) if words else ()
    grams = (" ".join(words[i : i + size]) for i in range(len(words) - size + 1))
    return tuple(dict.fromkeys(grams))


def shingle(text: str, size: int = SHINGLE_SIZE) -> frozenset[str]:
    return frozenset(shingle_sequence(text, size))


def minhash(shingles: Iterable[str], num_perm: int = NUM_PERM) -> MinHash:
    from datasketch import MinHash

    signature = MinHash(num_perm=num_perm, seed=SEED)
    signature.update_batch([item.encode("utf-8") for item in shingles])
    return signature


def containment(a: Iterable[str], b: Iterable[str]) -> float:
    """|A ∩ B| / min(|A|, |B|): how much of the shorter text the longer one contains."""
    set_a, set_b = frozenset(a), frozenset(b)
    if not set_a or not set_b:
        return 0.0
    return len(set_a & set_b) / min(len(set_a), len(set_b))


def ordered_containment(a: Sequence[str], b: Sequence[str]) -> float:
    """Like `containment`, counting only shingles shared in the same order (LCS).

    Shingles are distinct within a sequence, so the longest common subsequence is the
    longest increasing run of B-positions taken in A's order (O(n log n)).
    """
    if not a or not b:
        return 0.0
    position = {item: index for index, item in enumerate(b)}
    return _longest_increasing([position[item] for item in a if item in position]) / min(
        len(a), len(b)
    )


def _longest_increasing(values: list[int]) -> int:
    tails: list[int] = []  # tails[k]: smallest last value of an increasing run of length k+1
    for value in values:
        slot = bisect.bisect_left(tails, value)
        if slot == len(tails):
            tails.append(value)
        else:
            tails[slot] = value
    return len(tails)


def _text_key(text: str) -> str | None:
    words = tokens(text)
    if not words:
        return None
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()
