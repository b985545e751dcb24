"""The rapid-response console as one ASGI app: HTTP API under /api, web pages elsewhere.

Access: when a token is configured every request needs it, as `Authorization: Bearer TOKEN`
or as the session cookie the login form sets (only /login and the static assets, which hold
no data, are open). `mediawatch serve` refuses to listen beyond loopback without a token, and
on loopback without a token it accepts only loopback Host headers (no DNS rebinding).
Nothing here writes: every store connection is read-only and short.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.corpus import CorpusCache
from service.library import LibraryCache
from service.store_access import StoreBusy, StoreSource, StoreUnavailable

HERE = Path(__file__).parent
SESSION_COOKIE = "mediawatch_session"
MAX_BODY_BYTES = 256 * 1024
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]
OPEN_PATHS = ("/login", "/static/")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Console:
    """What every request shares: settings, the store, caches and the query embedder."""

    def __init__(
        self,
        settings: Any,
        source: StoreSource | None = None,
        embedder: Any = None,
        token: str | None = None,
    ) -> None:
        from nlp.embed import model_id_for

        self.settings = settings
        self.source = source or StoreSource(Path(settings.db))
        self.token = token
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        model_id = (
            embedder.model_id
            if embedder is not None
            else model_id_for(settings.embedding_model, settings.models_dir)
        )
        self.corpus = CorpusCache(self.source, model_id)
        self.library = LibraryCache(self.source)

    def embedder(self):
        with self._embedder_lock:
            if self._embedder is None:
                from service.embedding import shared_embedder

                self._embedder = shared_embedder(
                    self.settings.embedding_model, self.settings.models_dir
                )
            return self._embedder

    def warm(self) -> None:
        """Build the corpus and load the model before the first question (in a thread)."""
        with suppress(StoreBusy, StoreUnavailable):
            self.corpus.get()
        self.embedder()

    def session_value(self) -> str:
        assert self.token
        return hmac.new(
            self.token.encode(), b"mediawatch-console-session", hashlib.sha256
        ).hexdigest()

    def authorised(self, request: Request) -> bool:
        if not self.token:
            return True
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value:
            return hmac.compare_digest(value.strip().encode(), self.token.encode())
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.session_value().encode())


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuses request bodies over `limit` bytes (413), declared or streamed."""

    def __init__(self, app, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            response = JSONResponse({"detail": "request body too large"}, status_code=413)
            return await response(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge()
            return message

        return await self.app(scope, counted, send)


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get(
        "accept", ""
    )


def create_app(
    settings: Any,
    *,
    source: StoreSource | None = None,
    embedder: Any = None,
    token: str | None = None,
    trusted_hosts: list[str] | None = None,
    warm: bool = False,
) -> FastAPI:
    """The console app. `token`: required on every request when set. `trusted_hosts`: Host
    headers accepted (None = any). `warm`: build caches in a thread at start-up."""
    console = Console(settings, source=source, embedder=embedder, token=token)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm:
            threading.Thread(target=console.warm, name="console-warm", daemon=True).start()
        yield

    app = FastAPI(
        title="Mediawatch rapid-response API",
        version="1",
        description=(
            "Read-only questions to the Mediawatch store: narratives, articles, hybrid "
            "search, library matching, exports. Send `Authorization: Bearer TOKEN` when the "
            "server was started with a token."
        ),
        openapi_url="/api/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load from a CDN; /docs is served locally
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.console = console

    from service import api, web

    app.include_router(api.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def access(request: Request, call_next: Callable[[Request], Awaitable[Response]]):
        path = request.url.path
        if not path.startswith(OPEN_PATHS) and not console.authorised(request):
            if wants_html(request):
                response = web.login_page(request, status_code=401, next_path=path)
            else:
                response = JSONResponse(
                    {"detail": "a valid token is required"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        else:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(StoreBusy)
    async def busy(request: Request, exc: StoreBusy):
        headers = {"Retry-After": str(exc.retry_after)}
        message = "the store is being written by a pipeline run; try again in a few seconds"
        if wants_html(request):
            return web.error_page(request, 503, message, headers=headers)
        return JSONResponse({"detail": message}, status_code=503, headers=headers)

    @app.exception_handler(StoreUnavailable)
    async def unavailable(request: Request, exc: StoreUnavailable):
        message = f"the store cannot be read: {exc}"
        if wants_html(request):
            return web.error_page(request, 503, message)
        return JSONResponse({"detail": message}, status_code=503)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge):
        return JSONResponse({"detail": "request body too large"}, status_code=413)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if wants_html(request) and exc.status_code in (404, 405):
            return web.error_page(request, exc.status_code, str(exc.detail))
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    if trusted_hosts is not None:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=trusted_hosts)
    return app

