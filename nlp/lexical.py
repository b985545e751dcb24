"""The lexical side of library matching: one tokenizer for every script, and BM25 (bm25s).

Tokens are built so that the same words meet whatever the spelling habits of the writer:

- text is NFC-normalised and case-folded; web clutter (URLs, `pic.twitter.com/…` links) is
  dropped; `#hashTags` and `@camelCaseNames` are split into words;
- Latin, Cyrillic, Greek … words are folded to their base letters (Vietnamese `xuất khẩu`
  and the `xuat khau` people type on phones meet; `đ` folds to `d`) and words of plain
  ASCII are stemmed with the English Snowball stemmer (`exports` and `export` meet);
- Vietnamese writes one syllable per space-separated token, so a word of two syllables is
  two tokens: every pair of neighbouring tokens is also a token (`xuat_khau`), which gives
  Vietnamese compounds (and English phrases) their own weight without a segmenter;
- scripts written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar …) become
  overlapping character pairs;
- a short list of function words in English, Vietnamese and French is left out.

The tokens are for matching only: nothing folded is ever stored or shown.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

TOKENIZER_VERSION = "lex1"

_URL = re.compile(r"(?:https?://|www\.|pic\.twitter\.com/)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"[#@](\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)")
_WORD = re.compile(r"\w+")

# Unicode ranges of scripts written without spaces between words.
_UNSPACED = re.compile(
    "["
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "]"
)

# Function words (case-folded, before diacritics are folded). Short on purpose: BM25's IDF
# handles the rest.
STOPWORDS = frozenset(
    [
        # English
        "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "has",
        "have", "he", "her", "his", "i", "if", "in", "into", "is", "it", "its", "me", "my",
        "of", "on", "or", "our", "she", "so", "than", "that", "the", "their", "them", "there",
        "these", "they", "this", "those", "to", "us", "was", "we", "were", "what", "when",
        "where", "which", "who", "will", "with", "would", "you", "your",
        # Vietnamese (with its marks: folded, "đá" and "đã" would be one word)
        "là", "của", "và", "có", "được", "cho", "các", "những", "trong", "này", "không", "đã",
        "sẽ", "với", "để", "thì", "mà", "như", "tại", "từ", "ra", "vào", "một", "cũng", "rằng",
        "lại", "nên", "khi",
        # French
        "le", "les", "des", "du", "de", "la", "et", "en", "un", "une", "au", "aux", "est",
        "sont", "pour", "par", "sur", "dans", "que", "qui", "ne", "pas",
    ]
)


@functools.cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=200_000)
def _fold(word: str) -> str:
    """Base letters of a (case-folded) word: diacritics off, đ -> d."""
    decomposed = unicodedata.normalize("NFD", word.replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.lru_cache(maxsize=200_000)
def _term(word: str) -> str:
    """The matching term of a word; "" for function words and lone letters or digits."""
    if word in STOPWORDS:
        return ""
    folded = _fold(word)
    if len(folded) < 2:
        return ""
    if folded.isascii() and folded.isalpha() and len(folded) > 3:
        return _stemmer().stemWord(folded)
    return folded


def _split_handle(match: re.Match) -> str:
    return " " + _CAMEL.sub(" ", match.group(1)) + " "


def strip_clutter(text: str) -> str:
    """A post without its web clutter: NFC, links dropped, `#hashTags` and `@camelCaseNames`
    split into words, spaces collapsed. What both sides of the matcher read of a query."""
    text = unicodedata.normalize("NFC", text)
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(_split_handle, text)
    return " ".join(text.split())


def tokenize(text: str) -> list[str]:
    """Matching tokens of one text: terms, then neighbouring-term pairs, then script pairs."""
    text = strip_clutter(text)
    terms: list[str] = []
    pairs: list[str] = []
    run: list[str] = []  # terms of the current stretch of spaced words

    def close_run() -> None:
        pairs.extend(f"{a}_{b}" for a, b in zip(run, run[1:], strict=False))
        run.clear()

    for raw in _WORD.findall(text.casefold()):
        if _UNSPACED.search(raw):
            close_run()
            pairs.extend(_script_pairs(raw))
            continue
        if raw.isdigit() and len(raw) > 4:
            close_run()
            continue
        term = _term(raw)
        if not term:
            continue
        terms.append(term)
        run.append(term)
    close_run()
    return terms + pairs


def _script_pairs(run: str) -> list[str]:
    """Overlapping character pairs of a stretch in a script without spaces (lone chars kept)."""
    chars = [c for c in run if not c.isspace()]
    if len(chars) == 1:
        return chars
    out = []
    for a, b in zip(chars, chars[1:], strict=False):
        if _UNSPACED.match(a) or _UNSPACED.match(b):
            out.append(a + b)
    return out


def tokenize_many(texts: Sequence[str]) -> list[list[str]]:
    return [tokenize(t) for t in texts]


class LexicalIndex:
    """BM25 (bm25s, Lucene variant) over the library's rows (titles and claim phrasings)."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.model = None
        self.rows = 0
        self.token_max = np.zeros(0, dtype=np.float32)  # best score of each term in any row
        self.unknown_mass = 1.0

    def _prepare(self) -> None:
        """Per term, the most it adds to any row: what a query could at best match."""
        if self.model is None:
            return
        scores = self.model.scores
        data, indptr = np.asarray(scores["data"]), np.asarray(scores["indptr"])
        best = np.zeros(len(indptr) - 1, dtype=np.float32)
        filled = np.flatnonzero(np.diff(indptr) > 0)
        if len(filled):
            best[filled] = np.maximum.reduceat(data, indptr[filled])
        self.token_max = best
        # a word the library never uses is taken to be as telling as its rarest word
        self.unknown_mass = float(best.max()) if len(best) and best.max() > 0 else 1.0

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        import logging

        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each build at DEBUG
        index = cls(k1, b)
        index.rows = len(texts)
        if texts:
            tokens = tokenize_many(texts)
            # an empty row still needs one token for bm25s; it matches nothing
            tokens = [t if t else ["\x00"] for t in tokens]
            index.model = bm25s.BM25(k1=k1, b=b, method="lucene")
            index.model.index(tokens, show_progress=False)
            index._prepare()
        return index

    def query_mass(self, tokens: Sequence[str]) -> float:
        """The most BM25 a query could score against one row if that row held all its terms:
        the sum of each term's best score in the library, unknown terms counting as the
        rarest known one. BM25 divided by it is the share of the query that a row matches,
        between 0 and 1 whatever the query's length or the library's size."""
        if self.model is None or not tokens:
            return 0.0
        vocab = self.model.vocab_dict
        return float(
            sum(self.token_max[vocab[t]] if t in vocab else self.unknown_mass for t in tokens)
        )

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 of one tokenized query against every row (zeros when nothing is shared)."""
        if self.model is None:
            return np.zeros(self.rows, dtype=np.float32)
        vocab = self.model.vocab_dict
        ids = [vocab[t] for t in tokens if t in vocab]
        if not ids:
            return np.zeros(self.rows, dtype=np.float32)
        return np.asarray(self.model.get_scores_from_ids(ids), dtype=np.float32)

    def top_rows(self, tokens: Sequence[str], scores: np.ndarray, k: int) -> np.ndarray:
        """The (at most) k rows with the best BM25 for these tokens, best first.

        Candidates are the rows that hold one of the query's rarer terms (in at most a tenth
        of the rows): partitioning the whole, mostly-zero score vector is slow, and a row
        that shares only very common terms with the query does not make the top k unless
        nothing better exists (then the whole vector is used).
        """
        if self.model is None or k <= 0:
            return np.zeros(0, dtype=np.int64)
        vocab = self.model.vocab_dict
        ids = sorted({vocab[t] for t in tokens if t in vocab})
        if not ids:
            return np.zeros(0, dtype=np.int64)
        indptr = self.model.scores["indptr"]
        indices = self.model.scores["indices"]
        common = max(k, self.rows // 10)
        rare = [t for t in ids if indptr[t + 1] - indptr[t] <= common]
        if rare:
            rows = np.concatenate([indices[indptr[t] : indptr[t + 1]] for t in rare])
        else:
            rows = np.flatnonzero(scores)
        rows = rows.astype(np.int64, copy=False)
        if len(rows) > 4 * k:  # a row holding several terms appears once per term
            rows = rows[np.argpartition(-scores[rows], 4 * k - 1)[: 4 * k]]
        rows = np.unique(rows)
        rows = rows[scores[rows] > 0]
        return rows[np.argsort(-scores[rows], kind="stable")][:k]

    def save(self, folder) -> None:
        if self.model is not None:
            self.model.save(str(folder), allow_pickle=False)

    @classmethod
    def load(cls, folder, rows: int, k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        import logging

        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each build at DEBUG
        index = cls(k1, b)
        index.rows = rows
        if rows:
            index.model = bm25s.BM25.load(str(folder), mmap=False)
            index._prepare()
        return index
