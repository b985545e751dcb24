"""Canonical URLs: one address per article, because an article's id is derived from it.

`canonical_url(url, declared)` prefers the page's own rel=canonical when it can be trusted
(same site, or an allowed host, and not the homepage for a deeper page: a common CMS bug),
then normalises: lowercase scheme and host, no default port, no user info, no fragment,
no tracking parameters, remaining query parameters sorted, percent-encoding in one form
(non-ASCII encoded as UTF-8, unreserved characters decoded, hex upper-case), dot segments
and doubled slashes removed, an empty path made "/".

A single trailing slash is kept: RFC 3986 makes it significant, and servers often answer
only one of "/story/" and "/story" (stripping it would give articles ids whose URL 404s).
Variants that differ only by it are reconciled by the page's rel=canonical.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from urllib.parse import (
    SplitResult,
    parse_qsl,
    quote,
    urlencode,
    urljoin,
    urlsplit,
    urlunsplit,
)

# Parameters that identify a campaign, a click or a share, never the content.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "ttclid", "igshid", "li_fat_id", "mc_cid", "mc_eid", "_ga", "_gl",
        "_hsenc", "_hsmi", "hsctatracking", "mkt_tok", "oly_anon_id", "oly_enc_id",
        "rb_clickid", "vero_id", "vero_conv", "wickedid", "s_cid", "ncid", "cmpid", "ocid",
        "icid", "sr_share", "spm", "ref_src", "ref_url", "__twitter_impression",
        "at_medium", "at_campaign", "zanpid", "_openstat", "fb_action_ids",
        "fb_action_types", "fb_source", "fb_ref", "action_object_map", "action_type_map",
        "action_ref_map", "gs_l", "cvid", "ved", "ei",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "itm_")
DEFAULT_PORTS = {"http": 80, "https": 443}
# prefixes that name the same site on another host (mobile, AMP, www)
_SAME_SITE_PREFIXES = ("www.", "m.", "mobile.", "amp.")
_ESCAPE_RE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# characters left as they are in a path: RFC 3986 sub-delims, ':' '@' '/' and '%' escapes
_PATH_SAFE = "/:@!$&'()*+,;=%-._~"
_QUERY_SAFE = "/:@!$'()*,;-._~"


def canonical_url(
    url: str, declared: str | None = None, *, allowed_hosts: Iterable[str] = ()
) -> str:
    """The canonical form of `url`, or of the page's declared canonical when trustworthy.

    `declared` may be relative (it is resolved against `url`). `allowed_hosts` are extra
    hosts (with their subdomains) a declared canonical may point to, e.g. an outlet's
    allowed_domains when its articles move between hosts.
    """
    if declared:
        candidate = urljoin(url, declared.strip())
        if is_trustworthy_canonical(candidate, url, allowed_hosts=allowed_hosts):
            return normalise_url(candidate)
    return normalise_url(url)


def is_trustworthy_canonical(declared: str, url: str, *, allowed_hosts: Iterable[str] = ()) -> bool:
    declared_parts, url_parts = urlsplit(declared), urlsplit(url)
    if declared_parts.scheme.lower() not in DEFAULT_PORTS or not declared_parts.hostname:
        return False
    declared_host = declared_parts.hostname.lower().rstrip(".")
    url_host = (url_parts.hostname or "").lower().rstrip(".")
    if not (
        same_site(declared_host, url_host)
        or any(_within(declared_host, host.lower()) for host in allowed_hosts)
    ):
        return False
    # every page declaring the homepage as canonical would merge all articles into one
    return not (_is_root(declared_parts.path) and not _is_root(url_parts.path))


def same_site(host_a: str, host_b: str) -> bool:
    """Equal hosts, a host and its subdomain, or hosts differing only by www./m./amp."""
    if _within(host_a, host_b) or _within(host_b, host_a):
        return True
    return _strip_site_prefix(host_a) == _strip_site_prefix(host_b)


def normalise_url(url: str) -> str:
    """The normal form of an absolute http(s) URL; other strings come back stripped."""
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return url
    return urlunsplit(
        (
            scheme,
            _netloc(parts, scheme),
            _normalise_path(parts.path),
            _normalise_query(parts.query),
            "",
        )
    )


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


# --------------------------------------------------------------------------- parts


def _netloc(parts: SplitResult, scheme: str) -> str:
    hostname = (parts.hostname or "").rstrip(".")
    try:
        host = hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        host = hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: keep the host alone
        port = None
    if port is not None and port != DEFAULT_PORTS[scheme]:
        return f"{host}:{port}"
    return host


def _normalise_path(path: str) -> str:
    path = _normalise_escapes(quote(path, safe=_PATH_SAFE))
    path = re.sub(r"/{2,}", "/", path)
    if not path or path == "/":
        return "/"
    normal = "/" + posixpath.normpath(path).lstrip("/")  # removes '.' and '..' segments
    # normpath drops the trailing slash, but '/story/' and '/story' are different resources
    # (many servers answer only one of them): keep the publisher's choice
    if path.endswith("/") and normal != "/":
        normal += "/"
    return normal


def _normalise_query(query: str) -> str:
    if not query:
        return ""
    pairs = [
        (key, value)
        for key, value in parse_qsl(query, keep_blank_values=True)
        if not is_tracking_param(key)
    ]
    pairs.sort()
    return urlencode(pairs, quote_via=lambda text, *_: quote(text, safe=_QUERY_SAFE))


def _normalise_escapes(text: str) -> str:
    """Upper-case hex in escapes; decode escapes of unreserved characters (RFC 3986 6.2.2)."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else f"%{match.group(1).upper()}"

    return _ESCAPE_RE.sub(fix, text)


def _within(host: str, domain: str) -> bool:
    return bool(domain) and (host == domain or host.endswith("." + domain))


def _strip_site_prefix(host: str) -> str:
    for prefix in _SAME_SITE_PREFIXES:
        if host.startswith(prefix):
            return host[len(prefix) :]
    return host


def _is_root(path: str) -> bool:
    return path in ("", "/")
