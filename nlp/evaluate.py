"""Measuring the matcher on labelled pairs, and fitting its calibration.

`python -m nlp.evaluate calibrate [--pairs FILE] [--library FILE] [--model NAME]` fits the
Platt calibration on labelled pairs and writes it to nlp/match_calibration.json for that
embedding model. By default it fits on both labelled sets of data/labelled/: the demo pairs
against the demo library, and the hard pairs against the demo library with the distractor
entries beside it (`labelled_sets`). Figures that judge a calibration are never measured on
the pairs it was fitted on: bench/bench_matching.py fits on one half of each set and reports
on the other halves (`split_halves`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

from nlp.calibration import (
    FIT_CANDIDATES,
    Calibration,
    fit_cross_offset,
    fit_platt_with_margin,
    save_calibration,
)
from nlp.match import Candidate, LibraryIndex, LibraryItem, background_similarity
from nlp.trec import LabelledQuery, read_pairs

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LABELLED = PROJECT_ROOT / "data" / "labelled"
DEMO_PAIRS = LABELLED / "demo_pairs.tsv"
# paraphrases without the entries' tell-tale names, social-media posts, near misses; answered
# from the demo library plus DISTRACTORS (entries on neighbouring stories)
HARD_PAIRS = LABELLED / "hard_pairs.tsv"
DISTRACTORS = LABELLED / "distractors.jsonl"


@dataclass(frozen=True)
class RankFigures:
    map_at_5: float
    recall_at_1: float
    queries: int


def rank_figures(
    pairs: Sequence[LabelledQuery], ranked: Sequence[Sequence[str]]
) -> RankFigures:
    """MAP@5 and recall@1 over the queries that have a right entry (one each)."""
    ap, r1 = [], []
    for pair, ids in zip(pairs, ranked, strict=True):
        if pair.entry_id is None:
            continue
        ids = list(ids)
        rank = ids.index(pair.entry_id) + 1 if pair.entry_id in ids else None
        ap.append(1.0 / rank if rank is not None and rank <= 5 else 0.0)
        r1.append(rank == 1)
    return RankFigures(float(np.mean(ap)), float(np.mean(r1)), len(ap))


def calibration_features(
    pairs: Sequence[LabelledQuery], results: Sequence[Sequence[Candidate]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(fused score, crossed languages, margin, right?) of the first FIT_CANDIDATES
    candidates of every query: what a calibration reads, and whether it should say yes."""
    scores, cross, margins, labels = [], [], [], []
    for pair, candidates in zip(pairs, results, strict=True):
        for c in candidates[:FIT_CANDIDATES]:
            scores.append(c.fused)
            cross.append(float(c.cross_language))
            margins.append(c.margin)
            labels.append(c.entry_id == pair.entry_id)
    return (
        np.asarray(scores),
        np.asarray(cross),
        np.asarray(margins),
        np.asarray(labels, dtype=bool),
    )


def calibrated_probabilities(
    calibration: Calibration, pairs: Sequence[LabelledQuery], results
) -> tuple[np.ndarray, np.ndarray]:
    """(probability, right?) of the first FIT_CANDIDATES candidates under `calibration`."""
    scores, cross, margins, labels = calibration_features(pairs, results)
    return calibration.probability(scores, cross, margins), labels


VIEW_LANGUAGES = ("en", "vi")


def fit_with_cross_language(wholes, views) -> dict[str, float]:
    """The calibration's fitted fields: (a, margin weight, b) on the candidates of the
    whole libraries that have a phrasing in the query's language, then the cross-language
    offset c on the candidates (whole libraries and one-language views) that have none.
    `wholes`, `views`: lists of (pairs, results). Returns fields for `Calibration`."""
    parts = [calibration_features(*sample) for sample in wholes]
    scores, cross, margins, labels = (np.concatenate(p) for p in zip(*parts, strict=True))
    within = cross == 0
    a, d, b = fit_platt_with_margin(scores[within], margins[within], labels[within])
    parts += [calibration_features(*sample) for sample in views]
    s, x, m, y = (np.concatenate(p) for p in zip(*parts, strict=True))
    crossed = x > 0
    try:
        c = fit_cross_offset(s[crossed], y[crossed], a, b, m[crossed], d) if crossed.any() else 0.0
    except ValueError:  # no right (or no wrong) cross-language candidate to learn from
        c = 0.0
    return {"a": a, "b": b, "cross_language": c, "margin_weight": d}


def language_views(index: LibraryIndex) -> dict[str, LibraryIndex]:
    """The library cut to the phrasings of one language (entries with none left out), one
    index per language in VIEW_LANGUAGES that the library uses: the same labelled queries
    against them give cross-language pairs (a Vietnamese query, English phrasings only)."""
    views = {}
    for language in VIEW_LANGUAGES:
        items = []
        for k, item in enumerate(index.items):
            rows = range(index.rows.start[k], index.rows.stop[k])
            kept = tuple(index.rows.texts[r] for r in rows if index.row_language[r] == language)
            if kept:
                items.append(LibraryItem(item.entry_id, item.version, kept))
        if len(items) >= 2:
            views[language] = LibraryIndex(items, index.embedder, calibration=index.calibration)
    return views


def fit_calibration(
    index: LibraryIndex,
    pairs: Sequence[LabelledQuery],
    fitted_on: str,
    more: Sequence[tuple[LibraryIndex, Sequence[LabelledQuery]]] = (),
) -> Calibration:
    """Platt calibration of `index`'s fused scores on labelled pairs (and on the pairs of
    `more`, each against its own library: one calibration serves libraries of every make-up,
    so it is best fitted on more than one).

    The background similarity and the language gap come from `index`'s own library (rows of
    different entries); every index of the fit scores with them, as any library will once the
    calibration is shipped. The pairs are run against the whole library and against its
    one-language views (`language_views`), so the fit also sees queries whose answer is
    phrased only in another language.
    """
    mean, std, gap = background_similarity(
        index.dense.vectors, index.rows.entry, index.row_language
    )
    base = Calibration(index.model_id, 1.0, 0.0, mean, std, language_gap=gap)
    wholes, views = [], []
    for each, each_pairs in [(index, pairs), *more]:
        each.calibration = base
        texts = [p.text for p in each_pairs]
        wholes.append((each_pairs, each.search_texts(texts, FIT_CANDIDATES)))
        for view in language_views(each).values():
            views.append((each_pairs, view.search_texts(texts, FIT_CANDIDATES)))
    fitted = fit_with_cross_language(wholes, views)
    total = len(pairs) + sum(len(p) for _, p in more)
    calibration = replace(base, **fitted, fitted_on=fitted_on, pairs=total)
    for each, _ in [(index, pairs), *more]:
        each.calibration = calibration
    return calibration


def split_halves(
    pairs: Sequence[LabelledQuery], seed: int = 0
) -> tuple[list[int], list[int]]:
    """Two halves of the pairs, each holding about half of every entry's queries."""
    rng = np.random.default_rng(seed)
    by_entry: dict[str, list[int]] = {}
    for k, pair in enumerate(pairs):
        by_entry.setdefault(pair.entry_id or "-", []).append(k)
    first, second = [], []
    for key in sorted(by_entry):
        members = list(rng.permutation(by_entry[key]))
        cut = (len(members) + int(rng.integers(0, 2))) // 2
        first += members[:cut]
        second += members[cut:]
    return sorted(int(k) for k in first), sorted(int(k) for k in second)


def demo_library_items(today: date | None = None):
    from nlp.match import library_items
    from rebuttal_library.validate import load_library

    entries_dir = PROJECT_ROOT / "rebuttal_library" / "entries"
    return library_items(load_library(entries_dir, today))


def distractor_items() -> list[LibraryItem]:
    from nlp.match import library_items
    from rebuttal_library.exchange import import_jsonl

    return library_items(import_jsonl(DISTRACTORS))


@dataclass(frozen=True)
class LabelledSet:
    """Labelled pairs and the library that answers them."""

    name: str
    pairs: list[LabelledQuery]
    items: list[LibraryItem]


def labelled_sets(today: date | None = None) -> list[LabelledSet]:
    """The project's labelled sets: demo pairs against the demo library, hard pairs against
    the demo library with the distractor entries beside it."""
    demo = demo_library_items(today)
    return [
        LabelledSet(DEMO_PAIRS.name, read_pairs(DEMO_PAIRS), demo),
        LabelledSet(HARD_PAIRS.name, read_pairs(HARD_PAIRS), demo + distractor_items()),
    ]


def _calibrate(args: argparse.Namespace) -> int:
    from mediawatch.settings import load_settings
    from nlp.embed import load_embedder

    settings = load_settings()
    model = args.model or settings.embedding_model
    embedder = load_embedder(model, settings.models_dir)
    if args.pairs is None and args.library is None:
        first, *others = labelled_sets()
        index = LibraryIndex(first.items, embedder)
        more = [(LibraryIndex(s.items, embedder), s.pairs) for s in others]
        name = "+".join(s.name for s in (first, *others))
        calibration = fit_calibration(index, first.pairs, fitted_on=name, more=more)
    else:
        if args.library is not None:
            from nlp.match import library_items
            from nlp.match_run import load_entries

            entries, _ = load_entries(args.library, settings.library_dir, date.today())
            items = library_items(entries)
        else:
            items = demo_library_items()
        index = LibraryIndex(items, embedder)
        pairs_path = args.pairs or DEMO_PAIRS
        pairs = read_pairs(pairs_path)
        name = pairs_path.name if pairs_path.parent == LABELLED else str(pairs_path)
        calibration = fit_calibration(index, pairs, fitted_on=name)
    save_calibration(calibration)
    print(
        f"{calibration.model_id}: p = sigmoid({calibration.a:.4f} * fused "
        f"{calibration.b:+.4f} + {calibration.margin_weight:.4f} * margin + c * crossed), "
        f"background {calibration.background_mean:.4f} "
        f"± {calibration.background_std:.4f}, language gap {calibration.language_gap:.4f}, "
        f"cross-language {calibration.cross_language:+.4f}, {calibration.pairs} pairs"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlp.evaluate")
    commands = parser.add_subparsers(dest="command", required=True)
    calibrate = commands.add_parser("calibrate", help="fit and save the match calibration")
    calibrate.add_argument(
        "--pairs", type=Path, default=None,
        help="labelled pairs (default: both sets of data/labelled/, each with its library)",
    )
    calibrate.add_argument("--model", default=None, help="embedding model (default: settings)")
    calibrate.add_argument(
        "--library", type=Path, default=None,
        help="the library the pairs answer from (JSONL, ClaimReview or an entries folder; "
        "default: the demo library)",
    )
    args = parser.parse_args(argv)
    return _calibrate(args)


if __name__ == "__main__":
    raise SystemExit(main())
