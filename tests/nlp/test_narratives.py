"""Narrative clustering, as a specification: what goes together, what stays apart, what lasts.

The first tests build vectors by hand (a shared "kind of event" direction, one direction per
event, noise per article) so that each rule of TwoStageClustering is seen on its own; the
last ones run the real default model on written texts and on the demo world.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from mediawatch.records import ArticleForAnalysis, content_hash
from nlp.narratives import (
    AverageLinkClustering,
    TwoStageClustering,
    build_narratives,
    name_terms,
    name_vectors,
)

DIM = 64


def _vectors(parts: list[dict[int, float]], seed: int = 7) -> np.ndarray:
    """Unit vectors mixing orthogonal directions: {direction: weight}; direction -1 is the
    article's own noise."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(DIM, DIM)))
    rows = []
    for k, mix in enumerate(parts):
        v = sum(w * basis[d if d >= 0 else DIM - 1 - k] for d, w in mix.items())
        rows.append(v / np.linalg.norm(v))
    return np.stack(rows)


def _mix(kind: float, event: float, noise: float, event_id: int) -> dict[int, float]:
    # squared weights are the shares: cosine within an event = kind + event, across = kind
    return {0: kind**0.5, event_id: event**0.5, -1: noise**0.5}


COACH_A = [
    "Harbour City FC sack coach Tomas Ferreira after five straight defeats",
    "Tomas Ferreira has left Harbour City FC by mutual consent; Minh Quan is caretaker",
    "Struggling Harbour City FC parted ways with Tomas Ferreira, and Minh Quan takes over",
    "Minh Quan was named caretaker of Harbour City FC after Tomas Ferreira was sacked",
]
COACH_B = [
    "Riverside United fire coach Anders Holm after a winless start",
    "Riverside United dismissed Anders Holm on Tuesday, with Pham Duc in temporary charge",
    "Riverside United parted company with Anders Holm; Pham Duc takes over as interim",
    "Pham Duc will lead Riverside United after the club sacked Anders Holm",
]


def test_two_events_a_sentence_model_cannot_tell_apart_are_kept_apart_by_their_names():
    # within an event the vectors agree to 0.75, across the two events still to 0.55
    vectors = _vectors([_mix(0.55, 0.20, 0.25, 1)] * 4 + [_mix(0.55, 0.20, 0.25, 2)] * 4)
    texts = COACH_A + COACH_B
    languages = ["en"] * 8
    dense_only = AverageLinkClustering(0.40).cluster(vectors, languages)
    assert len(set(dense_only.tolist())) == 1  # one signal merges the two sackings
    labels = TwoStageClustering().cluster(vectors, languages, texts=texts).tolist()
    assert len(set(labels[:4])) == 1 and len(set(labels[4:])) == 1
    assert labels[0] != labels[4] and -1 not in labels


def test_a_lone_article_joins_a_story_on_less_evidence_than_two_groups_need_to_merge():
    # a group of three (0.80 among them), and articles agreeing with it to 0.53 on the
    # vectors only (their texts name nothing in common): 0.75 x 0.53 = 0.40, between the
    # lone-article cut (0.35) and the group cut (0.45)
    group = [{0: 0.8**0.5, -1: 0.2**0.5}] * 3
    lone = {0: (0.53 / 0.8**0.5), -1: (1 - 0.53**2 / 0.8) ** 0.5}
    vectors = _vectors(group + [lone])
    texts = ["Minh Quan signs for Harbour City"] * 3 + ["Another story told in other words"]
    labels = TwoStageClustering().cluster(vectors, ["en"] * 4, texts=texts).tolist()
    assert len(set(labels)) == 1 and labels[0] >= 0
    # two such articles alone do not make a story
    pair = _vectors([{0: 0.53**0.5, -1: 0.47**0.5}] * 2)
    labels = TwoStageClustering().cluster(pair, ["en"] * 2, texts=["A b", "C d"]).tolist()
    assert labels == [-1, -1]


def test_one_story_in_two_languages_is_bridged_but_not_into_another_event_of_its_kind():
    # English event A and its Vietnamese telling agree to 0.45 across languages; English
    # event B is nearly as close to the Vietnamese group (0.40), and as close to A, but A and
    # B are two stories
    english_a = [{0: 0.45**0.5, 1: 0.35**0.5, -1: 0.20**0.5}] * 3
    vietnamese_a = [{0: 0.45**0.5, 2: 0.35**0.5, -1: 0.20**0.5}] * 3
    english_b = [{0: 0.35**0.5, 3: 0.45**0.5, -1: 0.20**0.5}] * 3
    vectors = _vectors(english_a + vietnamese_a + english_b)
    texts = COACH_A[:3] + ["Harbour City FC sa thải huấn luyện viên Tomas Ferreira"] * 3
    texts += COACH_B[:3]
    languages = ["en"] * 3 + ["vi"] * 3 + ["en"] * 3
    labels = TwoStageClustering().cluster(vectors, languages, texts=texts).tolist()
    assert len(set(labels[:6])) == 1 and labels[0] >= 0  # one narrative, two languages
    assert len(set(labels[6:])) == 1 and labels[6] not in (labels[0], -1)


def test_names_are_what_an_article_prints_with_a_capital_and_its_years():
    terms = name_terms("Tàu Hai Yang 27 neo gần bãi Ngọc Lan. Ông Trần Văn An nói năm 2024.")
    assert terms == ["hai", "yang", "ngoc", "lan", "tran", "van", "an", "2024"]
    # sentence openings and month names are not names; English and Vietnamese spellings meet
    assert name_terms("Officials met on Monday in Hoi An.") == ["hoi", "an"]
    assert set(name_terms("Hội An")) == {"an"}  # "Hội" opens the sentence
    # a script without case has no such signal: its word runs stand in
    assert name_terms("南洋视野报道") == ["南洋视野报道"]


def test_a_headline_naming_one_place_is_not_identical_on_names_to_every_other():
    rows = name_vectors(
        [
            "Quảng Ninh: bắt giữ xe chở hàng lậu",
            "Quảng Ninh: khai mạc lễ hội hoa",
            "The minister of Harbour City met the mayor of Riverside in Hanoi on Monday",
        ]
    )
    similarity = (rows @ rows.T).toarray()
    assert 0 < similarity[0, 1] < 0.5  # one shared name: little evidence
    assert similarity[2, 2] > 2 * similarity[0, 0]  # the more a text names, the more it counts


# -- the real model --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedder():
    from mediawatch.settings import Settings
    from nlp.embed import load_embedder

    settings = Settings()
    return load_embedder(settings.embedding_model, settings.models_dir)


def _records(groups: dict[str, list[tuple[str, str]]]):
    from nlp.batch import ClusterRecord

    return [
        ClusterRecord(f"{name}-{k}", title, text)
        for name, items in groups.items()
        for k, (title, text) in enumerate(items)
    ]


SACKINGS = {
    "harbour": [
        (COACH_A[0], "The club said assistant Minh Quan will take charge until a replacement."),
        (COACH_A[1], "Ferreira leaves after five consecutive league losses, the club announced."),
        (COACH_A[2], "A 3-0 defeat on Sunday left Harbour City FC second from bottom."),
        (COACH_A[3], "Harbour City FC had lost five league games in a row under Ferreira."),
    ],
    "riverside": [
        (COACH_B[0], "Goalkeeping coach Pham Duc will lead the team for now, the club said."),
        (COACH_B[1], "Holm leaves after seven league games without a win at Riverside United."),
        (COACH_B[2], "A 2-1 home defeat left Riverside United bottom of the table."),
        (COACH_B[3], "Riverside United had not won in seven league games under Holm."),
    ],
    "other": [
        ("Rice exports reach a record in October", "Vietnam's rice exports hit a record."),
        ("Hanoi marathon draws 12,000 runners", "A Kenyan athlete won the men's race."),
        ("New metro line opens in Ho Chi Minh City", "The line opened after years of delay."),
    ],
}
TOLL_PROTESTS = {
    "cantho": [
        (
            "Tài xế dùng tiền lẻ qua trạm BOT Cần Thơ - Phụng Hiệp",
            "Hàng trăm tài xế trả phí bằng tiền lẻ khi qua trạm BOT Cần Thơ - Phụng Hiệp trên "
            "quốc lộ 1, khiến xe ùn tắc nhiều km.",
        ),
        (
            "Ùn tắc tại trạm BOT Cần Thơ - Phụng Hiệp vì tiền lẻ",
            "Trạm BOT Cần Thơ - Phụng Hiệp phải xả trạm nhiều lần khi tài xế trả tiền lẻ, Công "
            "an tỉnh Hậu Giang cho biết.",
        ),
        (
            "Hậu Giang: BOT Cần Thơ - Phụng Hiệp lại ùn tắc",
            "Quốc lộ 1 qua Hậu Giang lại ùn tắc khi tài xế dùng tiền lẻ qua trạm BOT Cần Thơ - "
            "Phụng Hiệp, buộc trạm phải xả barie.",
        ),
    ],
    "bienhoa": [
        (
            "Tài xế phản đối trạm BOT Biên Hòa trên quốc lộ 1",
            "Nhiều tài xế dừng xe phản đối tại trạm BOT Biên Hòa ở Đồng Nai, đề nghị giảm phí cho "
            "người dân thành phố Biên Hòa.",
        ),
        (
            "Đồng Nai: trạm BOT Biên Hòa phải xả trạm",
            "Trạm BOT Biên Hòa tại Đồng Nai phải xả trạm khi hàng chục tài xế dừng xe phản đối "
            "mức phí, UBND tỉnh Đồng Nai cho biết.",
        ),
        (
            "BOT Biên Hòa: người dân đề nghị dời trạm",
            "Người dân Biên Hòa kiến nghị dời trạm BOT Biên Hòa trên quốc lộ 1 vì trạm đặt giữa "
            "thành phố, tỉnh Đồng Nai cho biết.",
        ),
    ],
    "other": [
        ("Xuất khẩu gạo đạt kỷ lục trong tháng Mười", "Giá gạo tại châu Á tăng mạnh."),
        ("Hà Nội mở thêm tuyến xe buýt điện", "Ba tuyến mới nối trung tâm với khu đô thị."),
        ("Lễ hội hoa Đà Lạt thu hút du khách", "Hàng nghìn du khách đến tham quan vườn hoa."),
    ],
}


@pytest.mark.parametrize("groups", [SACKINGS, TOLL_PROTESTS], ids=["english", "vietnamese"])
def test_two_events_of_one_kind_stay_apart_with_the_default_model(embedder, groups):
    from nlp.batch import cluster_records

    records = _records(groups)
    found, _counts = cluster_records(records, embedder)
    first, second = [name for name in groups if name != "other"]
    ids = {name: {found[r.id] for r in records if r.id.startswith(name)} for name in groups}
    assert len(ids[first]) == 1 and len(ids[second]) == 1  # each event: one narrative
    assert ids[first] != ids[second]
    assert len(ids["other"]) == 3  # unrelated news stays alone


@pytest.fixture(scope="module")
def demo_articles(embedder):
    """The demo world as the cluster stage sees it: stored articles and cached vectors."""
    from demo.world import build_world
    from nlp.embed import article_text

    world = build_world()
    by_path = {a.path: a.key for a in world.articles}
    articles = [
        ArticleForAnalysis(
            article_id=a.key,
            outlet_id=a.outlet_id,
            title=a.title,
            text=a.body,
            published_at=a.published_at,
            language=a.language,
            content_hash=content_hash(a.title, a.body),
            duplicate_of=by_path[a.syndicated_from] if a.syndicated_from else None,
        )
        for a in world.good_articles()
    ]
    vectors = embedder.embed_passages([article_text(a.title, a.text) for a in articles])
    return articles, vectors


def test_a_new_day_of_articles_keeps_existing_memberships(demo_articles):
    articles, vectors = demo_articles
    last = max(a.published_at for a in articles)
    before = [i for i, a in enumerate(articles) if a.published_at <= last - timedelta(days=1)]
    first = build_narratives([articles[i] for i in before], vectors[before])
    previous = {aid: n.narrative_id for n in first.narratives for aid in n.article_ids}
    second = build_narratives(articles, vectors, previous=previous)
    now = {aid: n.narrative_id for n in second.narratives for aid in n.article_ids}
    unchanged = sum(now.get(aid) == nid for aid, nid in previous.items())
    assert unchanged >= 0.95 * len(previous)
    # the narratives of yesterday are still there under their ids
    assert {n.narrative_id for n in first.narratives} <= {n.narrative_id for n in second.narratives}


def test_syndicated_copies_count_once_and_follow_their_original(demo_articles):
    articles, vectors = demo_articles
    result = build_narratives(articles, vectors)
    home = {aid: n.narrative_id for n in result.narratives for aid in n.article_ids}
    copies = [a for a in articles if a.duplicate_of]
    assert copies
    for copy in copies:
        assert home.get(copy.article_id) == home.get(copy.duplicate_of)
    # the same clustering without the copies: every other membership is the same
    originals = [i for i, a in enumerate(articles) if not a.duplicate_of]
    alone = build_narratives([articles[i] for i in originals], vectors[originals])
    without = {aid: n.narrative_id for n in alone.narratives for aid in n.article_ids}
    assert without == {aid: nid for aid, nid in home.items() if aid in without}
