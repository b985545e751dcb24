"""Duplicates: syndicated copies are found across outlets; different stories are not."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from crawlers.dedup import find_duplicates
from crawlers.extract import extract_html
from mediawatch.records import Article, content_hash, stable_id
from tests.crawlers.fixture_server import SITE

BASE = "http://127.0.0.1:8000"
FETCHED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def article(
    outlet_id: str, path: str, title: str, text: str, published: datetime | None
) -> Article:
    return Article(
        article_id=stable_id(BASE + path),
        outlet_id=outlet_id,
        url=BASE + path,
        canonical_url=BASE + path,
        title=title,
        text=text,
        published_at=published,
        language=None,
        byline=None,
        content_hash=content_hash(title, text),
        fetched_at=FETCHED,
    )


def from_fixture(outlet_id: str, path: str, published: datetime | None = None) -> Article:
    body = (SITE / path.lstrip("/")).read_bytes()
    extracted = extract_html(body, BASE + path)
    return article(
        outlet_id, path, extracted.title, extracted.text, published or extracted.published_at
    )


WIRE = from_fixture("lotus", "/lotus/en/2026/11/lam-ha-reservoir-opens.html")
WIRE_VI = from_fixture("lotus", "/lotus/vi/2026/11/ho-chua-lam-ha-van-hanh.html")
SYNDICATED = from_fixture("harbour", "/harbour/2026/11/18/song-lam-flood-reservoir.html")
RICE = from_fixture(
    "harbour", "/harbour/features/salt-tolerant-rice.html", datetime(2026, 11, 19, tzinfo=UTC)
)


def later(original: Article, outlet_id: str, path: str, *, title: str | None = None,
          text: str | None = None, hours: int = 5) -> Article:  # fmt: skip
    assert original.published_at is not None
    return article(
        outlet_id,
        path,
        title if title is not None else original.title,
        text if text is not None else original.text,
        original.published_at + timedelta(hours=hours),
    )


def test_syndicated_copy_with_new_headline_and_first_paragraph_is_found() -> None:
    # the Harbour Times ran the wire story under its own headline and lead
    assert SYNDICATED.title != WIRE.title
    assert SYNDICATED.text.split("\n")[0] != WIRE.text.split("\n")[0]

    assert find_duplicates([WIRE, SYNDICATED, RICE, WIRE_VI]) == {
        SYNDICATED.article_id: WIRE.article_id
    }


def test_different_story_on_the_same_subject_is_not_a_duplicate() -> None:
    flood_follow_up = later(
        WIRE,
        "harbour",
        "/harbour/2026/11/20/dyke-repairs.html",
        title="Dyke repairs finished along the lower Lam river",
        text=(
            "Repairs to eleven kilometres of dyke along the lower Lam river were finished on "
            "Friday, the provincial water resources department said, ahead of the storms "
            "forecast for the central coast. Workers raised the crest by half a metre and "
            "replaced two sluice gates damaged in last year's floods, which cut the national "
            "highway for five days. Farmers downstream said the work came late but would "
            "protect about 3,000 hectares of rice. The department will inspect the dyke again "
            "after each storm and publish its findings."
        ),
    )

    assert find_duplicates([WIRE, flood_follow_up, RICE]) == {}


def test_exact_copy_points_to_the_earliest_published() -> None:
    copy = later(WIRE, "harbour", "/harbour/copy.html")
    earlier_copy = later(WIRE, "paddy", "/paddy/copy.html", hours=-3)

    duplicates = find_duplicates([copy, WIRE, earlier_copy])

    assert duplicates == {
        WIRE.article_id: earlier_copy.article_id,
        copy.article_id: earlier_copy.article_id,
    }


def test_same_text_under_another_headline_is_an_exact_duplicate() -> None:
    retitled = later(WIRE, "harbour", "/harbour/retitled.html", title="Reservoir fills up")

    assert find_duplicates([WIRE, retitled]) == {retitled.article_id: WIRE.article_id}


def test_copy_cut_short_with_a_tagline_added_is_a_duplicate() -> None:
    paragraphs = WIRE.text.split("\n")
    cut = "\n".join(paragraphs[:5] + ["(Reporting by Lotus Wire Service)"])

    copy = later(WIRE, "paddy", "/paddy/reservoir.html", text=cut)

    assert find_duplicates([WIRE, copy]) == {copy.article_id: WIRE.article_id}


def test_articles_reusing_the_same_passages_in_another_order_are_not_duplicates() -> None:
    # several outlets quoting one press release: shared paragraphs, each in its own order
    paragraphs = WIRE.text.split("\n")
    reordered = [paragraphs[i] for i in (3, 1, 5, 2, 4)]
    own_lead = "Song Lam's new reservoir was the talk of the provincial council on Tuesday."
    other = later(WIRE, "harbour", "/harbour/council.html", text="\n".join([own_lead, *reordered]))

    assert find_duplicates([WIRE, other]) == {}


def test_copies_of_copies_point_to_the_first_original() -> None:
    paragraphs = WIRE.text.split("\n")
    second = later(WIRE, "harbour", "/h.html", text="\n".join(["New lead one."] + paragraphs[1:]))
    third = later(
        second, "paddy", "/p.html", text="\n".join(second.text.split("\n")[:-1] + ["New end."])
    )

    assert find_duplicates([third, second, WIRE]) == {
        second.article_id: WIRE.article_id,
        third.article_id: WIRE.article_id,
    }


def test_vietnamese_copy_with_a_rewritten_lead_is_found() -> None:
    paragraphs = WIRE_VI.text.split("\n")
    lead = (
        "Theo Thông tấn Hoa Sen, tỉnh Sông Lam vừa đưa hồ chứa mới vào vận hành trước mùa mưa bão."
    )
    copy = later(
        WIRE_VI, "saigon-daily", "/sd/ho-chua.html", text="\n".join([lead] + paragraphs[1:])
    )

    assert find_duplicates([copy, WIRE_VI, WIRE]) == {copy.article_id: WIRE_VI.article_id}


def test_a_translation_is_not_a_duplicate() -> None:
    assert find_duplicates([WIRE, WIRE_VI]) == {}


def test_result_does_not_depend_on_input_order() -> None:
    articles = [WIRE, SYNDICATED, RICE, WIRE_VI, later(WIRE, "paddy", "/paddy/copy.html")]
    expected = find_duplicates(articles)

    for seed in range(5):
        shuffled = articles[:]
        random.Random(seed).shuffle(shuffled)
        assert find_duplicates(shuffled) == expected


def test_undated_copies_count_as_later_than_dated_originals() -> None:
    undated = article("paddy", "/paddy/undated.html", WIRE.title, WIRE.text, None)

    assert find_duplicates([undated, WIRE]) == {undated.article_id: WIRE.article_id}


def test_short_texts_are_only_matched_exactly() -> None:
    one = later(WIRE, "a", "/a.html", text="Storm warning for the central coast tonight.")
    other = later(WIRE, "b", "/b.html", text="Storm warning for the northern coast tonight.")

    assert find_duplicates([one, other]) == {}


def test_a_stricter_threshold_lets_heavier_rewrites_through() -> None:
    paragraphs = WIRE.text.split("\n")
    new_paragraph = (
        "Officials gave no figure for the total volume of the lake, but said that engineers "
        "had spent the weekend testing the gates and that the first water reached the upper "
        "valley faster than the models had predicted, flooding two unused forestry roads."
    )
    rewritten = later(
        WIRE,
        "harbour",
        "/rewrite.html",
        text="\n".join([paragraphs[0], new_paragraph] + paragraphs[2:]),
    )

    assert find_duplicates([WIRE, rewritten]) == {rewritten.article_id: WIRE.article_id}
    assert find_duplicates([WIRE, rewritten], threshold=0.95) == {}
