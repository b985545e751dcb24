"""How a fetch ended, in words the fetch log and the health report can group by.

Convention for `FetchRecord` (one place, so feeds and pages log failures alike):

- `error_class is None`: the fetch succeeded and its content is usable. `error_message` may
  still hold a *warning* (e.g. "malformed feed: 3 items recovered" or "declared charset
  iso-8859-1, decoded as utf-8"): worth showing in source health, never a failure.
- `error_class` set: nothing usable came back. It is a short, stable token (below), and
  `error_message` says what happened in words. HTTP errors carry the status in the token
  ("HTTPError 404") so that the log groups 404s apart from 500s without another column.
"""

from __future__ import annotations

TIMEOUT = "Timeout"  # no (complete) answer in time
TOO_LARGE = "TooLarge"  # body over the size cap; the download was cut
DNS_ERROR = "DNSError"  # host name did not resolve
CONNECTION_ERROR = "ConnectionError"  # refused, reset, lost mid-answer, TLS failure
INVALID_URL = "InvalidURL"  # not an http(s) URL we can request
TOO_MANY_REDIRECTS = "TooManyRedirects"
ROBOTS_FORBIDDEN = "RobotsForbidden"  # robots.txt disallows it for our user agent
OFFSITE = "Offsite"  # outside the outlet's allowed domains (also after a redirect)
NOT_HTML = "NotHTML"  # a page request answered with a PDF, an image, JSON, ...
MALFORMED_FEED = "MalformedFeed"  # a feed of which not one item could be read
NOT_A_FEED = "NotAFeed"  # an HTML page (or other document) where a feed should be
MALFORMED_SITEMAP = "MalformedSitemap"  # a sitemap that is not XML (or bad gzip)
NOT_A_SITEMAP = "NotASitemap"  # XML or HTML, but neither a urlset nor a sitemap index
UNKNOWN_OUTLET = "UnknownOutlet"  # a request for an outlet the crawl was not told about
CRAWL_ABORTED = "CrawlAborted"  # the crawl process died or was stopped before this request
INTERNAL_ERROR = "InternalError"  # a bug on our side; the message has the exception


def http_error(status: int) -> str:
    """The error class of an HTTP error status: 'HTTPError 404', 'HTTPError 503'."""
    return f"HTTPError {status}"
