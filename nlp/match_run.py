"""What `mediawatch match` does: one text, or a query file to a TREC run.

The library is the vetted Markdown library (settings.library_dir) unless `library` names
another: a JSONL file (`{"id", "title", "claims": [...]}` lines are enough), ClaimReview
JSON-LD, or a folder of entry files. Retired entries are never matched; drafts and entries
in review are matched and flagged, as the console shows them. The index is saved under
work_dir/library_index by library version, so a second run on the same library embeds
only the queries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from nlp.trec import QueryFileError, read_queries, write_run

# queries embedded and scored per batch (bounds memory with very large query files)
BATCH = 2048


class MatchInputError(ValueError):
    """Bad input to `mediawatch match` (query file, library, options): one clear line."""


@dataclass
class LoadedLibrary:
    index: Any  # nlp.match.LibraryIndex
    entries: dict[str, Any]  # entry id -> RebuttalEntry
    source: str


def load_entries(library: Path | None, library_dir: Path, today: date) -> tuple[list, str]:
    from rebuttal_library.exchange import import_entries
    from rebuttal_library.validate import LibraryError, load_library

    path = Path(library) if library is not None else Path(library_dir)
    try:
        if path.is_dir():
            entries = load_library(path, today)
        elif path.is_file():
            entries = import_entries(path)
        else:
            raise MatchInputError(f"library {path} does not exist")
    except LibraryError as exc:
        first = exc.errors[0] if exc.errors else exc.problems[0]
        more = len(exc.errors) - 1
        raise MatchInputError(
            f"library {path}: {first}" + (f" (and {more} more problems)" if more > 0 else "")
        ) from exc
    return entries, str(path)


def load_library_index(settings: Any, library: Path | None, today: date) -> LoadedLibrary:
    from nlp.embed import load_embedder
    from nlp.match import LibraryIndex, library_items

    entries, source = load_entries(library, settings.library_dir, today)
    items = library_items(entries)
    if not items:
        raise MatchInputError(f"library {source} has no entry to match (empty, or all retired)")
    embedder = load_embedder(
        settings.embedding_model, settings.models_dir, settings.embedding_batch_size
    )
    index = LibraryIndex(items, embedder, cache_dir=Path(settings.work_dir) / "library_index")
    return LoadedLibrary(index, {e.id: e for e in entries}, source)


def candidate_views(
    candidates: list, loaded: LoadedLibrary, threshold: float, today: date
) -> list[dict[str, Any]]:
    views = []
    for rank, c in enumerate(candidates, start=1):
        entry = loaded.entries[c.entry_id]
        views.append(
            {
                "rank": rank,
                "entry_id": c.entry_id,
                "entry_version": c.entry_version,
                "score": round(c.score, 4),
                "above_threshold": c.score >= threshold,
                "fused": round(c.fused, 4),
                "dense": round(c.dense, 4),
                "lexical": round(c.lexical, 4),
                "margin": round(c.margin, 4),
                "type": entry.type,
                "status": entry.status,
                "usable": entry.is_usable(today),
                "expired": entry.is_expired(today),
                "title": entry.title,
            }
        )
    return views


def match_one(text: str, settings: Any, library: Path | None, top_k: int, today: date) -> dict:
    if not text.strip():
        raise MatchInputError("the text to match is empty")
    loaded = load_library_index(settings, library, today)
    candidates = loaded.index.search_texts([text], top_k)[0]
    return {
        "text": text,
        "threshold": settings.match_threshold,
        "library": loaded.source,
        "library_version": loaded.index.version,
        "calibrated": loaded.index.calibration.calibrated,
        "candidates": candidate_views(candidates, loaded, settings.match_threshold, today),
    }


def match_file(
    queries: Path,
    output: Path,
    settings: Any,
    library: Path | None,
    top_k: int,
    today: date,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Match every query of a `qid<TAB>text` file; write a TREC run. Returns counts."""
    started = time.perf_counter()
    try:
        found = read_queries(queries)
    except QueryFileError as exc:
        raise MatchInputError(str(exc)) from exc
    if output.exists() and output.is_dir():
        raise MatchInputError(f"output {output} is a folder")
    if not output.parent.exists():
        raise MatchInputError(f"output folder {output.parent} does not exist")
    loaded = load_library_index(settings, library, today)
    index_seconds = time.perf_counter() - started
    runs = []
    for at in range(0, len(found), BATCH):
        chunk = found[at : at + BATCH]
        results = loaded.index.search_texts([text for _, text in chunk], top_k)
        for (qid, _), candidates in zip(chunk, results, strict=True):
            runs.append((qid, [(c.entry_id, c.fused) for c in candidates]))
        if progress:
            progress(f"{min(at + BATCH, len(found))}/{len(found)} queries")
    lines = write_run(output, runs)
    return {
        "queries": len(found),
        "lines": lines,
        "entries": len(loaded.index.items),
        "library": loaded.source,
        "library_version": loaded.index.version,
        "index": loaded.index.kind,
        "index_loaded": loaded.index.built.loaded_from_disk,
        "index_seconds": round(index_seconds, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }
