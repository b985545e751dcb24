"""When the validators of a feed, sitemap or section page may be kept for the next run.

A conditional GET answered "304 Not Modified" lists nothing. So the ETag / Last-Modified of
a document may only be used next time once everything it listed this time is settled:
fetched, or failed for good (404, 410, robots.txt, not HTML, too large). If one of its pages
failed in a way that may pass (5xx, timeout, connection error, a crawl cut short), the
next run must read the document again and get another chance at that page.
"""

from __future__ import annotations

from collections.abc import Iterable

from crawlers.httpfetch import is_transient
from mediawatch.records import FeedItem, FetchRecord

LISTING_KINDS = ("feed", "sitemap", "section")


def settled_listings(
    items: Iterable[FeedItem], records: Iterable[FetchRecord]
) -> list[tuple[str, str]]:
    """(outlet_id, url) of the listing documents read in this run whose pages all settled."""
    records = list(records)
    listings = {
        (r.outlet_id, r.url) for r in records if r.kind in LISTING_KINDS and r.error_class is None
    }
    retry = {
        (r.outlet_id, r.url)
        for r in records
        if r.kind == "page" and is_transient(r.error_class, r.status)
    }
    unsettled = {(i.outlet_id, i.feed_url) for i in items if (i.outlet_id, i.url) in retry}
    return sorted(listings - unsettled)
