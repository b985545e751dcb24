"""Serve the demo outlets on 127.0.0.1 from memory.

    with serve_demo_outlets() as site:
        site.write_sources_yaml(tmp / "sources.yaml")
        ...  # crawl site.outlets, compare with site.world

The site is built once, in memory, before the first request (well under a second); the
server is a `ThreadingHTTPServer` on a free port in a daemon thread and stops when the
block ends. It answers GET and HEAD, honours `If-None-Match`, ignores query strings when
looking a path up, logs nothing, and keeps a list of the requests it served
(`site.requests`) so tests can check, for example, that robots.txt was obeyed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from demo.content import outlets_yaml_text
from demo.site import HTML, Resource, build_site, not_found_page
from demo.world import DemoWorld, build_world
from mediawatch.records import Outlet

# Every demo outlet lives on this one loopback server, which is built to take them all at
# once: runs on the demo raise the per-host limit of outlet tasks (settings.outlets_per_host).
OUTLETS_PER_HOST = 8


@dataclass(frozen=True)
class ServedRequest:
    method: str
    path: str  # as requested, query string included
    status: int
    user_agent: str


@dataclass
class DemoSite:
    """A running demo site: where it is, what it serves, and the truth behind it."""

    base_url: str  # http://127.0.0.1:PORT (no trailing slash)
    outlets: list[Outlet]
    anchor: date
    world: DemoWorld
    resources: dict[str, Resource] = field(repr=False, default_factory=dict)
    requests: list[ServedRequest] = field(repr=False, default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def sources_yaml(self) -> str:
        """The source registry for this site, in the `crawlers/sources.py` schema."""
        return registry_text(self.base_url)

    def write_sources_yaml(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.sources_yaml(), encoding="utf-8")
        return path


def registry_text(base_url: str) -> str:
    """`data/demo/outlets.yaml` with `{base}` filled in (comments and layout kept)."""
    text = outlets_yaml_text().replace("{base}", base_url.rstrip("/"))
    return text


def outlets_for(base_url: str) -> list[Outlet]:
    """The demo outlets as `Outlet` records pointing at `base_url`."""
    data = yaml.safe_load(registry_text(base_url))
    outlets = []
    for entry in data["outlets"]:
        outlets.append(
            Outlet(
                outlet_id=entry["id"],
                name=entry["name"],
                homepage=entry["homepage"],
                country=entry["country"],
                languages=tuple(entry["languages"]),
                scope=entry["scope"],
                type=entry["type"],
                feeds=tuple(entry.get("feeds") or ()),
                tags=tuple(entry.get("tags") or ()),
                sections=tuple(entry.get("sections") or ()),
                sitemaps=tuple(entry.get("sitemaps") or ()),
                allowed_domains=tuple(str(d) for d in entry.get("allowed_domains") or ()),
                requests_per_second=float(
                    (entry.get("rate_limit") or {}).get("requests_per_second", 1.0)
                ),
                enabled=bool(entry.get("enabled", True)),
            )
        )
    return outlets


class _Handler(BaseHTTPRequestHandler):
    server_version = "DemoCMS/1.0"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 15  # idle keep-alive connections are closed after this many seconds

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return  # silent: the demo must not write to stdout or stderr

    def do_GET(self) -> None:  # noqa: N802
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        site: DemoSite = self.server.demo_site  # type: ignore[attr-defined]
        path = urlsplit(self.path).path or "/"
        resource = site.resources.get(path)
        if resource is None:
            resource = Resource(404, HTML, not_found_page())
        status = resource.status
        etag = resource.etag
        if status == 200 and self.headers.get("If-None-Match") == etag:
            status = 304
        site.requests.append(
            ServedRequest(self.command, self.path, status, self.headers.get("User-Agent", ""))
        )
        self.send_response(status)
        if status != 304:
            self.send_header("Content-Type", resource.content_type)
            self.send_header("Content-Length", str(len(resource.body)))
        else:
            self.send_header("Content-Length", "0")
        if status in (200, 304):
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", "max-age=300")
        for name, value in resource.headers:
            self.send_header(name, value)
        self.end_headers()
        if send_body and status != 304:
            self.wfile.write(resource.body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        return  # a client hanging up mid-response is not worth a traceback on stderr


@contextmanager
def serve_demo_outlets(
    anchor: date | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[DemoSite]:
    """Serve the demo outlets on `host` (a free port unless `port` is given) while in the block."""
    anchor = anchor or date.today()
    world = build_world(anchor)
    server = _QuietServer((host, port), _Handler)
    try:
        bound_port = server.server_address[1]
        base_url = f"http://{host}:{bound_port}"
        site = DemoSite(
            base_url=base_url,
            outlets=outlets_for(base_url),
            anchor=anchor,
            world=world,
            resources=build_site(world, base_url),
        )
        server.demo_site = site  # type: ignore[attr-defined]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"demo-outlets-{bound_port}",
            daemon=True,
        )
        thread.start()
        try:
            yield site
        finally:
            server.shutdown()
            thread.join(timeout=5)
    finally:
        server.server_close()
