"""The demo world: counts, planted narratives, dates, texts, syndication, determinism."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter
from datetime import UTC, date, timedelta, timezone

from demo.world import HANOI, build_world, jaccard, shingles, week_mondays

from .conftest import ANCHOR

VI_MARKS = set("ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")
SYNDICATED_NARRATIVES = {"N02", "N04", "N05", "N12"}


def _weekly(world, narrative_id):
    counts = Counter(a.iso_week for a in world.narrative_articles(narrative_id))
    return [counts.get(week, 0) for week in world.iso_weeks]


def _length(article):
    if article.language == "zh":
        return len(re.sub(r"\s", "", article.body))
    return len(article.body.split())


def test_demo_world_counts(world):
    good = world.good_articles()
    assert len(world.outlets) >= 12
    assert len(good) >= 400
    weeks_with_data = {a.iso_week for a in good}
    assert len(weeks_with_data) >= 6
    assert len({a.narrative_id for a in good if a.narrative_id}) >= 12
    languages = Counter(a.language for a in good)
    assert {"vi", "en", "fr", "zh"} <= set(languages)
    assert languages["zh"] >= 2
    noise = [a for a in good if a.narrative_id is None]
    assert 0.25 <= len(noise) / len(good) <= 0.4  # about a third
    assert {o.scope for o in world.outlets} == {"domestic", "foreign"}
    assert len({o.country for o in world.outlets}) >= 5
    assert {"state", "public", "private", "wire", "blog"} <= {o.type for o in world.outlets}
    assert "vwire" in {o.outlet_id for o in world.outlets}


def test_demo_world_has_planted_narratives_across_languages(world):
    by_id = {n.narrative_id: n for n in world.narratives}
    assert set(by_id) == {f"N{i:02d}" for i in range(1, 15)}
    for nid, spec in by_id.items():
        articles = world.narrative_articles(nid)
        assert {a.language for a in articles} == set(spec.languages), nid
        assert len({a.outlet_id for a in articles}) >= 3, nid
    assert {"zh"} <= {a.language for a in world.narrative_articles("N01")}
    assert {"zh"} <= {a.language for a in world.narrative_articles("N13")}


def test_narratives_have_the_planned_shapes(world):
    n01 = _weekly(world, "N01")
    assert sum(n01[-2:]) > 2 * sum(n01[:-2]) and n01[-1] > n01[-2] > n01[-3]
    n02 = _weekly(world, "N02")
    assert n02.index(max(n02)) == 4 and n02[5] > n02[6]  # spike in week 5, fading
    assert all(_weekly(world, "N03")) and all(_weekly(world, "N08"))  # steady
    n04 = _weekly(world, "N04")
    assert n04[-1] >= n04[-2] >= n04[-3] and n04[-1] > 4 * n04[0]  # rising
    assert _weekly(world, "N05")[:2] == [0, 0] and _weekly(world, "N05")[6] == 0
    assert _weekly(world, "N06")[:4] == [0, 0, 0, 0]
    assert _weekly(world, "N07")[:3] == [0, 0, 0]
    assert _weekly(world, "N09")[:6] == [0] * 6 and _weekly(world, "N09")[6] > 0  # new
    assert _weekly(world, "N10")[:4] == [0] * 4
    n11 = _weekly(world, "N11")
    assert n11[0] == n11[4] == n11[5] == 0 and all(n11[1:4]) and n11[6] > 0  # comes back
    assert _weekly(world, "N12")[5:] == [0, 0]
    assert _weekly(world, "N13")[:5] == [0] * 5
    assert _weekly(world, "N14")[:5] == [0] * 5


def test_origin_outlet_publishes_first(world):
    for spec in world.narratives:
        first = world.narrative_articles(spec.narrative_id)[0]
        assert first.outlet_id == spec.origin_outlet, spec.narrative_id
        assert first.language == spec.origin_language, spec.narrative_id


def test_articles_fall_in_the_seven_weeks_before_the_anchor(world):
    mondays = week_mondays(ANCHOR)
    assert mondays[-1] == date(2025, 11, 10)  # 2025-W46, the last complete week
    assert world.latest_week == "2025-W46" and len(world.iso_weeks) == 7
    start = mondays[0]
    for a in world.articles:
        assert a.published_at.tzinfo is not None
        local = a.published_at.astimezone(HANOI)
        assert start <= local.date() < mondays[-1] + timedelta(days=7), a.key
        # the same ISO week in Hanoi, in UTC and in the outlet's own offset
        weeks = {
            a.published_at.astimezone(tz).isocalendar()[:2]
            for tz in (HANOI, UTC, a.published_at.tzinfo, timezone(timedelta(hours=-5)))
        }
        assert len(weeks) == 1, a.key
    assert {a.iso_week for a in world.good_articles()} == set(world.iso_weeks)


def test_default_anchor_is_today():
    today = build_world()
    assert today.anchor == date.today()
    assert max(a.published_at for a in today.articles).date() < date.today()


def test_world_is_deterministic_and_only_dates_move_with_the_anchor(world):
    again = build_world(ANCHOR)
    assert again.articles == world.articles
    same_week = build_world(ANCHOR + timedelta(days=2))  # a Saturday of the same week
    assert [(a.key, a.published_at) for a in same_week.articles] == [
        (a.key, a.published_at) for a in world.articles
    ]
    next_week = build_world(ANCHOR + timedelta(days=7))
    assert [(a.key, a.title, a.body) for a in next_week.articles] == [
        (a.key, a.title, a.body) for a in world.articles
    ]
    for a, b in zip(world.articles, next_week.articles, strict=True):
        assert b.published_at - a.published_at == timedelta(days=7)


def test_bodies_have_the_right_length_and_vietnamese_keeps_its_diacritics(world):
    for a in world.good_articles():
        low, high = (200, 700) if a.language == "zh" else (120, 350)
        assert low <= _length(a) <= high, (a.key, _length(a))
        assert 3 <= len(a.paragraphs) <= 7, a.key
        for text in (a.title, a.body):
            assert unicodedata.normalize("NFC", text) == text, a.key
        if a.language == "vi":
            assert VI_MARKS & set(a.body.lower()), a.key
            assert not a.title.isascii(), a.key


def test_syndicated_copies_are_near_duplicates_of_the_wire(world):
    by_path = world.by_path()
    outlets = {o.outlet_id: o for o in world.outlets}
    copies = [a for a in world.good_articles() if a.syndicated_from]
    assert len(copies) >= 12
    assert {a.narrative_id for a in copies} == SYNDICATED_NARRATIVES
    for copy in copies:
        original = by_path[copy.syndicated_from]
        assert original.outlet_id == "vwire" and copy.outlet_id != "vwire"
        assert original.narrative_id == copy.narrative_id
        assert copy.language == original.language in outlets[copy.outlet_id].languages
        assert copy.published_at > original.published_at
        assert copy.iso_week == original.iso_week
        assert copy.title != original.title
        assert copy.paragraphs[0] != original.paragraphs[0]  # changed first line
        similarity = jaccard(
            shingles(copy.body, copy.language), shingles(original.body, original.language)
        )
        assert similarity >= 0.8, copy.key


def test_articles_that_are_not_copies_do_not_look_like_copies(world):
    good = world.good_articles()
    sets = {a.key: shingles(a.body, a.language) for a in good}

    def family(a):
        return a.syndicated_from or a.path

    for a, b in itertools.combinations(good, 2):
        if family(a) == family(b):
            continue
        assert jaccard(sets[a.key], sets[b.key]) < 0.6, (a.key, b.key)


def test_noise_stories_are_distinct_from_each_other(world):
    noise = [a for a in world.good_articles() if a.narrative_id is None]
    assert len({a.title for a in noise}) == len(noise)
    sets = {a.key: shingles(a.body, a.language, size=3) for a in noise}
    for a, b in itertools.combinations(noise, 2):
        assert jaccard(sets[a.key], sets[b.key]) < 0.1, (a.key, b.key)


def test_broken_items_are_listed_and_not_counted(world):
    broken = Counter(a.broken for a in world.broken_articles())
    assert broken["http_404"] >= 3
    assert broken["empty_article"] == broken["wrong_content_type"] == 1
    assert broken["robots_disallowed"] == 1
    assert all(a.narrative_id is None for a in world.broken_articles())
    assert set(world.feed_defects.values()) == {"malformed_xml", "wrong_encoding", "http_500"}
    assert world.counts()["kind"]["good"] == len(world.good_articles())


def test_ground_truth_does_not_leak_into_public_ids(world):
    for a in world.articles:
        assert a.key not in a.path and not re.search(r"\bN\d\d\b", a.path)
        assert a.public_id not in a.key
