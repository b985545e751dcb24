"""RSS 2.0 and Atom 1.0 feeds for the demo outlets (newest first, all seven weeks).

`malformed=True` leaves ampersands in titles unescaped, as a careless CMS template would:
the document stops being well-formed XML (feedparser sets `bozo`) but a lenient parser still
reads the items.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape as xml_escape

from demo.content import OutletSpec
from demo.world import DemoArticle


def _x(text: str) -> str:
    return xml_escape(text, {'"': "&quot;"})


def _title(text: str, malformed: bool) -> str:
    if malformed:
        # everything escaped except "&": the bug being simulated
        return _x(text).replace("&amp;", "&")
    return _x(text)


def render_rss(
    outlet: OutletSpec,
    items: Sequence[DemoArticle],
    base_url: str,
    tagline: str,
    updated: datetime,
    category_labels: dict[str, str],
    malformed: bool = False,
) -> str:
    home = f"{base_url}/{outlet.outlet_id}/"
    feed = f"{base_url}{outlet.feed_path}"
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n',
        f"<title>{_x(outlet.name)}</title>\n<link>{_x(home)}</link>\n",
        f"<description>{_x(tagline)}</description>\n",
        f"<language>{outlet.language}</language>\n",
        f"<lastBuildDate>{format_datetime(updated)}</lastBuildDate>\n",
        f'<atom:link href="{_x(feed)}" rel="self" type="application/rss+xml"/>\n',
        "<generator>Mediawatch demo CMS</generator>\n<ttl>30</ttl>\n",
    ]
    for a in items:
        out.append(
            "<item>\n"
            f"<title>{_title(a.title, malformed)}</title>\n"
            f"<link>{_x(a.feed_url(base_url))}</link>\n"
            f'<guid isPermaLink="false">{outlet.outlet_id}:{a.public_id}</guid>\n'
            f"<pubDate>{format_datetime(a.published_at)}</pubDate>\n"
            f"<dc:creator>{_x(a.byline)}</dc:creator>\n"
            f"<category>{_x(category_labels.get(a.key, a.section))}</category>\n"
            f"<description>{_x(a.summary)}</description>\n"
            "</item>\n"
        )
    out.append("</channel>\n</rss>\n")
    return "".join(out)


def render_atom(
    outlet: OutletSpec,
    items: Sequence[DemoArticle],
    base_url: str,
    tagline: str,
    updated: datetime,
    category_labels: dict[str, str],
) -> str:
    home = f"{base_url}/{outlet.outlet_id}/"
    feed = f"{base_url}{outlet.feed_path}"
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{outlet.language}">\n',
        f"<title>{_x(outlet.name)}</title>\n<subtitle>{_x(tagline)}</subtitle>\n",
        f'<link rel="alternate" type="text/html" href="{_x(home)}"/>\n',
        f'<link rel="self" type="application/atom+xml" href="{_x(feed)}"/>\n',
        f"<id>tag:mediawatch.demo,2024:{outlet.outlet_id}</id>\n",
        f"<updated>{updated.isoformat()}</updated>\n",
        '<generator uri="https://example.org/demo-cms">Mediawatch demo CMS</generator>\n',
    ]
    for a in items:
        lang = f' xml:lang="{a.language}"' if a.language != outlet.language else ""
        out.append(
            f"<entry{lang}>\n"
            f"<title>{_x(a.title)}</title>\n"
            f'<link rel="alternate" type="text/html" href="{_x(a.feed_url(base_url))}"/>\n'
            f"<id>tag:mediawatch.demo,2024:{outlet.outlet_id}/{a.public_id}</id>\n"
            f"<published>{a.published_at.isoformat()}</published>\n"
            f"<updated>{a.published_at.isoformat()}</updated>\n"
            f"<author><name>{_x(a.byline)}</name></author>\n"
            f'<category term="{_x(category_labels.get(a.key, a.section))}"/>\n'
            f'<summary type="text">{_x(a.summary)}</summary>\n'
            "</entry>\n"
        )
    out.append("</feed>\n")
    return "".join(out)
