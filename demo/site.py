"""The whole demo site as bytes: every page, feed and file the server answers with.

`build_site(world, base_url)` returns {path: Resource}. It is a pure function of the world
and the base URL: the same anchor and base give byte-identical resources. Paths are looked
up without their query string, so `?utm_source=rss&utm_medium=feed` links resolve to the
same page (whose canonical link carries no parameters).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from demo.content import SECTION_KEYS, OutletSpec, load_chrome
from demo.feeds import render_atom, render_rss
from demo.pages import (
    CSS,
    ArticleView,
    Ctx,
    Link,
    e,
    render_article,
    render_listing,
    render_not_found,
    render_static,
)
from demo.world import DemoArticle, DemoWorld, language_root

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
PDF = "application/pdf"
HOME_ITEMS = 30
SECTION_ITEMS = 40
RELATED_ITEMS = 4
MOST_READ_ITEMS = 5

# A small, valid one-page PDF: what a CMS serves when an "article" is really a document.
PDF_BYTES = (
    b"%PDF-1.4\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >> endobj\n"
    b"4 0 obj << /Length 44 >> stream\n"
    b"BT /F1 12 Tf 72 770 Td (Quarterly report) Tj ET\n"
    b"endstream endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


@dataclass(frozen=True)
class Resource:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _section_href(outlet: OutletSpec, root: str, slug: str) -> str:
    if outlet.family == "blog":
        return f"{root}category/{slug}/"
    if outlet.family == "wire":
        return f"{root}topic/{slug}/"
    return f"{root}{slug}/"


def _link(article: DemoArticle) -> Link:
    return Link(article.title, article.path, article.published_at, article.summary)


def _related(article: DemoArticle, pool: Sequence[DemoArticle]) -> list[DemoArticle]:
    """Same story first, then same section, each nearest in time; never itself or broken."""
    candidates = [a for a in pool if a.key != article.key and a.good]

    def distance(a: DemoArticle) -> tuple[float, str]:
        return (abs((a.published_at - article.published_at).total_seconds()), a.key)

    same_story = sorted(
        (a for a in candidates if article.narrative_id and a.narrative_id == article.narrative_id),
        key=distance,
    )
    chosen = same_story[:2]
    rest = sorted(
        (a for a in candidates if a.section == article.section and a not in chosen), key=distance
    )
    chosen += rest[: RELATED_ITEMS - len(chosen)]
    if len(chosen) < RELATED_ITEMS:
        others = sorted((a for a in candidates if a not in chosen), key=distance)
        chosen += others[: RELATED_ITEMS - len(chosen)]
    return chosen


def _most_read(article: DemoArticle | None, newest_first: Sequence[DemoArticle]) -> list[Link]:
    """The outlet's latest good articles as of `article` (never the article itself)."""
    picked = [
        a
        for a in newest_first
        if a.good
        and (article is None or (a.published_at <= article.published_at and a.key != article.key))
    ]
    return [_link(a) for a in picked[:MOST_READ_ITEMS]]


def build_site(world: DemoWorld, base_url: str) -> dict[str, Resource]:
    base_url = base_url.rstrip("/")
    chrome = load_chrome()
    resources: dict[str, Resource] = {}
    year = world.anchor.year

    def html(path: str, text: str, status: int = 200, modified: datetime | None = None) -> None:
        headers = (("Last-Modified", _http_date(modified)),) if modified else ()
        resources[path] = Resource(status, HTML, text.encode("utf-8"), headers)

    for outlet in world.outlets:
        oid = outlet.outlet_id
        all_items = sorted(
            world.articles_of(oid), key=lambda a: (a.published_at, a.key), reverse=True
        )
        feed_url = f"{base_url}{outlet.feed_path}"
        section_labels: dict[str, str] = {}
        for a in all_items:
            section_labels[a.key] = chrome.sections[a.language][a.section][1]
        for lang in outlet.languages:
            ui = chrome.ui[lang]
            root = language_root(outlet, lang)
            items = [a for a in all_items if a.language == lang]
            good = [a for a in items if a.good]
            used = {a.section for a in good}
            keys = [k for k in SECTION_KEYS if k in used or k == "news"]
            sections = {k: chrome.sections[lang][k] for k in keys}
            nav = tuple(
                (label, _section_href(outlet, root, slug)) for slug, label in sections.values()
            )
            others = tuple((code, language_root(outlet, code)) for code in outlet.languages)
            ctx = Ctx(
                outlet=outlet,
                language=lang,
                ui=ui,
                base_url=base_url,
                root=root,
                nav=nav,
                feed_url=feed_url,
                year=year,
                other_languages=others if len(outlet.languages) > 1 else (),
            )
            latest = _most_read(None, good)
            notice = ui["maintenance"] if outlet.feed_defect == "http_500" else ""
            html(
                root,
                render_listing(
                    ctx,
                    ui["latest"],
                    base_url + root,
                    [_link(a) for a in good[:HOME_ITEMS]],
                    latest,
                    notice=notice,
                    is_home=True,
                ),
            )
            for key, (slug, label) in sections.items():
                href = _section_href(outlet, root, slug)
                listed = [_link(a) for a in good if a.section == key][:SECTION_ITEMS]
                html(href, render_listing(ctx, label, base_url + href, listed, latest))
            for page in ("about", "contact", "privacy", "terms"):
                path = ctx.page(page)
                html(path, render_static(ctx, ui[page], ui[f"{page}_text"], base_url + path))
            for a in items:
                if a.broken == "http_404":
                    continue  # the feed links to it; the server answers 404
                if a.broken == "wrong_content_type":
                    resources[a.path] = Resource(
                        200,
                        PDF,
                        PDF_BYTES,
                        (("Content-Disposition", 'inline; filename="report.pdf"'),),
                    )
                    continue
                slug, label = chrome.sections[lang][a.section]
                view = ArticleView(
                    title=a.title,
                    paragraphs=a.paragraphs,
                    canonical=a.canonical_url,
                    published_at=a.published_at,
                    byline=a.byline,
                    section_label=label,
                    section_href=_section_href(outlet, root, slug),
                    summary=a.summary,
                    tags=(label, outlet.short),
                )
                related = [_link(r) for r in _related(a, good)]
                html(
                    a.path,
                    render_article(
                        ctx,
                        view,
                        related,
                        _most_read(a, good),
                        empty=a.broken == "empty_article",
                    ),
                    modified=a.published_at,
                )
        # the outlet's root without its slash
        resources[f"/{oid}"] = Resource(301, HTML, b"", (("Location", f"/{oid}/"),))
        # the feed
        tagline = outlet.tagline.get(outlet.language) or next(iter(outlet.tagline.values()))
        if outlet.feed_defect == "http_500":
            resources[outlet.feed_path] = Resource(
                500,
                HTML,
                b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
                b"<body><h1>Internal Server Error</h1><p>upstream CMS timeout</p></body></html>\n",
            )
            continue
        updated = all_items[0].published_at if all_items else datetime(2000, 1, 1, tzinfo=UTC)
        headers = (("Last-Modified", _http_date(updated)),)
        if outlet.feed_format == "atom":
            text = render_atom(outlet, all_items, base_url, tagline, updated, section_labels)
            resources[outlet.feed_path] = Resource(200, ATOM, text.encode("utf-8"), headers)
        else:
            text = render_rss(
                outlet,
                all_items,
                base_url,
                tagline,
                updated,
                section_labels,
                malformed=outlet.feed_defect == "malformed_xml",
            )
            if outlet.feed_defect == "wrong_encoding":
                # declared utf-8 (XML declaration and HTTP header), sent as latin-1
                body = text.encode("latin-1", errors="xmlcharrefreplace")
            else:
                body = text.encode("utf-8")
            resources[outlet.feed_path] = Resource(200, RSS, body, headers)

    # host-wide files: all outlets share one host, so they share one robots.txt
    private = sorted(
        {f"/{a.outlet_id}/private/" for a in world.articles if a.broken == "robots_disallowed"}
    )
    robots = [
        "# Mediawatch demo outlets. All outlets share this host, so this file covers all of them.",
        "User-agent: *",
        *[f"Disallow: {p}" for p in private],
        "Allow: /",
        "",
    ]
    resources["/robots.txt"] = Resource(
        200, "text/plain; charset=utf-8", "\n".join(robots).encode()
    )
    for family, css in CSS.items():
        resources[f"/static/{family}.css"] = Resource(200, "text/css; charset=utf-8", css.encode())
    health = {
        "status": "ok",
        "anchor": world.anchor.isoformat(),
        "weeks": world.iso_weeks,
        "outlets": len(world.outlets),
        "articles": len(world.good_articles()),
    }
    resources["/__health"] = Resource(
        200, "application/json", json.dumps(health, sort_keys=True).encode()
    )
    resources["/"] = Resource(200, HTML, _root_index(world, base_url).encode("utf-8"))
    return resources


def not_found_page() -> bytes:
    return render_not_found(
        "en", "Page not found", "The page you are looking for may have been removed."
    ).encode("utf-8")


def _root_index(world: DemoWorld, base_url: str) -> str:
    counts: dict[str, int] = defaultdict(int)
    for a in world.good_articles():
        counts[a.outlet_id] += 1
    rows = "".join(
        f'<tr><td><a href="/{o.outlet_id}/">{e(o.name)}</a></td><td>{o.country}</td>'
        f"<td>{', '.join(o.languages)}</td><td>{o.scope}</td><td>{o.type}</td>"
        f'<td><a href="{o.feed_path}">{o.feed_format}</a></td><td>{counts[o.outlet_id]}</td></tr>'
        for o in world.outlets
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
        "<title>Mediawatch demo outlets</title></head>\n<body>\n"
        "<h1>Mediawatch demo outlets</h1>\n"
        "<p>Fictional outlets written by the project for demonstrations and tests. "
        f"Weeks {world.iso_weeks[0]} to {world.iso_weeks[-1]}; base {e(base_url)}.</p>\n"
        "<table><tr><th>outlet</th><th>country</th><th>languages</th><th>scope</th>"
        f"<th>type</th><th>feed</th><th>articles</th></tr>{rows}</table>\n</body>\n</html>\n"
    )
