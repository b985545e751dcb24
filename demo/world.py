"""The demo world: every article of every demo outlet, with its ground truth.

`build_world(anchor)` is deterministic: the texts, outlets, narratives and the order of
everything come from the authored YAML and fixed seeds; the anchor only decides which seven
ISO weeks the articles fall in (the seven weeks ending with the last complete ISO week
before the anchor day, in Asia/Ho_Chi_Minh time). Two anchors in the same ISO week give the
same world; anchors a week apart give the same world shifted by seven days.

Times are chosen so that every article falls in the same ISO week whether one counts in
Hanoi time, UTC or the outlet's own time (UTC-5 to UTC+10): Mondays after 13:00 and Sundays
before 20:00 Hanoi time.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from demo.content import (
    WEEKS,
    NarrativeSpec,
    OutletSpec,
    load_broken,
    load_chrome,
    load_narratives,
    load_noise,
    load_outlets,
)

HANOI = timezone(timedelta(hours=7))
SEED = "mediawatch-demo-v1"
TRACKING_QUERY = "?utm_source=rss&utm_medium=feed"
WIRE_ID = "vwire"


def public_host(outlet_id: str) -> str:
    """The fictional public host of a demo outlet (`.example` never resolves)."""
    return f"{outlet_id}.example"


def public_url(outlet_id: str, path: str) -> str:
    prefix = f"/{outlet_id}"
    rest = path[len(prefix) :] if path.startswith(prefix + "/") else path
    return f"https://{public_host(outlet_id)}{rest}"


@dataclass(frozen=True)
class DemoArticle:
    """One item of the demo world, as an outlet publishes it (and the truth behind it)."""

    key: str  # stable id inside the demo world, e.g. "N04-vi-07", "noise-en-h03"
    outlet_id: str
    path: str  # URL path of the article page (canonical URL = base + path)
    title: str
    body: str  # paragraphs separated by blank lines ("" for pages that carry no text)
    published_at: datetime  # timezone-aware, in the outlet's own UTC offset
    language: str
    narrative_id: str | None  # None for noise and for broken items
    syndicated_from: str | None  # path of the vwire original this near-copy republishes
    broken: str | None  # http_404 | empty_article | wrong_content_type | robots_disallowed
    section: str  # section key (news, economy, ...)
    byline: str
    summary: str  # what the feed says of it
    feed_query: str = ""  # tracking parameters added to the link in the feed, if any
    topic: str = ""

    @property
    def public_id(self) -> str:
        """An opaque id for feeds (the key itself would give the ground truth away)."""
        return hashlib.sha256(f"{SEED}/{self.key}".encode()).hexdigest()[:12]

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.body.split("\n\n") if p]

    @property
    def good(self) -> bool:
        return self.broken is None

    @property
    def iso_week(self) -> str:
        year, week, _ = self.published_at.astimezone(HANOI).isocalendar()
        return f"{year}-W{week:02d}"

    def url(self, base_url: str) -> str:
        return base_url.rstrip("/") + self.path

    @property
    def canonical_url(self) -> str:
        """Where the outlet says the article lives: its own public host, not the demo server.

        Article identity comes from the canonical URL, so it must not change with the port
        the demo server happens to get; real outlets behave the same way behind mirrors.
        """
        return public_url(self.outlet_id, self.path)

    def feed_url(self, base_url: str) -> str:
        """The link as the feed gives it (sometimes with tracking parameters)."""
        return self.url(base_url) + self.feed_query


@dataclass(frozen=True)
class DemoWorld:
    anchor: date
    week_mondays: tuple[date, ...]  # the seven ISO weeks, oldest first
    outlets: tuple[OutletSpec, ...]
    articles: tuple[DemoArticle, ...]  # sorted by published_at, then key
    narratives: tuple[NarrativeSpec, ...]
    feed_defects: dict[str, str] = field(default_factory=dict)  # outlet_id -> defect

    @property
    def iso_weeks(self) -> list[str]:
        labels = []
        for monday in self.week_mondays:
            year, week, _ = monday.isocalendar()
            labels.append(f"{year}-W{week:02d}")
        return labels

    @property
    def latest_week(self) -> str:
        return self.iso_weeks[-1]

    def good_articles(self) -> list[DemoArticle]:
        return [a for a in self.articles if a.broken is None]

    def broken_articles(self) -> list[DemoArticle]:
        return [a for a in self.articles if a.broken is not None]

    def outlet(self, outlet_id: str) -> OutletSpec:
        for spec in self.outlets:
            if spec.outlet_id == outlet_id:
                return spec
        raise KeyError(outlet_id)

    def articles_of(self, outlet_id: str) -> list[DemoArticle]:
        return [a for a in self.articles if a.outlet_id == outlet_id]

    def narrative_articles(self, narrative_id: str) -> list[DemoArticle]:
        return [a for a in self.articles if a.narrative_id == narrative_id]

    def by_path(self) -> dict[str, DemoArticle]:
        return {a.path: a for a in self.articles}

    def counts(self) -> dict[str, dict[str, int]]:
        """Figures for reports: good articles per language, narrative, week, outlet, kind."""
        good = self.good_articles()
        return {
            "language": dict(sorted(Counter(a.language for a in good).items())),
            "narrative": dict(sorted(Counter(a.narrative_id or "noise" for a in good).items())),
            "week": dict(sorted(Counter(a.iso_week for a in good).items())),
            "outlet": dict(sorted(Counter(a.outlet_id for a in good).items())),
            "kind": {
                "good": len(good),
                "narrative": sum(1 for a in good if a.narrative_id),
                "noise": sum(1 for a in good if not a.narrative_id),
                "syndicated": sum(1 for a in good if a.syndicated_from),
                "broken": len(self.broken_articles()),
            },
        }


def week_mondays(anchor: date) -> tuple[date, ...]:
    """Mondays of the seven ISO weeks ending with the last complete week before `anchor`."""
    this_monday = anchor - timedelta(days=anchor.weekday())
    last = this_monday - timedelta(days=7)
    return tuple(last - timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS))


# --------------------------------------------------------------------------- helpers


def _random_offset(rng: random.Random) -> timedelta:
    """A moment inside a week (from its Monday 00:00 Hanoi time) safe for every time zone."""
    day = rng.randrange(7)
    if day == 0:
        hour = rng.randint(13, 21)
    elif day == 6:
        hour = rng.randint(7, 18)
    else:
        hour = rng.randint(7, 21)
    return timedelta(days=day, hours=hour, minutes=rng.randrange(60))


def _day_limit(offset: timedelta) -> timedelta:
    """Latest safe moment on the same day as `offset`."""
    day = offset.days
    return timedelta(days=day, hours=19 if day == 6 else 21, minutes=59)


def _words(text: str) -> int:
    return len(text.split())


def _length(text: str, language: str) -> int:
    """Length in words, or in characters for Chinese (no spaces between words)."""
    if language == "zh":
        return len(re.sub(r"\s", "", text))
    return _words(text)


def _targets(language: str, rng: random.Random) -> tuple[int, int]:
    if language == "zh":
        return rng.randint(260, 400), 620
    return rng.randint(170, 290), 340


def slugify(text: str, max_words: int = 9) -> str:
    text = text.replace("đ", "d").replace("Đ", "D").replace("œ", "oe").replace("æ", "ae")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return "-".join(words[:max_words])


def _summary(paragraph: str, language: str) -> str:
    if language == "zh":
        return paragraph if len(paragraph) <= 90 else paragraph[:88] + "…"
    words = paragraph.split()
    return paragraph if len(words) <= 40 else " ".join(words[:38]) + " …"


class _Cycle:
    """Deterministic round-robin over a shuffled list (every item used before repeats)."""

    def __init__(self, items: Iterable[str], rng: random.Random):
        self._items = list(items)
        rng.shuffle(self._items)
        self._rng = rng
        self._i = 0

    def next(self, avoid: set[str] | None = None) -> str:
        for step in range(len(self._items)):
            item = self._items[(self._i + step) % len(self._items)]
            if not avoid or item not in avoid:
                self._i += step + 1
                return item
        item = self._items[self._i % len(self._items)]
        self._i += 1
        return item


@dataclass
class _Draft:
    key: str
    outlet_id: str
    week: int  # 0-based
    offset: timedelta
    title: str
    paragraphs: list[str]
    language: str
    section: str
    narrative_id: str | None = None
    syndicated_from_key: str | None = None
    broken: str | None = None
    byline: str | None = None
    topic: str = ""


# --------------------------------------------------------------------------- narratives


def shingles(text: str, language: str, size: int = 5) -> frozenset[str]:
    """Word 5-grams (character 5-grams for Chinese): what near-duplicate detection compares."""
    if language == "zh":
        chars = re.sub(r"\s", "", text)
        return frozenset(chars[i : i + size] for i in range(max(1, len(chars) - size + 1)))
    words = text.lower().split()
    return frozenset(" ".join(words[i : i + size]) for i in range(max(1, len(words) - size + 1)))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


MAX_SIBLING_JACCARD = 0.5  # two articles of one story must not look like copies of each other


def _alternate(chosen: list[int], n_body: int) -> list[int]:
    body = [i for i in chosen if i < n_body]
    quotes = [i for i in chosen if i >= n_body]
    order: list[int] = []
    while body or quotes:
        if body:
            order.append(body.pop(0))
        if quotes:
            order.append(quotes.pop(0))
    return order


def _compose_paragraphs(
    rng: random.Random,
    leads: list[str],
    extras: list[str],
    language: str,
    previous: list[frozenset[str]],
    n_body: int,
) -> tuple[list[str], int]:
    """A lead and 2-5 extra paragraphs, of the right length, unlike earlier siblings.

    `extras` holds the body paragraphs (the first `n_body`) and then the quotes; the chosen
    ones are laid out body, quote, body, quote, ... as a reporter would.

    `leads` is in order of preference (least used first). Among up to 80 random
    compositions the first whose shingle overlap with every earlier article of the same
    story and language stays under MAX_SIBLING_JACCARD wins; failing that, the least similar.
    Returns the paragraphs and the index of the lead used.
    """
    best: tuple[float, list[str], int] | None = None
    for attempt in range(80):
        lead_index = min(attempt // 20, len(leads) - 1)
        lead = leads[lead_index]
        target, ceiling = _targets(language, rng)
        order = list(range(len(extras)))
        rng.shuffle(order)
        chosen: list[int] = []
        total = _length(lead, language)
        for index in order:
            if len(chosen) >= 5:
                break
            size = _length(extras[index], language)
            if total + size > ceiling:
                continue
            chosen.append(index)
            total += size
            if total >= target and len(chosen) >= 2:
                break
        if len(chosen) < 2 or total < (200 if language == "zh" else 125):
            continue
        paragraphs = [lead] + [extras[i] for i in _alternate(chosen, n_body)]
        mine = shingles(" ".join(paragraphs), language)
        worst = max((jaccard(mine, p) for p in previous), default=0.0)
        if best is None or worst < best[0]:
            best = (worst, paragraphs, lead_index)
        if worst < MAX_SIBLING_JACCARD:
            break
    if best is None:
        raise ValueError(f"cannot compose an article of the right length from {leads[0][:40]!r}")
    return best[1], best[2]


def _narrative_drafts(spec: NarrativeSpec, outlets: dict[str, OutletSpec]) -> list[_Draft]:
    rng = random.Random(f"{SEED}/{spec.narrative_id}")
    # 1. time slots, by week, sorted
    slots: list[tuple[int, timedelta]] = []
    for week, n in enumerate(spec.weeks):
        slots += [(week, _random_offset(rng)) for _ in range(n)]
    slots.sort()
    used: set[tuple[int, timedelta]] = set()
    for i, slot in enumerate(slots):
        while slot in used:
            slot = (slot[0], slot[1] + timedelta(minutes=7))
        used.add(slot)
        slots[i] = slot
    slots.sort()
    # 2. a language for each slot: the origin's first, the rest shuffled
    languages: list[str] = []
    for lang, pool in spec.pools.items():
        languages += [lang] * pool.count
    languages.remove(spec.origin_language)
    rng.shuffle(languages)
    languages.insert(0, spec.origin_language)
    # 3. an outlet for each slot: the origin first, vwire for the wire originals, then the rest
    slot_outlets: list[str] = [""] * len(slots)
    slot_outlets[0] = spec.origin_outlet
    for lang, pool in spec.pools.items():
        indices = [i for i, language in enumerate(languages) if language == lang]
        free = [i for i in indices if not slot_outlets[i]]
        wire_left = pool.wire - (
            1 if spec.origin_outlet == WIRE_ID and spec.origin_language == lang else 0
        )
        # wire originals spread over the narrative's life, not bunched at its start
        if wire_left > 0:
            step = len(free) / wire_left
            picks = [free[min(len(free) - 1, int(step * k + step / 2))] for k in range(wire_left)]
            for i in picks:
                slot_outlets[i] = WIRE_ID
        others = [o for o in pool.outlets if o != WIRE_ID] or [WIRE_ID]
        cycle = _Cycle(others, rng)
        for i in indices:
            if not slot_outlets[i]:
                slot_outlets[i] = cycle.next()
    # 4. compose
    headline_cycles = {
        lang: _Cycle(pool.headlines, random.Random(f"{SEED}/{spec.narrative_id}/{lang}/h"))
        for lang, pool in spec.pools.items()
    }
    late_headline_cycles = {
        lang: _Cycle(pool.late_headlines, random.Random(f"{SEED}/{spec.narrative_id}/{lang}/lh"))
        for lang, pool in spec.pools.items()
        if pool.late_headlines
    }
    lead_cycles = {
        lang: _Cycle(pool.leads, random.Random(f"{SEED}/{spec.narrative_id}/{lang}/l"))
        for lang, pool in spec.pools.items()
    }
    late_lead_cycles = {
        lang: _Cycle(pool.late_leads, random.Random(f"{SEED}/{spec.narrative_id}/{lang}/ll"))
        for lang, pool in spec.pools.items()
        if pool.late_leads
    }
    titles_by_outlet: dict[str, set[str]] = defaultdict(set)
    previous: dict[str, list[frozenset[str]]] = defaultdict(list)
    lead_uses: Counter[str] = Counter()
    numbers: Counter[str] = Counter()
    drafts: list[_Draft] = []
    for (week, offset), lang, oid in zip(slots, languages, slot_outlets, strict=True):
        pool = spec.pools[lang]
        late = pool.late_from_week is not None and week + 1 >= pool.late_from_week
        headlines = late_headline_cycles.get(lang) if late else None
        leads = late_lead_cycles.get(lang) if late else None
        title = (headlines or headline_cycles[lang]).next(avoid=titles_by_outlet[oid])
        titles_by_outlet[oid].add(title)
        first = (leads or lead_cycles[lang]).next()
        lead_pool = list(pool.late_leads if late and pool.late_leads else pool.leads)
        ordered = [first] + sorted(
            (x for x in lead_pool if x != first), key=lambda x: (lead_uses[x], lead_pool.index(x))
        )
        shown = ordered
        if oid == WIRE_ID and lang in spec.datelines:
            dash = "–" if lang == "vi" else "—"
            shown = [f"{spec.datelines[lang]} (VWire) {dash} {x}" for x in ordered]
        extras = list(pool.body) + list(pool.quotes)
        paragraphs, lead_index = _compose_paragraphs(
            rng, shown, extras, lang, previous[lang], n_body=len(pool.body)
        )
        lead_uses[ordered[lead_index]] += 1
        previous[lang].append(shingles(" ".join(paragraphs), lang))
        numbers[lang] += 1
        drafts.append(
            _Draft(
                key=f"{spec.narrative_id}-{lang}-{numbers[lang]:02d}",
                outlet_id=oid,
                week=week,
                offset=offset,
                title=title,
                paragraphs=paragraphs,
                language=lang,
                section=spec.section,
                narrative_id=spec.narrative_id,
                topic=spec.topic,
            )
        )
    # 5. near-copies of the wire originals
    copies: list[_Draft] = []
    for original in drafts:
        if original.outlet_id != WIRE_ID:
            continue
        pool = spec.pools[original.language]
        if not pool.republishers:
            continue
        n = min(len(pool.republishers), rng.choice((2, 2, 3)))
        for j, oid in enumerate(rng.sample(list(pool.republishers), n)):
            outlet = outlets[oid]
            delay = timedelta(minutes=rng.randint(35, 170))
            offset = original.offset + delay
            if offset > _day_limit(original.offset):
                offset = original.offset + timedelta(minutes=5 + 4 * j)
            candidates = [h for h in pool.headlines if h != original.title]
            title = candidates[rng.randrange(len(candidates))]
            first = original.paragraphs[0].replace("(VWire)", f"({outlet.short})", 1)
            vi = original.language == "vi"
            credit = "(Theo Thông tấn Việt – VWire)" if vi else "(Viet Wire Service)"
            copies.append(
                _Draft(
                    key=f"{original.key}-copy-{oid}",
                    outlet_id=oid,
                    week=original.week,
                    offset=offset,
                    title=title,
                    paragraphs=[first, *original.paragraphs[1:], credit],
                    language=original.language,
                    section=original.section,
                    narrative_id=spec.narrative_id,
                    syndicated_from_key=original.key,
                    byline="Thông tấn Việt" if vi else "Viet Wire Service",
                    topic=spec.topic,
                )
            )
    return drafts + copies


# --------------------------------------------------------------------------- noise, broken


def _noise_drafts() -> list[_Draft]:
    stories = sorted(load_noise(), key=lambda s: s.key)
    order = list(range(len(stories)))
    random.Random(f"{SEED}/noise/order").shuffle(order)
    drafts = []
    for position, index in enumerate(order):
        story = stories[index]
        rng = random.Random(f"{SEED}/noise/{story.key}")
        drafts.append(
            _Draft(
                key=f"noise-{story.key}",
                outlet_id=story.outlet_id,
                week=position % WEEKS,
                offset=_random_offset(rng),
                title=story.title,
                paragraphs=list(story.paragraphs),
                language=story.language,
                section=story.section,
                topic=story.topic,
            )
        )
    return drafts


def _broken_drafts() -> list[_Draft]:
    drafts = []
    for spec in load_broken():
        rng = random.Random(f"{SEED}/broken/{spec.key}")
        drafts.append(
            _Draft(
                key=f"broken-{spec.key}",
                outlet_id=spec.outlet_id,
                week=spec.week - 1,
                offset=_random_offset(rng),
                title=spec.title,
                paragraphs=list(spec.paragraphs),
                language=spec.language,
                section=spec.section,
                broken=spec.kind,
                topic=spec.section,
            )
        )
    return drafts


# --------------------------------------------------------------------------- paths


def language_root(outlet: OutletSpec, language: str) -> str:
    """Where an outlet's pages in `language` live: /oid/ for its first language, else /oid/xx/."""
    if language == outlet.language:
        return f"/{outlet.outlet_id}/"
    return f"/{outlet.outlet_id}/{language}/"


def _article_path(
    outlet: OutletSpec, draft: _Draft, published: datetime, number: int, taken: set[str]
) -> str:
    chrome = load_chrome()
    section_slug = chrome.sections[draft.language][draft.section][0]
    slug = (slugify(draft.title) if draft.language != "zh" else "") or f"a{number}"
    root = language_root(outlet, draft.language)
    if draft.broken == "robots_disallowed":
        path = f"/{outlet.outlet_id}/private/{slug}/"
    elif outlet.family == "broadsheet":
        path = f"{root}{section_slug}/{slug}-{number}.html"
        if slug == f"a{number}":
            path = f"{root}{section_slug}/{number}.html"
    elif outlet.family == "magazine":
        path = f"{root}{published:%Y/%m/%d}/{slug}/"
    elif outlet.family == "blog":
        path = f"{root}{published:%Y/%m}/{slug}/"
    else:  # wire
        path = f"{root}story/{published:%Y%m%d}-{number:04d}"
    if path in taken:
        path = path.rstrip("/") + f"-{number}" + ("/" if path.endswith("/") else "")
    taken.add(path)
    return path


def build_world(anchor: date | None = None) -> DemoWorld:
    """Every article of the demo outlets, dated in the seven weeks before `anchor`."""
    anchor = anchor or date.today()
    mondays = week_mondays(anchor)
    outlets = load_outlets()
    by_id = {o.outlet_id: o for o in outlets}
    narratives = load_narratives()
    drafts: list[_Draft] = []
    for spec in narratives:
        drafts += _narrative_drafts(spec, by_id)
    drafts += _noise_drafts()
    drafts += _broken_drafts()

    def moment(d: _Draft) -> datetime:
        start = datetime.combine(mondays[d.week], datetime.min.time(), tzinfo=HANOI)
        return start + d.offset

    drafts.sort(key=lambda d: (moment(d), d.key))
    # numbers and paths, per outlet in publication order
    paths: dict[str, str] = {}
    published: dict[str, datetime] = {}
    taken: set[str] = set()
    per_outlet: Counter[str] = Counter()
    for d in drafts:
        outlet = by_id[d.outlet_id]
        tz = timezone(timedelta(hours=outlet.utc_offset_hours))
        when = moment(d).astimezone(tz)
        per_outlet[d.outlet_id] += 1
        number = 1000 + 37 * per_outlet[d.outlet_id] + sum(map(ord, d.outlet_id)) % 37
        published[d.key] = when
        paths[d.key] = _article_path(outlet, d, when, number, taken)
    articles = []
    for d in drafts:
        outlet = by_id[d.outlet_id]
        rng = random.Random(f"{SEED}/article/{d.key}")
        byline = d.byline
        if byline is None:
            names = outlet.bylines.get(d.language) or outlet.bylines[outlet.language]
            byline = names[rng.randrange(len(names))]
        if outlet.tracking == "always":
            query = TRACKING_QUERY
        elif outlet.tracking == "sometimes":
            query = TRACKING_QUERY if rng.random() < 0.4 else ""
        else:
            query = ""
        body = "\n\n".join(d.paragraphs) if d.broken in (None, "robots_disallowed") else ""
        summary_source = d.paragraphs[0] if d.paragraphs else d.title
        articles.append(
            DemoArticle(
                key=d.key,
                outlet_id=d.outlet_id,
                path=paths[d.key],
                title=d.title,
                body=body,
                published_at=published[d.key],
                language=d.language,
                narrative_id=d.narrative_id if d.broken is None else None,
                syndicated_from=paths[d.syndicated_from_key] if d.syndicated_from_key else None,
                broken=d.broken,
                section=d.section,
                byline=byline,
                summary=_summary(summary_source, d.language),
                feed_query=query,
                topic=d.topic,
            )
        )
    defects = {o.outlet_id: o.feed_defect for o in outlets if o.feed_defect}
    return DemoWorld(
        anchor=anchor,
        week_mondays=mondays,
        outlets=outlets,
        articles=tuple(articles),
        narratives=narratives,
        feed_defects=defects,
    )
