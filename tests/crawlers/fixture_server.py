"""A real HTTP server on 127.0.0.1 serving the fixture outlets to the crawler tests.

Files under `fixtures/site/` are served at their relative path, with `{{BASE}}` replaced by
the server's address (so feeds and pages can carry absolute links). A few routes are made
in code because they are about behaviour, not content: errors, slowness, size, flakiness.
The server records every path it was asked for, so tests can prove what was *not* fetched.

The fault routes under `/faults/` are the bad input the issue lists: gzip bombs, redirect
loops, 410/503, hanging answers, non-HTML content, ... (see `add_fault_routes`). A route
with an `etag` answers a matching If-None-Match with 304, like a real server.
"""

from __future__ import annotations

import gzip
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

FIXTURES = Path(__file__).parent / "fixtures"
SITE = FIXTURES / "site"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".json": "application/feed+json",
    ".pdf": "application/pdf",
    ".txt": "text/plain; charset=utf-8",
}
# Served with a header that lies or differs from the default for the suffix.
CONTENT_TYPE_OVERRIDES = {
    "/lotus/rss.xml": "application/rss+xml; charset=utf-8",
    "/harbour/atom.xml": "application/atom+xml",
    "/broken/utf8-labelled-latin1.xml": "text/xml; charset=iso-8859-1",
    "/broken/cp1252-labelled-utf8.xml": "application/rss+xml; charset=utf-8",
}


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    send_length: bool = True
    etag: str | None = None  # If-None-Match with this value gets a 304
    hang_s: float = 0.0  # send the headers and the first bytes, then stall this long


Handler = Callable[[], Route]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # clients hang up on purpose in the size and timeout tests; anything else is a bug
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class FixtureServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route | Handler] = {}
        self.hits: list[tuple[float, str]] = []  # (monotonic time, path with query)
        self._lock = threading.Lock()
        self.httpd = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def add_site(self, root: Path) -> None:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                route = "/" + path.relative_to(root).as_posix()
                body = path.read_bytes().replace(b"{{BASE}}", self.base.encode("ascii"))
                content_type = CONTENT_TYPE_OVERRIDES.get(
                    route, CONTENT_TYPES.get(path.suffix, "application/octet-stream")
                )
                self.routes[route] = Route(body=body, content_type=content_type)

    def record_hit(self, path: str) -> None:
        with self._lock:
            self.hits.append((time.monotonic(), path))

    def hit_count(self, path: str) -> int:
        return len(self.hit_times(path))

    def hit_times(self, path: str) -> list[float]:
        with self._lock:
            return [when for when, hit in self.hits if urlsplit(hit).path == path]

    def requested_paths(self) -> list[str]:
        with self._lock:
            return [urlsplit(hit).path for _, hit in self.hits]

    def start(self) -> None:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _make_handler(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            server.record_hit(self.path)
            route = server.routes.get(urlsplit(self.path).path)
            if callable(route):
                route = route()
            if route is None:
                route = Route(status=404, body=b"<html><body><h1>Not found</h1></body></html>")
            if route.delay_s:
                time.sleep(route.delay_s)
            if route.etag is not None and self.headers.get("If-None-Match") == route.etag:
                self.send_response(304)
                self.send_header("ETag", route.etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if route.hang_s:
                self._hang(route)
                return
            try:
                self.send_response(route.status)
                if route.etag is not None:
                    self.send_header("ETag", route.etag)
                self.send_header("Content-Type", route.content_type)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.send_length:
                    self.send_header("Content-Length", str(len(route.body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to do

        def _hang(self, route: Route) -> None:
            try:
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body[:64])
                self.wfile.flush()
                time.sleep(route.hang_s)
                self.close_connection = True
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep test output clean

    return RequestHandler


def _flaky(failures: int, then: Route) -> Handler:
    """A route that answers 503 `failures` times, then `then` (to exercise retries)."""
    state = {"calls": 0}
    lock = threading.Lock()

    def handler() -> Route:
        with lock:
            state["calls"] += 1
            calls = state["calls"]
        if calls <= failures:
            return Route(status=503, body=b"<html><body>Busy, try later</body></html>")
        return then

    return handler


def add_behaviour_routes(server: FixtureServer) -> None:
    article = server.routes["/lotus/en/2026/11/lam-ha-reservoir-opens.html"]
    assert isinstance(article, Route)
    server.routes.update(
        {
            "/broken/500.xml": Route(
                status=500, body=b"Internal Server Error", content_type="text/plain"
            ),
            "/broken/slow.xml": Route(body=b"<rss/>", content_type="application/xml", delay_s=3.0),
            "/broken/huge.xml": Route(
                body=b"<rss>" + b" " * 200_000 + b"</rss>", content_type="application/xml"
            ),
            "/broken/huge-stream.xml": Route(
                body=b"<rss>" + b" " * 200_000 + b"</rss>",
                content_type="application/xml",
                send_length=False,
            ),
            "/lotus/en/slow-page.html": Route(body=article.body, delay_s=3.0),
            "/lotus/en/flaky.html": _flaky(1, Route(body=article.body)),
            "/lotus/en/always-503.html": Route(status=503, body=b"<html><body>Busy</body></html>"),
            "/lotus/en/old-address.html": Route(
                status=301,
                headers={"Location": "/lotus/en/2026/11/lam-ha-reservoir-opens.html"},
            ),
            "/lotus/en/moved-offsite.html": Route(
                status=302,
                headers={
                    "Location": server.base.replace("127.0.0.1", "localhost") + "/lotus/x.html"
                },
            ),
        }
    )


def _gzip_bomb(size: int, content_type: str) -> Route:
    """A small gzip body that inflates to `size` bytes (about 1,000:1)."""
    inflated = b"<html><body><p>" + b" " * size + b"</p></body></html>"
    return Route(
        body=gzip.compress(inflated, compresslevel=9),
        content_type=content_type,
        headers={"Content-Encoding": "gzip"},
    )


def add_fault_routes(server: FixtureServer) -> None:
    """Bad input for pages and feeds, under /faults/."""
    article = server.routes["/lotus/en/2026/11/lam-ha-reservoir-opens.html"]
    assert isinstance(article, Route)
    html = "text/html; charset=utf-8"
    mixed = article.body.replace(
        b"during the season.", "during the season – café".encode("cp1252") + b"."
    )
    server.routes.update(
        {
            "/faults/gzip-bomb.html": _gzip_bomb(20_000_000, html),
            "/faults/gzip-bomb.xml": _gzip_bomb(20_000_000, "application/rss+xml"),
            "/faults/loop-a.html": Route(status=302, headers={"Location": "/faults/loop-b.html"}),
            "/faults/loop-b.html": Route(status=302, headers={"Location": "/faults/loop-a.html"}),
            "/faults/loop.xml": Route(status=301, headers={"Location": "/faults/loop.xml"}),
            "/faults/gone.html": Route(status=410, body=b"<html><body>Gone</body></html>"),
            "/faults/busy.xml": Route(
                status=503, body=b"busy", content_type="text/plain", headers={"Retry-After": "0"}
            ),
            "/faults/hang.html": Route(body=article.body, hang_s=4.0),
            "/faults/hang.xml": Route(
                body=b"<rss><channel>" + b" " * 10_000 + b"</channel></rss>",
                content_type="application/rss+xml",
                hang_s=4.0,
            ),
            "/faults/data.json": Route(body=b'{"story": "no"}', content_type="application/json"),
            "/faults/photo.jpg": Route(
                body=b"\xff\xd8\xff\xe0" + b"\0" * 100, content_type="image/jpeg"
            ),
            "/faults/empty.html": Route(body=b""),
            "/faults/mixed-encoding.html": Route(body=mixed),
        }
    )


def start_fixture_server() -> FixtureServer:
    server = FixtureServer()
    server.add_site(SITE)
    add_behaviour_routes(server)
    add_fault_routes(server)
    server.start()
    return server
