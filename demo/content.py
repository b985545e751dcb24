"""The authored text of the demo world, read from `data/demo/` (YAML, written by the project).

Nothing here is random and nothing depends on a date: this module only turns the YAML files
into typed, validated, NFC-normalised specs. `demo.world` decides dates and compositions.

Files (all under `data/demo/`):

- `outlets.yaml`       the source registry, exactly the `crawlers/sources.py` schema, with a
                       `{base}` placeholder for the live server's base URL;
- `chrome.yaml`        how each outlet looks (template family, tagline, bylines, time zone,
                       feed tracking) and the page chrome strings per language;
- `narratives/N*.yaml` one file per planted narrative: shape over the weeks, origin, and per
                       language a pool of headlines, leads, body paragraphs and quotes;
- `noise/*.yaml`       everyday stories, one per article, unrelated to each other;
- `broken.yaml`        the deliberately broken feed items and pages.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"
WEEKS = 7
SECTION_KEYS = (
    "news",
    "world",
    "economy",
    "society",
    "health",
    "environment",
    "culture",
    "tech",
    "sport",
    "travel",
)
FAMILIES = ("broadsheet", "magazine", "blog", "wire")
BROKEN_KINDS = ("http_404", "empty_article", "wrong_content_type", "robots_disallowed")
FEED_DEFECTS = ("malformed_xml", "wrong_encoding", "http_500")

try:  # libyaml when available: the demo texts load in a few milliseconds
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python fallback
    _Loader = yaml.SafeLoader


class DemoDataError(ValueError):
    """The authored demo data is inconsistent (names the file and the problem)."""


_CJK = "\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}“”‘’])|(?<=[{_CJK}“”‘’]) (?=[{_CJK}])")


def _text(value: Any) -> str:
    """NFC, single spaces, no surrounding blanks (folded YAML scalars keep a clean shape).

    Chinese has no spaces between words: a line break inside a folded scalar must not become
    one, so spaces between CJK characters are dropped.
    """
    text = unicodedata.normalize("NFC", str(value))
    text = re.sub(r"\s+", " ", text).strip()
    return _CJK_GAP.sub("", text)


def _texts(values: Any) -> tuple[str, ...]:
    return tuple(_text(v) for v in (values or ()))


def _load(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise DemoDataError(f"{path}: invalid YAML: {exc}") from exc


# --------------------------------------------------------------------------- outlets


@dataclass(frozen=True)
class OutletSpec:
    """An outlet as the registry describes it plus how the demo renders it."""

    outlet_id: str
    name: str
    country: str
    languages: tuple[str, ...]
    scope: str
    type: str
    tags: tuple[str, ...]
    feed_path: str  # e.g. /vwire/rss.xml
    family: str  # broadsheet | magazine | blog | wire
    short: str  # short name used in datelines and credits
    tagline: dict[str, str]
    bylines: dict[str, tuple[str, ...]]
    utc_offset_hours: float
    tracking: str  # always | sometimes | never (utm parameters on feed item links)
    feed_defect: str | None  # malformed_xml | wrong_encoding | http_500 | None

    @property
    def language(self) -> str:
        return self.languages[0]

    @property
    def feed_format(self) -> str:
        return "atom" if self.feed_path.endswith("atom.xml") else "rss"

    @property
    def home_path(self) -> str:
        return f"/{self.outlet_id}/"


@dataclass(frozen=True)
class Chrome:
    """Page chrome strings per language and section names per language."""

    ui: dict[str, dict[str, str]]
    sections: dict[str, dict[str, tuple[str, str]]]  # lang -> key -> (slug, label)


@cache
def outlets_yaml_text() -> str:
    return (DATA_DIR / "outlets.yaml").read_text(encoding="utf-8")


@cache
def load_outlets() -> tuple[OutletSpec, ...]:
    registry = yaml.load(outlets_yaml_text(), Loader=_Loader)  # noqa: S506
    chrome = _load(DATA_DIR / "chrome.yaml")["outlets"]
    specs = []
    for entry in registry["outlets"]:
        oid = entry["id"]
        look = chrome.get(oid)
        if look is None:
            raise DemoDataError(f"chrome.yaml: no presentation for outlet {oid!r}")
        feeds = entry.get("feeds") or []
        if len(feeds) != 1 or not feeds[0].startswith("{base}/"):
            raise DemoDataError(f"outlets.yaml: {oid}: expected one feed under {{base}}")
        family = look["family"]
        if family not in FAMILIES:
            raise DemoDataError(f"chrome.yaml: {oid}: unknown family {family!r}")
        defect = look.get("feed_defect")
        if defect is not None and defect not in FEED_DEFECTS:
            raise DemoDataError(f"chrome.yaml: {oid}: unknown feed_defect {defect!r}")
        specs.append(
            OutletSpec(
                outlet_id=oid,
                name=_text(entry["name"]),
                country=entry["country"],
                languages=tuple(entry["languages"]),
                scope=entry["scope"],
                type=entry["type"],
                tags=tuple(entry.get("tags") or ()),
                feed_path=feeds[0].removeprefix("{base}"),
                family=family,
                short=_text(look["short"]),
                tagline={k: _text(v) for k, v in look["tagline"].items()},
                bylines={k: _texts(v) for k, v in look["bylines"].items()},
                utc_offset_hours=float(look["utc_offset"]),
                tracking=look.get("tracking", "never"),
                feed_defect=defect,
            )
        )
    return tuple(specs)


@cache
def load_chrome() -> Chrome:
    data = _load(DATA_DIR / "chrome.yaml")
    ui = {lang: {k: _text(v) for k, v in strings.items()} for lang, strings in data["ui"].items()}
    sections = {
        lang: {key: (str(v["slug"]), _text(v["label"])) for key, v in table.items()}
        for lang, table in data["sections"].items()
    }
    for lang, table in sections.items():
        missing = set(SECTION_KEYS) - set(table)
        if missing:
            raise DemoDataError(f"chrome.yaml: sections.{lang}: missing {sorted(missing)}")
    return Chrome(ui=ui, sections=sections)


# --------------------------------------------------------------------------- narratives


@dataclass(frozen=True)
class LanguagePool:
    """What one narrative says in one language: the material articles are composed from."""

    language: str
    count: int  # articles in this language (vwire originals included, copies not)
    outlets: tuple[str, ...]
    headlines: tuple[str, ...]
    leads: tuple[str, ...]
    body: tuple[str, ...]
    quotes: tuple[str, ...]
    wire: int  # how many of `count` are vwire originals
    republishers: tuple[str, ...]  # outlets that republish vwire originals as near-copies
    late_from_week: int | None  # 1-based week from which the late material is used
    late_headlines: tuple[str, ...]
    late_leads: tuple[str, ...]


@dataclass(frozen=True)
class NarrativeSpec:
    narrative_id: str
    label: str
    topic: str
    section: str
    origin_outlet: str
    origin_language: str
    weeks: tuple[int, ...]
    datelines: dict[str, str]
    pools: dict[str, LanguagePool]

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.pools)


def _narrative(path: Path, outlet_ids: set[str]) -> NarrativeSpec:
    data = _load(path)
    nid = data["id"]
    where = f"{path.name} ({nid})"
    weeks = tuple(int(w) for w in data["weeks"])
    if len(weeks) != WEEKS:
        raise DemoDataError(f"{where}: weeks must list {WEEKS} numbers")
    pools: dict[str, LanguagePool] = {}
    for lang, p in data["languages"].items():
        late = p.get("late") or {}
        pool = LanguagePool(
            language=lang,
            count=int(p["count"]),
            outlets=tuple(p["outlets"]),
            headlines=_texts(p["headlines"]),
            leads=_texts(p["leads"]),
            body=_texts(p.get("body")),
            quotes=_texts(p.get("quotes")),
            wire=int(p.get("wire", 0)),
            republishers=tuple(p.get("republishers") or ()),
            late_from_week=late.get("from_week"),
            late_headlines=_texts(late.get("headlines")),
            late_leads=_texts(late.get("leads")),
        )
        unknown = (set(pool.outlets) | set(pool.republishers)) - outlet_ids
        if unknown:
            raise DemoDataError(f"{where}: {lang}: unknown outlets {sorted(unknown)}")
        if pool.wire and "vwire" not in pool.outlets:
            raise DemoDataError(f"{where}: {lang}: wire originals need vwire in outlets")
        if not pool.headlines or not pool.leads or len(pool.body) + len(pool.quotes) < 2:
            raise DemoDataError(f"{where}: {lang}: pool too small")
        pools[lang] = pool
    total = sum(p.count for p in pools.values())
    if total != sum(weeks):
        raise DemoDataError(f"{where}: language counts sum to {total}, weeks to {sum(weeks)}")
    origin = data["origin"]
    if origin["language"] not in pools or origin["outlet"] not in pools[origin["language"]].outlets:
        raise DemoDataError(f"{where}: origin outlet must carry the origin language")
    section = data["section"]
    if section not in SECTION_KEYS:
        raise DemoDataError(f"{where}: unknown section {section!r}")
    return NarrativeSpec(
        narrative_id=nid,
        label=_text(data["label"]),
        topic=data["topic"],
        section=section,
        origin_outlet=origin["outlet"],
        origin_language=origin["language"],
        weeks=weeks,
        datelines={k: _text(v) for k, v in (data.get("dateline") or {}).items()},
        pools=pools,
    )


@cache
def load_narratives() -> tuple[NarrativeSpec, ...]:
    outlet_ids = {o.outlet_id for o in load_outlets()}
    paths = sorted((DATA_DIR / "narratives").glob("N*.yaml"))
    return tuple(_narrative(path, outlet_ids) for path in paths)


# --------------------------------------------------------------------------- noise, broken


@dataclass(frozen=True)
class NoiseStory:
    key: str
    outlet_id: str
    language: str
    topic: str
    section: str
    title: str
    paragraphs: tuple[str, ...]


@cache
def load_noise() -> tuple[NoiseStory, ...]:
    outlets = {o.outlet_id: o for o in load_outlets()}
    stories: list[NoiseStory] = []
    seen: set[str] = set()
    for path in sorted((DATA_DIR / "noise").glob("*.yaml")):
        data = _load(path)
        lang = data["language"]
        for block in data["outlets"]:
            oid = block["outlet"]
            if oid not in outlets or lang not in outlets[oid].languages:
                raise DemoDataError(f"{path.name}: outlet {oid!r} does not publish in {lang}")
            for story in block["stories"]:
                key = f"{lang}-{story['key']}"
                if key in seen:
                    raise DemoDataError(f"{path.name}: duplicate story key {key!r}")
                seen.add(key)
                section = story["section"]
                if section not in SECTION_KEYS:
                    raise DemoDataError(f"{path.name}: {key}: unknown section {section!r}")
                stories.append(
                    NoiseStory(
                        key=key,
                        outlet_id=oid,
                        language=lang,
                        topic=story.get("topic", section),
                        section=section,
                        title=_text(story["title"]),
                        paragraphs=_texts(story["paragraphs"]),
                    )
                )
    return tuple(stories)


@dataclass(frozen=True)
class BrokenSpec:
    key: str
    outlet_id: str
    kind: str
    language: str
    section: str
    week: int  # 1-based
    title: str
    paragraphs: tuple[str, ...]


@cache
def load_broken() -> tuple[BrokenSpec, ...]:
    data = _load(DATA_DIR / "broken.yaml")
    outlets = {o.outlet_id for o in load_outlets()}
    items = []
    for entry in data["items"]:
        if entry["kind"] not in BROKEN_KINDS or entry["outlet"] not in outlets:
            raise DemoDataError(f"broken.yaml: bad item {entry.get('key')!r}")
        items.append(
            BrokenSpec(
                key=entry["key"],
                outlet_id=entry["outlet"],
                kind=entry["kind"],
                language=entry["language"],
                section=entry["section"],
                week=int(entry["week"]),
                title=_text(entry["title"]),
                paragraphs=_texts(entry.get("paragraphs")),
            )
        )
    return tuple(items)
