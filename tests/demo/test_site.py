"""The live demo site: feeds, pages, broken things, robots.txt, determinism, the registry."""

from __future__ import annotations

import calendar
import html
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import urllib.robotparser
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest

from demo.server import serve_demo_outlets
from demo.site import build_site
from demo.world import TRACKING_QUERY, build_world

from .conftest import ANCHOR

REPO = Path(__file__).resolve().parents[2]


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_health_root_and_robots(site):
    status, headers, body = fetch(site.url("/__health"))
    assert status == 200 and b'"status": "ok"' in body
    assert f'"articles": {len(site.world.good_articles())}'.encode() in body
    status, _, body = fetch(site.url("/"))
    assert status == 200 and b"Mediawatch demo outlets" in body
    status, headers, body = fetch(site.url("/robots.txt"))
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert b"Disallow: /lotus/private/" in body
    for outlet in site.outlets:
        assert fetch(outlet.homepage)[0] == 200, outlet.outlet_id


def test_outlet_records_point_at_the_live_server(site):
    assert len(site.outlets) >= 12
    for outlet in site.outlets:
        assert outlet.homepage == f"{site.base_url}/{outlet.outlet_id}/"
        assert outlet.allowed_domains == ("127.0.0.1", f"{outlet.outlet_id}.example")
        assert outlet.requests_per_second == 50
        assert len(outlet.feeds) == 1 and outlet.feeds[0].startswith(site.base_url)
    formats = {urlsplit(o.feeds[0]).path.rsplit("/", 1)[-1] for o in site.outlets}
    assert formats == {"rss.xml", "atom.xml"}


def test_feeds_parse_with_feedparser(site):
    world = site.world
    paths = world.by_path()
    tracked = 0
    for outlet in site.outlets:
        status, headers, body = fetch(outlet.feeds[0])
        defect = world.feed_defects.get(outlet.outlet_id)
        if defect == "http_500":
            assert status == 500
            continue
        assert status == 200
        parsed = feedparser.parse(body, response_headers={"content-type": headers["Content-Type"]})
        items = world.articles_of(outlet.outlet_id)
        assert len(parsed.entries) == len(items), outlet.outlet_id
        if defect is None:
            assert not parsed.bozo, (outlet.outlet_id, parsed.get("bozo_exception"))
        else:
            assert parsed.bozo, outlet.outlet_id
        newest_first = [e.published_parsed for e in parsed.entries]
        assert newest_first == sorted(newest_first, reverse=True)
        for entry in parsed.entries:
            link = urlsplit(entry.link)
            tracked += link.query == TRACKING_QUERY[1:]
            article = paths[link.path]
            assert article.outlet_id == outlet.outlet_id
            assert entry.title == article.title
            assert calendar.timegm(entry.published_parsed) == article.published_at.timestamp()
    assert tracked >= 50


def test_malformed_and_mislabelled_feeds_are_flagged(site):
    status, headers, body = fetch(f"{site.base_url}/kinhtedn/rss.xml")
    parsed = feedparser.parse(body, response_headers={"content-type": headers["Content-Type"]})
    assert parsed.bozo and "not well-formed" in str(parsed.bozo_exception)
    assert re.search(rb"<title>[^<]* & [^<]*</title>", body)  # the unescaped ampersand
    assert any(" & " in e.title for e in parsed.entries)
    status, headers, body = fetch(f"{site.base_url}/courrierasie/rss.xml")
    assert headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert "é".encode("latin-1") in body
    parsed = feedparser.parse(body, response_headers={"content-type": headers["Content-Type"]})
    assert parsed.bozo and "CharacterEncodingOverride" in type(parsed.bozo_exception).__name__


def test_tracking_parameters_serve_the_same_page(site):
    article = next(a for a in site.world.good_articles() if a.feed_query)
    _, _, plain = fetch(article.url(site.base_url))
    _, _, tracked = fetch(article.feed_url(site.base_url))
    assert plain == tracked
    assert f'<link rel="canonical" href="{article.canonical_url}">'.encode() in plain


def test_broken_pages_are_served_as_documented(site):
    world = site.world
    linked_from_pages = set()
    for resource in site.resources.values():
        if resource.content_type.startswith("text/html"):
            linked_from_pages |= set(re.findall(r'href="(/[^"?#]*)', resource.body.decode()))
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(fetch(site.url("/robots.txt"))[2].decode().splitlines())
    for a in world.broken_articles():
        status, headers, body = fetch(a.url(site.base_url))
        assert a.path not in linked_from_pages, a.key  # only the feed links to it
        if a.broken == "http_404":
            assert status == 404
        elif a.broken == "wrong_content_type":
            assert status == 200 and headers["Content-Type"] == "application/pdf"
            assert body.startswith(b"%PDF-")
        elif a.broken == "empty_article":
            text = body.decode()
            assert status == 200 and headers["Content-Type"].startswith("text/html")
            assert "<nav" in text and "<footer" in text  # the chrome is there
            visible = text.split("<body", 1)[1]
            assert "<h1" not in visible and html.escape(a.title, quote=False) not in visible
        elif a.broken == "robots_disallowed":
            assert status == 200
            assert not robots.can_fetch("MediawatchBot/0.1", a.url(site.base_url))
        else:  # pragma: no cover
            pytest.fail(f"undocumented broken kind {a.broken}")
    for a in world.good_articles():
        assert robots.can_fetch("MediawatchBot/0.1", a.url(site.base_url))


def test_article_pages_have_canonical_and_published_time(site):
    families = set()
    for a in site.world.good_articles():
        resource = site.resources[a.path]
        assert resource.status == 200 and resource.content_type == "text/html; charset=utf-8"
        page = resource.body.decode()
        canonical = a.canonical_url
        assert f'<html lang="{a.language}">' in page
        assert f'<link rel="canonical" href="{canonical}">' in page
        assert f'<meta property="og:url" content="{canonical}">' in page
        iso = a.published_at.isoformat()
        assert f'<meta property="article:published_time" content="{iso}">' in page
        assert f'datetime="{iso}"' in page
        assert html.escape(a.byline) in page
        assert f">{html.escape(a.title)}</h1>" in page
        for paragraph in a.paragraphs:
            assert f">{html.escape(paragraph)}</p>" in page, a.key
        for chrome in ('id="cookie-consent"', "breadcrumb", "<nav", "<footer", 'type="email"'):
            assert chrome in page, (a.key, chrome)
        families.add(page.split("<body class=", 1)[1].split('"')[1].split()[0])
    assert families == {"broadsheet", "magazine", "blog", "wire"}


def test_nothing_served_gives_the_ground_truth_away(site):
    keys = [a.key for a in site.world.articles]
    for path, resource in site.resources.items():
        text = resource.body.decode("latin-1")
        assert not re.search(r"\bN\d\d-(vi|en|fr|zh)-\d\d", text), path
        assert "noise-" not in text and "broken-" not in text, path
    assert len(set(keys)) == len(keys)


def test_conditional_get_and_head(site):
    url = site.url("/vwire/rss.xml")
    status, headers, body = fetch(url)
    assert status == 200 and headers["ETag"]
    status, _, body = fetch(url, {"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""
    request = urllib.request.Request(url, method="HEAD")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200 and response.read() == b""
        assert int(response.headers["Content-Length"]) > 1000
    assert fetch(site.url("/no/such/page"))[0] == 404
    assert any(r.path == "/vwire/rss.xml" and r.status == 304 for r in site.requests)


def test_demo_site_is_deterministic_for_an_anchor(site):
    world = build_world(ANCHOR)
    first = build_site(world, site.base_url)
    second = build_site(build_world(ANCHOR), site.base_url)
    assert first.keys() == second.keys() == site.resources.keys()
    assert all(first[p] == second[p] == site.resources[p] for p in first)
    with serve_demo_outlets(ANCHOR) as other:
        assert other.base_url != site.base_url
        for path in ("/vwire/rss.xml", "/thoidai/", site.world.good_articles()[7].path):
            mine = fetch(site.url(path))[2].replace(site.base_url.encode(), b"BASE")
            theirs = fetch(other.url(path))[2].replace(other.base_url.encode(), b"BASE")
            assert mine == theirs


def test_site_builds_quickly():
    started = time.perf_counter()
    build_site(build_world(ANCHOR), "http://127.0.0.1:1")
    assert time.perf_counter() - started < 5  # well under a second on a laptop


def test_server_stops_cleanly():
    with serve_demo_outlets(ANCHOR) as running:
        host, port = urlsplit(running.base_url).hostname, urlsplit(running.base_url).port
        assert fetch(running.url("/__health"))[0] == 200
    with pytest.raises(OSError), socket.create_connection((host, port), timeout=1):
        pass


def test_sources_yaml_is_the_registry_schema(site, tmp_path):
    path = site.write_sources_yaml(tmp_path / "nested" / "sources.yaml")
    text = path.read_text(encoding="utf-8")
    assert "{base}" not in text and f"{site.base_url}/vwire/rss.xml" in text
    sources = pytest.importorskip("crawlers.sources")
    assert sources.load_sources(path) == site.outlets


def test_python_m_demo_serves_and_prints_its_base_url(tmp_path):
    registry = tmp_path / "sources.yaml"
    process = subprocess.Popen(
        [sys.executable, "-m", "demo", "--anchor", ANCHOR.isoformat(), "--sources", str(registry)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        match = re.match(r"Demo outlets at (http://127\.0\.0\.1:\d+)/", first)
        assert match, first
        assert fetch(match.group(1) + "/__health")[0] == 200
        for _ in range(50):
            if registry.exists():
                break
            time.sleep(0.1)
        assert match.group(1) in registry.read_text(encoding="utf-8")
    finally:
        process.terminate()
        process.wait(timeout=10)
