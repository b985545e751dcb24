"""Query files in, TREC runs out: the batch matcher's formats, and the labelled pairs.

- queries: `qid<TAB>text`, one a line, UTF-8; blank lines and lines starting with `#` are
  skipped, and so is a first line that names the columns (`qid<TAB>text`,
  `iclaim_id<TAB>iclaim`, `tweet_id<TAB>tweet_text` …: a header);
- run (what `mediawatch match --queries` writes): `qid Q0 entry_id rank score mediawatch`,
  space-separated, best first, as trec_eval and ranx read it;
- qrels: `qid 0 entry_id 1`, one line per right answer (a query that matches nothing
  has no line);
- labelled pairs (data/labelled/*.tsv): `qid<TAB>entry_id<TAB>lang<TAB>text` with a
  header; entry_id `-` means the query matches no entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

RUN_TAG = "mediawatch"
NO_MATCH = "-"
_QID = re.compile(r"^\S+$")
# first lines taken for a header (query files converted from public claim-retrieval sets)
_HEADER_IDS = ("qid", "id", "query_id", "iclaim_id", "tweet_id", "post_id")
_HEADER_TEXTS = ("text", "query", "tweet_text", "iclaim", "tweet", "post", "content")


class QueryFileError(ValueError):
    """A query or pairs file that cannot be read as asked: says file and line."""


@dataclass(frozen=True)
class LabelledQuery:
    qid: str
    entry_id: str | None  # None: matches nothing in the library
    lang: str
    text: str


def _lines(path: Path) -> list[str]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise QueryFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise QueryFileError(f"{path}:{line}: not valid UTF-8") from exc
    return text.split("\n")


def read_queries(path: Path) -> list[tuple[str, str]]:
    """(qid, text) pairs of a query file, in file order. Raises QueryFileError."""
    found: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(_lines(path), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if "\t" not in line:
            raise QueryFileError(f"{path}:{number}: expected `qid<TAB>text`, found no tab")
        qid, text = line.split("\t", 1)
        qid, text = qid.strip(), text.strip()
        if number == 1 and qid.lower() in _HEADER_IDS and text.lower() in _HEADER_TEXTS:
            continue  # a header
        if not qid or not _QID.match(qid):
            raise QueryFileError(f"{path}:{number}: the query id must be one word, got {qid!r}")
        if not text:
            raise QueryFileError(f"{path}:{number}: query {qid} has no text")
        if qid in seen:
            raise QueryFileError(
                f"{path}:{number}: query id {qid} already used on line {seen[qid]}"
            )
        seen[qid] = number
        found.append((qid, text))
    if not found:
        raise QueryFileError(f"{path}: no queries (expected `qid<TAB>text` lines)")
    return found


def run_lines(qid: str, ranked: Sequence[tuple[str, float]]) -> list[str]:
    """TREC run lines of one query: (entry_id, score) best first.

    trec_eval orders by score, not by the rank column, so scores are made strictly
    decreasing (a tie keeps the matcher's order by a 1e-6 step).
    """
    lines, previous = [], None
    for rank, (entry_id, score) in enumerate(ranked, start=1):
        value = round(float(score), 6)
        if previous is not None and value >= previous:
            value = round(previous - 1e-6, 6)
        previous = value
        lines.append(f"{qid} Q0 {entry_id} {rank} {value:.6f} {RUN_TAG}")
    return lines


def write_run(path: Path, runs: Iterable[tuple[str, Sequence[tuple[str, float]]]]) -> int:
    """Write a TREC run file; returns the number of lines."""
    lines = [line for qid, ranked in runs for line in run_lines(qid, ranked)]
    Path(path).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return len(lines)


def read_run(path: Path) -> dict[str, list[tuple[str, float]]]:
    """A TREC run as {qid: [(entry_id, score), ...]} best first (by score, as trec_eval)."""
    runs: dict[str, list[tuple[str, float]]] = {}
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 6:
            raise QueryFileError(f"{path}:{number}: a run line has 6 fields, found {len(parts)}")
        runs.setdefault(parts[0], []).append((parts[2], float(parts[4])))
    return {q: sorted(r, key=lambda x: -x[1]) for q, r in runs.items()}


def read_pairs(path: Path) -> list[LabelledQuery]:
    """Labelled pairs: header `qid<TAB>entry_id<TAB>lang<TAB>text`, entry_id `-` = none."""
    lines = _lines(path)
    if not lines or lines[0].rstrip("\r").split("\t") != ["qid", "entry_id", "lang", "text"]:
        raise QueryFileError(f"{path}:1: expected the header qid<TAB>entry_id<TAB>lang<TAB>text")
    found: list[LabelledQuery] = []
    seen: set[str] = set()
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 4 or not all(p.strip() for p in parts):
            raise QueryFileError(f"{path}:{number}: expected 4 tab-separated fields")
        qid, entry_id, lang, text = (p.strip() for p in parts)
        if qid in seen:
            raise QueryFileError(f"{path}:{number}: query id {qid} used twice")
        seen.add(qid)
        found.append(LabelledQuery(qid, None if entry_id == NO_MATCH else entry_id, lang, text))
    return found


def write_trec_files(pairs: Sequence[LabelledQuery], queries: Path, qrels: Path) -> None:
    """The labelled pairs as a query file for `mediawatch match --queries` and TREC qrels."""
    Path(queries).write_text(
        "".join(f"{p.qid}\t{p.text}\n" for p in pairs), encoding="utf-8"
    )
    Path(qrels).write_text(
        "".join(f"{p.qid} 0 {p.entry_id} 1\n" for p in pairs if p.entry_id), encoding="utf-8"
    )
