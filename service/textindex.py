"""Keyword side of the hybrid search: a small BM25 over short texts, in any script.

Tokens keep their diacritics; each word is also indexed folded (no diacritics, đ → d) so
"ngoc lan" finds "Ngọc Lan" (an exact match scores twice). Scripts written without spaces
(Chinese, Japanese, Thai, Lao, Khmer) are indexed as characters and character pairs.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Han, kana, Hangul syllables, Thai, Lao, Khmer: no spaces between words
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
_FOLD = str.maketrans({"đ": "d", "Đ": "d"})


def fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    out: list[str] = []
    for word in _WORD.findall(unicodedata.normalize("NFC", text).casefold()):
        if _UNSPACED.search(word):
            chars = list(word)
            out += chars + [a + b for a, b in zip(chars, chars[1:], strict=False)]
            continue
        out.append(word)
        out.append("~" + fold(word))
    return out


def query_tokens(text: str) -> list[str]:
    """Distinct query terms (a term said twice does not count twice)."""
    return list(dict.fromkeys(tokens(text)))


class BM25:
    """Okapi BM25 (k1=1.2, b=0.75) as a sparse document-term matrix of precomputed weights."""

    def __init__(self, documents: Iterable[str], k1: float = 1.2, b: float = 0.75) -> None:
        from scipy import sparse

        vocabulary: dict[str, int] = {}
        indptr = [0]
        indices: list[int] = []
        counts: list[int] = []
        lengths: list[int] = []
        for text in documents:
            bag = Counter(tokens(text))
            for term, n in bag.items():
                indices.append(vocabulary.setdefault(term, len(vocabulary)))
                counts.append(n)
            indptr.append(len(indices))
            lengths.append(sum(bag.values()))
        self.size = len(lengths)
        self.vocabulary = vocabulary
        if not vocabulary:
            self.matrix = None
            return
        tf = np.asarray(counts, dtype=np.float32)
        length = np.asarray(lengths, dtype=np.float32)
        rows = np.repeat(np.arange(self.size), np.diff(indptr))
        norm = k1 * (1 - b + b * length / max(float(length.mean()), 1e-9))
        cols = np.asarray(indices, dtype=np.int64)
        df = np.bincount(cols, minlength=len(vocabulary)).astype(np.float32)
        idf = np.log1p((self.size - df + 0.5) / (df + 0.5))
        weights = idf[cols] * tf * (k1 + 1) / (tf + norm[rows])
        self.matrix = sparse.csc_matrix(
            (weights, (rows, cols)), shape=(self.size, len(vocabulary)), dtype=np.float32
        )

    def scores(self, terms: Sequence[str]) -> np.ndarray | None:
        """A score per document, or None when no term of the query is in the index."""
        if self.matrix is None:
            return None
        columns = [self.vocabulary[t] for t in terms if t in self.vocabulary]
        if not columns:
            return None
        return np.asarray(self.matrix[:, columns].sum(axis=1), dtype=np.float32).ravel()
