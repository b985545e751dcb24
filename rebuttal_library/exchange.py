"""Import and export: JSONL (lossless), schema.org ClaimReview JSON-LD, and entry files.

JSONL is the project's own exchange format: one `RebuttalEntry` per line, every field,
so markdown -> JSONL -> entries gives back equal entries. It also accepts the minimal lines
that `mediawatch match --library` uses for test libraries (see `import_jsonl`).

ClaimReview is what fact-checkers and search engines read. The mapping is documented on
`claimreview_from_entry` and in README.md; our own exports import back with id, type,
title, claims, response, evidence, status, dates, topics and languages intact.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rebuttal_library.markdown import entry_file_name, entry_to_markdown, slugify
from rebuttal_library.schema import (
    STATUSES,
    UNDETERMINED_LANGUAGE,
    RebuttalEntry,
    normalise_text,
)
from rebuttal_library.validate import (
    LibraryError,
    Problem,
    describe_schema_error,
    display_path,
    entry_files,
)

# Defaults for the minimal matcher form {"id", "title", "claims"}: such a line is a test
# library someone wrote by hand to evaluate matching, so its entries must be matchable.
MINIMAL_DEFAULTS = {"type": "refute", "status": "approved"}

DEFAULT_ORGANIZATION = "External Communications Office"

# Entry type <-> ClaimReview rating. Promote entries are not answers to a false claim: the
# "claims" are favourable storylines the office stands behind, so they export as rated
# "Accurate" (top of the scale), which keeps the three types distinct and reversible.
RATINGS: dict[str, tuple[str, int, str]] = {
    "refute": ("False", 1, "The claim is false; the response corrects it."),
    "clarify": (
        "Missing context",
        3,
        "The reporting is incomplete or inaccurate; the response adds context.",
    ),
    "promote": (
        "Accurate",
        5,
        "Favourable, accurate information the office puts forward (not an answer to a claim).",
    ),
}
WORST_RATING, BEST_RATING = 1, 5
_TYPE_BY_LABEL = {label.casefold(): kind for kind, (label, _v, _e) in RATINGS.items()}

# Words in other fact-checkers' rating labels, checked in this order (so "partly false"
# reads as missing context, "untrue" as false before "true" can match).
_LABEL_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("clarify", ("context", "misleading", "partly", "half", "mixed", "exaggerat", "unproven")),
    ("refute", ("false", "fake", "incorrect", "wrong", "untrue", "not true", "hoax", "fabricat")),
    ("promote", ("true", "correct", "accurate")),
)


# ----------------------------------------------------------------------------- JSONL


def export_jsonl(entries: Iterable[RebuttalEntry], path: Path) -> int:
    """Write one JSON object per entry (all fields, dates as YYYY-MM-DD); returns the count."""
    lines = [json.dumps(entry.model_dump(mode="json"), ensure_ascii=False) for entry in entries]
    Path(path).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)


def import_jsonl(path: Path) -> list[RebuttalEntry]:
    """Entries from a JSONL file written by `export_jsonl`, or a minimal matcher library.

    A minimal line has only `{"id", "title", "claims": [...]}` (optionally `response` as
    one string): with neither `type` nor `status` given it becomes `type: refute`,
    `status: approved`, so a hand-written test library is matchable as it stands. A line
    giving one of the two but not the other is an error, not a guess.
    `version` is always recomputed from the content. Raises `LibraryError` listing every
    bad line.
    """
    source = display_path(Path(path))
    text = _read_text(Path(path), source)
    found: list[tuple[int | None, RebuttalEntry]] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        entry = _entry_from_jsonl_line(line, source, number, problems)
        if entry is not None:
            found.append((number, entry))
    _check_unique_ids(found, source, problems)
    if problems:
        raise LibraryError(problems)
    return [entry for _line, entry in found]


def _entry_from_jsonl_line(
    line: str, source: str, number: int, problems: list[Problem]
) -> RebuttalEntry | None:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        problems.append(Problem(source, number, None, f"invalid JSON: {exc.msg}"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(source, number, None, "each line must be a JSON object"))
        return None
    if "type" not in data and "status" not in data:
        data = _minimal_form(data)
    if isinstance(data.get("response"), str):
        languages = data.get("languages") or [UNDETERMINED_LANGUAGE]
        data["response"] = {str(languages[0]): data["response"]}
    data.setdefault("path", f"{source}:{number}")
    return _validated(data, source, number, problems)


def _minimal_form(data: dict[str, Any]) -> dict[str, Any]:
    """A hand-written or converted test library line: approved refute entries, a numeric id
    taken as its digits, and a missing or empty title taken from the first claim (public
    claim sets often have claims without titles; the matcher needs only the phrasings)."""
    data = {**MINIMAL_DEFAULTS, **data}
    if isinstance(data.get("id"), int) and not isinstance(data["id"], bool):
        data["id"] = str(data["id"])
    title = data.get("title")
    claims = data.get("claims")
    if (title is None or (isinstance(title, str) and not title.strip())) and (
        isinstance(claims, list) and claims and isinstance(claims[0], str)
    ):
        data["title"] = claims[0]
    return data


# ----------------------------------------------------------------------- ClaimReview


def export_claimreview(
    entries: Iterable[RebuttalEntry],
    path: Path,
    *,
    organization: str = DEFAULT_ORGANIZATION,
    base_url: str | None = None,
) -> int:
    """Write a JSON array of schema.org ClaimReview objects, one per entry; returns the count.

    Every entry is written whatever its status (the status travels as
    `creativeWorkStatus`): to publish, pass only usable entries,
    e.g. `[e for e in entries if e.is_usable(today)]`.
    """
    reviews = [
        claimreview_from_entry(entry, organization=organization, base_url=base_url)
        for entry in entries
    ]
    Path(path).write_text(json.dumps(reviews, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return len(reviews)


def claimreview_from_entry(
    entry: RebuttalEntry,
    *,
    organization: str = DEFAULT_ORGANIZATION,
    base_url: str | None = None,
) -> dict[str, Any]:
    """One entry as a ClaimReview.

    - `claimReviewed`: the first claim; `itemReviewed` is a `Claim` whose `alternateName`
      lists the other phrasings, so no phrasing is lost.
    - `reviewRating.alternateName`: "False" (refute), "Missing context" (clarify),
      "Accurate" (promote), with ratingValue 1 / 3 / 5 on a 1-5 scale.
    - `reviewBody`: the response, one language-tagged JSON-LD value per language.
    - `author`: the office as an `Organization`; `editor`: a `Role` naming the reviewer's
      role (never a person); `datePublished` = reviewed_at; `expires` = expires_at;
      `creativeWorkStatus` = status; `keywords` = topics; `inLanguage` = languages.
    - evidence -> `citation` (CreativeWork with name, url, publisher, datePublished).
      Not `itemReviewed.appearance`: that property means where the *claim* was published,
      and the office's evidence is not where the claim appeared.
    - `url`: `{base_url}/{id}` when a base URL of the published responses is given.
    """
    label, value, explanation = RATINGS[entry.type]
    review: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "identifier": entry.id,
        "name": entry.title,
        "claimReviewed": entry.claims[0],
        "itemReviewed": {
            "@type": "Claim",
            "text": entry.claims[0],
            "alternateName": entry.claims[1:],
            "inLanguage": entry.languages,
        },
        "reviewRating": {
            "@type": "Rating",
            "ratingValue": value,
            "worstRating": WORST_RATING,
            "bestRating": BEST_RATING,
            "alternateName": label,
            "ratingExplanation": explanation,
        },
        "author": {"@type": "Organization", "name": organization},
        "creativeWorkStatus": entry.status,
        "inLanguage": entry.languages,
        "keywords": entry.topics,
        "reviewBody": [
            {"@language": lang, "@value": text} for lang, text in entry.response.items()
        ],
        "citation": [_citation(item) for item in entry.evidence],
    }
    if base_url:
        review["url"] = f"{base_url.rstrip('/')}/{entry.id}"
    if entry.reviewed_by:
        review["editor"] = {"@type": "Role", "roleName": entry.reviewed_by}
    if entry.reviewed_at:
        review["datePublished"] = entry.reviewed_at.isoformat()
    if entry.expires_at:
        review["expires"] = entry.expires_at.isoformat()
    return review


def _citation(item: Any) -> dict[str, Any]:
    citation: dict[str, Any] = {"@type": "CreativeWork", "name": item.title, "url": item.url}
    if item.publisher:
        citation["publisher"] = {"@type": "Organization", "name": item.publisher}
    if item.date:
        citation["datePublished"] = item.date.isoformat()
    return citation


def import_claimreview(path: Path) -> list[RebuttalEntry]:
    """Entries from ClaimReview JSON-LD: an array, one object, or an `@graph`.

    Our own exports come back as they went out. ClaimReviews from elsewhere are imported
    for review, never as vetted: status `draft` (unless `creativeWorkStatus` is one of
    ours), type read from the rating label ("False" -> refute, "Missing context" /
    "Misleading" / "Partly false" -> clarify, "True" / "Accurate" -> promote, else by the
    rating's place on its scale), id from `identifier` or derived from the claim.
    Nodes that are not ClaimReviews are skipped. Raises `LibraryError` on bad items.
    """
    source = display_path(Path(path))
    text = _read_text(Path(path), source)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LibraryError([Problem(source, exc.lineno, None, f"invalid JSON: {exc.msg}")]) from exc
    found: list[tuple[int | None, RebuttalEntry]] = []
    problems: list[Problem] = []
    for number, node in enumerate(_claimreview_nodes(document), start=1):
        data = _entry_data_from_claimreview(node)
        entry = _validated(data, source, None, problems, item=number)
        if entry is not None:
            found.append((None, entry))
    _check_unique_ids(found, source, problems)
    if problems:
        raise LibraryError(problems)
    return [entry for _line, entry in found]


def _claimreview_nodes(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict):
        document = document.get("@graph", [document])
    if not isinstance(document, list):
        return []
    return [node for node in document if isinstance(node, dict) and _is_claimreview(node)]


def _is_claimreview(node: dict[str, Any]) -> bool:
    kinds = node.get("@type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return "ClaimReview" in kinds


def _entry_data_from_claimreview(node: dict[str, Any]) -> dict[str, Any]:
    item = node.get("itemReviewed") if isinstance(node.get("itemReviewed"), dict) else {}
    claims = _unique(
        [node.get("claimReviewed"), item.get("text"), *_as_list(item.get("alternateName"))]
    )
    languages = [
        x for x in _as_list(node.get("inLanguage") or item.get("inLanguage")) if isinstance(x, str)
    ]
    rating = node.get("reviewRating") if isinstance(node.get("reviewRating"), dict) else {}
    status = node.get("creativeWorkStatus")
    editor = node.get("editor") if isinstance(node.get("editor"), dict) else {}
    title = node.get("name") or node.get("headline") or (claims[0] if claims else "")
    data: dict[str, Any] = {
        "id": node.get("identifier") or _derived_id(claims),
        "type": _type_from_rating(rating),
        "title": title,
        "claims": claims,
        "response": _response_from_body(node.get("reviewBody"), languages),
        "evidence": [_evidence_from_citation(c) for c in _as_list(node.get("citation"))],
        "topics": [slugify(str(k)) for k in _keywords(node.get("keywords"))],
        "languages": languages,
        "status": status if status in STATUSES else "draft",
        "reviewed_by": editor.get("roleName"),
        "reviewed_at": _date_part(node.get("datePublished")),
        "expires_at": _date_part(node.get("expires")),
    }
    return data


def _type_from_rating(rating: dict[str, Any]) -> str:
    label = str(rating.get("alternateName") or rating.get("name") or "").strip().casefold()
    if label in _TYPE_BY_LABEL:
        return _TYPE_BY_LABEL[label]
    for kind, words in _LABEL_WORDS:
        if any(word in label for word in words):
            return kind
    try:
        value = float(rating["ratingValue"])
        worst = float(rating.get("worstRating", WORST_RATING))
        best = float(rating.get("bestRating", BEST_RATING))
        position = (value - worst) / (best - worst)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return "clarify"
    if position < 1 / 3:
        return "refute"
    return "promote" if position > 2 / 3 else "clarify"


def _response_from_body(body: Any, languages: list[str]) -> dict[str, str]:
    fallback = languages[0] if languages else UNDETERMINED_LANGUAGE
    response: dict[str, str] = {}
    for value in _as_list(body):
        if isinstance(value, str):
            response.setdefault(fallback, value)
        elif isinstance(value, dict) and isinstance(value.get("@value"), str):
            response[str(value.get("@language") or fallback)] = value["@value"]
    return response


def _evidence_from_citation(citation: Any) -> Any:
    if isinstance(citation, str):
        return {"title": citation, "url": citation}
    if not isinstance(citation, dict):
        return citation  # let the schema say what is wrong with it
    publisher = citation.get("publisher")
    if isinstance(publisher, dict):
        publisher = publisher.get("name")
    evidence = {
        "title": citation.get("name") or citation.get("headline") or citation.get("url"),
        "url": citation.get("url"),
        "publisher": publisher,
        "date": _date_part(citation.get("datePublished")),
    }
    return {key: value for key, value in evidence.items() if value is not None}


def _keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(v) for v in _as_list(value) if str(v).strip()]


def _date_part(value: Any) -> Any:
    """ClaimReviews from elsewhere often carry datetimes; the library keeps the day."""
    if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
        return value[:10]
    return value


def _derived_id(claims: list[str]) -> str:
    seed = claims[0] if claims else ""
    return "CR-" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:8]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _unique(values: Iterable[Any]) -> list[str]:
    seen: set[str] = set()
    result: list[str] = []
    for value in values:
        if isinstance(value, str) and normalise_text(value) and normalise_text(value) not in seen:
            seen.add(normalise_text(value))
            result.append(value)
    return result


# ------------------------------------------------------------------ markdown files


def write_entry_markdown(entry: RebuttalEntry, dir: Path) -> Path:
    """Write the entry as a library file in `dir` and return its path.

    If `dir` already holds the file of this id (`{id}.md` or `{id}-*.md`), that file is
    replaced in place, keeping the name an analyst gave it; otherwise the file is named
    `{id}-{slug of title}.md`. Re-importing an entry therefore never makes a second file
    with the same id.
    """
    directory = Path(dir)
    directory.mkdir(parents=True, exist_ok=True)
    existing = [
        path
        for path in entry_files(directory)
        if path.name == f"{entry.id}.md" or path.name.startswith(f"{entry.id}-")
    ]
    target = existing[0] if len(existing) == 1 else directory / entry_file_name(entry)
    target.write_text(entry_to_markdown(entry), encoding="utf-8")
    return target


def import_entries(path: Path) -> list[RebuttalEntry]:
    """By file suffix: `.jsonl` -> `import_jsonl`; `.json` / `.jsonld` -> ClaimReview."""
    suffix = Path(path).suffix.lower()
    if suffix == ".jsonl":
        return import_jsonl(path)
    if suffix in (".json", ".jsonld"):
        return import_claimreview(path)
    raise LibraryError(
        [Problem(str(path), None, None, "unknown format: expected .jsonl, .json or .jsonld")]
    )


def export_entries(entries: Iterable[RebuttalEntry], path: Path) -> int:
    """By file suffix, as `import_entries`; returns the number of entries written."""
    suffix = Path(path).suffix.lower()
    if suffix == ".jsonl":
        return export_jsonl(entries, path)
    if suffix in (".json", ".jsonld"):
        return export_claimreview(entries, path)
    raise LibraryError(
        [Problem(str(path), None, None, "unknown format: expected .jsonl, .json or .jsonld")]
    )


# ------------------------------------------------------------------------- helpers


def _read_text(path: Path, source: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"file is not valid UTF-8 (byte at offset {exc.start})"
        raise LibraryError([Problem(source, None, None, message)]) from exc
    except OSError as exc:
        raise LibraryError([Problem(source, None, None, f"cannot read file: {exc}")]) from exc


def _validated(
    data: dict[str, Any],
    source: str,
    line: int | None,
    problems: list[Problem],
    item: int | None = None,
) -> RebuttalEntry | None:
    try:
        return RebuttalEntry.model_validate(data)
    except ValidationError as exc:
        entry_id = data.get("id") if isinstance(data.get("id"), str) else None
        prefix = f"item {item}: " if item is not None else ""
        for error in exc.errors():
            message = describe_schema_error(tuple(error["loc"]), error["type"], error)
            problems.append(Problem(source, line, entry_id, prefix + message))
        return None


def _check_unique_ids(
    found: list[tuple[int | None, RebuttalEntry]], source: str, problems: list[Problem]
) -> None:
    seen: set[str] = set()
    for line, entry in found:
        key = entry.id.casefold()
        if key in seen:
            problems.append(Problem(source, line, entry.id, f"duplicate id '{entry.id}'"))
        seen.add(key)
