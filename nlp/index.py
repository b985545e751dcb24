"""The library's search indexes: faiss over phrasing vectors, BM25 over phrasing tokens.

One row per phrasing: each entry's title and every claim. Rows of one entry are contiguous,
so an entry's score is a max over a slice. The dense index is exact (`IndexFlatIP`) up to
`FLAT_MAX_ROWS` rows and HNSW past it (bench/bench_matching.py measures where flat search
stops paying: see the figures there). Vectors are unit length, so inner product is cosine.

Both indexes are saved under a folder named by the library version: a hash of the index
format, the tokenizer, the embedding model and every entry's id, version and phrasings.
Loading a library whose version has a folder skips embedding altogether; any change to an
entry (a new phrasing, a new version) gives a new version and a rebuild.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlp.lexical import TOKENIZER_VERSION, LexicalIndex

log = logging.getLogger("mediawatch")

INDEX_FORMAT = "mwlib4"
# Exact search up to this many rows, HNSW past it. Measured (bench/bench_matching.py, 2
# cores, 384 dimensions, batches of 10,000 queries, 100 rows each): flat search costs about
# 0.0036 ms per query per 1,000 rows (0.73 ms/query at 200,000 rows); HNSW 0.16 ms/query
# there, recall@10 0.988 against flat, but about 28 s more to build. HNSW repays its build
# only after ~50,000 queries per library version, and up to 200,000 rows flat search stays
# well under the cost of embedding one query (2.5-10 ms), so flat is exact and no slower in
# use up to here.
FLAT_MAX_ROWS = 200_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
# Versions of the index kept on disk (older folders are removed when a new one is built).
KEEP_VERSIONS = 4


@dataclass(frozen=True)
class Rows:
    """The phrasing rows of a library, in entry order."""

    texts: list[str]
    entry: np.ndarray  # row -> entry position
    start: np.ndarray  # entry position -> first row
    stop: np.ndarray  # entry position -> one past its last row


def library_rows(phrasings: Sequence[Sequence[str]]) -> Rows:
    texts: list[str] = []
    entry, start, stop = [], [], []
    for k, rows in enumerate(phrasings):
        start.append(len(texts))
        for text in rows:
            texts.append(text)
            entry.append(k)
        stop.append(len(texts))
    return Rows(
        texts,
        np.asarray(entry, dtype=np.int64),
        np.asarray(start, dtype=np.int64),
        np.asarray(stop, dtype=np.int64),
    )


def library_version(
    entries: Sequence[tuple[str, str, Sequence[str]]], model_id: str
) -> str:
    """Hash of what the index depends on: format, tokenizer, model, entries and phrasings."""
    digest = hashlib.sha256()
    digest.update(f"{INDEX_FORMAT}\x1e{TOKENIZER_VERSION}\x1e{model_id}\x1e".encode())
    for entry_id, version, phrasings in sorted(entries, key=lambda e: e[0]):
        digest.update(f"{entry_id}\x1f{version}\x1f".encode())
        digest.update("\x1f".join(phrasings).encode())
        digest.update(b"\x1e")
    return digest.hexdigest()[:16]


class DenseIndex:
    """faiss inner-product search over unit vectors, with the vectors kept for rescoring."""

    def __init__(self, index, dimension: int) -> None:
        self.index = index
        self.dimension = dimension

    @property
    def kind(self) -> str:
        return "hnsw" if "HNSW" in type(self.index).__name__ else "flat"

    @classmethod
    def build(
        cls, vectors: np.ndarray, kind: str | None = None, flat_max_rows: int = FLAT_MAX_ROWS
    ) -> DenseIndex:
        """Exact search up to `flat_max_rows` rows, HNSW past it, unless `kind` says."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dimension = vectors.shape
        kind = kind or ("flat" if n <= flat_max_rows else "hnsw")
        if kind == "flat":
            index = faiss.IndexFlatIP(dimension)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        else:
            raise ValueError(f"unknown index kind {kind!r} (flat or hnsw)")
        if n:
            index.add(vectors)
        built = cls(index, dimension)
        built.configure()
        return built

    def configure(self) -> None:
        if self.kind == "hnsw":
            self.index.hnsw.efSearch = HNSW_EF_SEARCH

    @property
    def vectors(self) -> np.ndarray:
        """The stored vectors, as a view (no copy)."""
        import faiss

        flat = self.index if self.kind == "flat" else faiss.downcast_index(self.index.storage)
        n = flat.ntotal
        if n == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return faiss.rev_swig_ptr(flat.get_xb(), n * self.dimension).reshape(n, self.dimension)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = min(k, self.index.ntotal)
        if k <= 0 or len(queries) == 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        if self.kind == "hnsw":
            self.index.hnsw.efSearch = max(HNSW_EF_SEARCH, k)
        return self.index.search(queries, k)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        import faiss

        index = faiss.read_index(str(path))
        loaded = cls(index, index.d)
        loaded.configure()
        return loaded


@dataclass
class BuiltIndex:
    version: str
    rows: Rows
    dense: DenseIndex
    lexical: LexicalIndex
    languages: np.ndarray  # each row's language code ("" when too short to tell)
    loaded_from_disk: bool = False
    seconds: float = 0.0


def row_languages(texts: Sequence[str]) -> np.ndarray:
    """Each row's language where it is sure ("" otherwise: such a row is never taken to be
    in another language than the query, nlp/language.py `identify_for_matching`)."""
    from nlp.language import identify_for_matching

    return np.array([identify_for_matching(t) or "" for t in texts], dtype=object)


def build_index(rows: Rows, vectors: np.ndarray, version: str, kind: str | None = None):
    started = time.perf_counter()
    dense = DenseIndex.build(vectors, kind)
    lexical = LexicalIndex.build(rows.texts)
    languages = row_languages(rows.texts)
    return BuiltIndex(
        version, rows, dense, lexical, languages, seconds=time.perf_counter() - started
    )


def save_index(built: BuiltIndex, cache_dir: Path, model_id: str, entry_ids: list[str]) -> Path:
    """Write the index under cache_dir/<version>/ (atomically: a temp folder, then rename)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    final = cache_dir / built.version
    if final.exists():
        return final
    temp = cache_dir / f".{built.version}.{os.getpid()}.tmp"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    built.dense.save(temp / "dense.faiss")
    built.lexical.save(temp / "lexical")
    (temp / "languages.json").write_text(json.dumps(built.languages.tolist()), encoding="utf-8")
    meta = {
        "format": INDEX_FORMAT,
        "tokenizer": TOKENIZER_VERSION,
        "model_id": model_id,
        "version": built.version,
        "kind": built.dense.kind,
        "entries": entry_ids,
        "rows": len(built.rows.texts),
        "row_entry_counts": np.diff(np.r_[built.rows.start, len(built.rows.texts)]).tolist()
        if len(built.rows.start)
        else [],
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (temp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    try:
        temp.rename(final)
    except OSError:  # another process saved the same version meanwhile
        shutil.rmtree(temp, ignore_errors=True)
    _prune(cache_dir, keep=built.version)
    return final


def load_index(rows: Rows, cache_dir: Path, version: str, entry_ids: list[str]):
    """The saved index of this library version, or None (missing, partial or mismatched)."""
    folder = cache_dir / version
    if not (folder / "meta.json").exists():
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if (
            meta.get("format") != INDEX_FORMAT
            or meta.get("version") != version
            or meta.get("entries") != entry_ids
            or meta.get("rows") != len(rows.texts)
        ):
            return None
        started = time.perf_counter()
        dense = DenseIndex.load(folder / "dense.faiss")
        lexical = LexicalIndex.load(folder / "lexical", len(rows.texts))
        languages = json.loads((folder / "languages.json").read_text(encoding="utf-8"))
        if len(languages) != len(rows.texts):
            raise ValueError("languages do not match the rows")
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        log.warning("library index %s unreadable, rebuilding: %s", folder, exc)
        return None
    if dense.index.ntotal != len(rows.texts):
        return None
    os.utime(folder)  # recently used: kept by _prune
    return BuiltIndex(
        version, rows, dense, lexical, np.array(languages, dtype=object),
        loaded_from_disk=True, seconds=time.perf_counter() - started,
    )


def _prune(cache_dir: Path, keep: str) -> None:
    folders = [p for p in cache_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [p for p in folders if p.name != keep][KEEP_VERSIONS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
