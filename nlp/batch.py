"""Batch entry points (`mediawatch embed`, `mediawatch cluster`): the pipeline's own code on files.

`cluster_records` is what the `cluster narratives` stage does to the articles of a run:
language id where none is given (nlp/language.py), syndicated copies marked (the crawler's
near-duplicate finder), headline + lead embedded with the configured model, then
nlp/narratives.build_narratives (per-language centring, TwoStageClustering with the
settings' thresholds). Articles that join no narrative get a narrative of their own, so
every input line has one output line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mediawatch.records import ArticleForAnalysis, content_hash, stable_id


class BatchInputError(ValueError):
    """A malformed input file; the message names the line."""


@dataclass(frozen=True)
class ClusterRecord:
    id: str
    title: str
    text: str
    lang: str | None = None
    published_at: datetime | None = None


def read_jsonl(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a clear error for a malformed one."""
    if not path.exists():
        raise BatchInputError(f"{path}: no such file")
    seen: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BatchInputError(f"{path}:{number}: not JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise BatchInputError(f"{path}:{number}: expected a JSON object")
            for key in required:
                if key not in record:
                    raise BatchInputError(f"{path}:{number}: missing field {key!r}")
                if key != "id" and not isinstance(record[key], str):
                    raise BatchInputError(f"{path}:{number}: field {key!r} must be a string")
            if not isinstance(record["id"], str | int):
                raise BatchInputError(f"{path}:{number}: field 'id' must be a string or number")
            record["id"] = str(record["id"])
            if record["id"] in seen:
                raise BatchInputError(f"{path}:{number}: duplicate id {record['id']!r}")
            seen.add(record["id"])
            yield number, record


def _when(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BatchInputError(f"{where}: published_at must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BatchInputError(f"{where}: published_at {value!r} is not ISO 8601") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_cluster_input(path: Path) -> list[ClusterRecord]:
    records = []
    for number, raw in read_jsonl(path, ("id", "title", "text")):
        lang = raw.get("lang")
        if lang is not None and not isinstance(lang, str):
            raise BatchInputError(f"{path}:{number}: field 'lang' must be a string")
        records.append(
            ClusterRecord(
                id=raw["id"],
                title=raw["title"],
                text=raw["text"],
                lang=lang or None,
                published_at=_when(raw.get("published_at"), f"{path}:{number}"),
            )
        )
    return records


def embed_file(input_path: Path, output_path: Path, embedder: Any) -> int:
    """Vectors for {"id","text"} lines, in input order, saved as a float32 .npy."""
    texts = [raw["text"] for _n, raw in read_jsonl(input_path, ("id", "text"))]
    vectors = embedder.embed_passages(texts) if texts else np.zeros((0, embedder.dimension))
    np.save(output_path, np.asarray(vectors, dtype=np.float32))
    return len(texts)


def cluster_records(
    records: list[ClusterRecord],
    embedder: Any,
    strategy: Any = None,
    previous: dict[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, int]]:
    """id -> narrative id for every record, and the counts of the run.

    `previous` (id -> narrative id of an earlier run) carries identities as the pipeline does.
    """
    from crawlers.dedup import find_duplicates
    from mediawatch.records import Article
    from nlp.embed import article_text
    from nlp.language import identify
    from nlp.narratives import build_narratives

    languages = [r.lang or identify(f"{r.title}\n{r.text}") for r in records]
    candidates = [
        Article(
            article_id=r.id,
            outlet_id="",
            url="",
            canonical_url="",
            title=r.title,
            text=r.text,
            published_at=r.published_at,
            language=lang,
            byline=None,
            content_hash=content_hash(r.title, r.text),
            fetched_at=r.published_at or datetime(1970, 1, 1, tzinfo=UTC),
        )
        for r, lang in zip(records, languages, strict=True)
    ]
    copies = find_duplicates(candidates) if candidates else {}
    articles = [
        ArticleForAnalysis(
            article_id=a.article_id,
            outlet_id="",
            title=a.title,
            text=a.text,
            published_at=a.published_at,
            language=a.language,
            content_hash=a.content_hash,
            duplicate_of=copies.get(a.article_id),
        )
        for a in candidates
    ]
    # the pipeline clusters articles with a text; the others are still answered (alone)
    usable = [a for a in articles if (a.title + a.text).strip()]
    vectors = embedder.embed_passages([article_text(a.title, a.text) for a in usable])
    result = (
        build_narratives(usable, vectors, previous=previous, strategy=strategy) if usable else None
    )
    narrative_of = {
        article_id: n.narrative_id
        for n in (result.narratives if result else [])
        for article_id in n.article_ids
    }
    for r in records:
        narrative_of.setdefault(r.id, stable_id("narrative", r.id))
    counts = {
        "articles": len(records),
        "empty": len(records) - len(usable),
        "copies": len(copies),
        "narratives": len(result.narratives) if result else 0,
        "alone": len(records) - sum(len(n.article_ids) for n in result.narratives)
        if result
        else len(records),
    }
    return narrative_of, counts


def cluster_file(input_path: Path, output_path: Path, embedder: Any, strategy: Any) -> dict:
    records = read_cluster_input(input_path)
    narrative_of, counts = cluster_records(records, embedder, strategy)
    with output_path.open("w", encoding="utf-8") as handle:
        for r in records:
            handle.write(f"{r.id}\t{narrative_of[r.id]}\n")
    return counts
