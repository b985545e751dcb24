"""The team's web pages: server-rendered Jinja2 (autoescaped), a little plain JavaScript."""

from __future__ import annotations

import hmac
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from service.filters import ID_PATTERN, MAX_MATCH_CHARS, Filters, first_error
from service.models import MatchRequest, SearchQuery
from service.narratives import SPARK_WEEKS, list_narratives, narrative_page

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def safe_url(url: Any) -> str | None:
    """Only http(s) links are rendered as links (no javascript:, data:, …)."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def local_day(value: datetime | date | None, timezone: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(timezone)).date()
    return value.isoformat()


def local_time(value: datetime | None, timezone: str) -> str:
    if value is None:
        return "–"
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def sparkline(values: list[int], width: int = 96, height: int = 24) -> dict[str, Any]:
    top = max(values or [0]) or 1
    step = width / max(len(values) - 1, 1)
    points = [
        (round(i * step, 1), round(height - 2 - (v / top) * (height - 4), 1))
        for i, v in enumerate(values)
    ]
    line = " ".join(f"{x},{y}" for x, y in points)
    area = f"0,{height} {line} {width},{height}"
    return {"line": line, "area": area, "width": width, "height": height, "last": points[-1]}


def after(hours: float | None) -> str:
    if hours is None:
        return "–"
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.1f} d"


def bars(timeline: list[dict[str, Any]], height: int = 90) -> dict[str, Any]:
    days = len(timeline)
    width = max(min(days * 24, 1180), 240)
    slot = width / max(days, 1)
    top = max((t["articles"] + t["copies"] for t in timeline), default=0) or 1
    out = []
    for i, t in enumerate(timeline):
        h_orig = (t["articles"] / top) * (height - 14)
        h_copy = (t["copies"] / top) * (height - 14)
        out.append(
            {
                "x": round(i * slot + 1, 1),
                "w": round(max(slot - 2, 1), 1),
                "y": round(height - 12 - h_orig, 1),
                "h": round(h_orig, 1),
                "cy": round(height - 12 - h_orig - h_copy, 1),
                "ch": round(h_copy, 1),
                "day": t["day"],
                "articles": t["articles"],
                "copies": t["copies"],
            }
        )
    return {"bars": out, "width": width, "height": height, "top": top}


_env.filters["safe_url"] = safe_url
_env.globals["sparkline"] = sparkline
_env.globals["bars"] = bars
_env.globals["after"] = after
_env.globals["SPARK_WEEKS"] = SPARK_WEEKS


def render(
    request: Request, template: str, status_code: int = 200, headers=None, **context: Any
) -> HTMLResponse:
    console = request.app.state.console
    tz = console.settings.timezone
    context.setdefault("q", "")
    page = _env.get_template(template).render(
        request_path=request.url.path,
        token_required=bool(console.token),
        day=lambda v: local_day(v, tz),
        when=lambda v: local_time(v, tz),
        timezone=tz,
        **context,
    )
    return HTMLResponse(page, status_code=status_code, headers=headers)


def error_page(request: Request, status: int, message: str, headers=None) -> HTMLResponse:
    titles = {404: "Not found", 405: "Not allowed", 422: "Bad input", 503: "Try again shortly"}
    return render(
        request,
        "error.html.j2",
        status_code=status,
        headers=headers,
        status=status,
        title=titles.get(status, "Error"),
        message=message,
    )


def login_page(request: Request, status_code: int = 200, next_path: str = "/", error: str = ""):
    return render(
        request, "login.html.j2", status_code=status_code, next_path=next_path, error=error
    )


def _params(request: Request) -> dict[str, str]:
    """Query parameters a form sent, without the empty ones (an empty field = no filter)."""
    return {k: v for k, v in request.query_params.items() if v.strip() != ""}


def _filters(params: dict[str, str]) -> tuple[Filters, str]:
    known = {k: v for k, v in params.items() if k in Filters.model_fields}
    try:
        return Filters(**known), ""
    except ValidationError as exc:
        return Filters(), first_error(exc)


def _int(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(params.get(name, default)), low), high)
    except ValueError:
        return default


def _choices(request: Request, con=None) -> dict[str, list[str]]:
    from store import reads

    if con is not None:
        return reads.console_choices(con)
    with request.app.state.console.source.read() as fresh:
        return reads.console_choices(fresh)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    console = request.app.state.console
    params = _params(request)
    filters, error = _filters(params)
    offset = _int(params, "offset", 0, 0, 1_000_000)
    if error:
        return render(
            request,
            "narratives.html.j2",
            status_code=422,
            filters=filters,
            error=error,
            rows=[],
            total=0,
            offset=0,
            page_size=PAGE_SIZE,
            choices=_choices(request),
            raw=params,
        )
    with console.source.read() as con:
        total, rows = list_narratives(con, filters, console.settings, PAGE_SIZE, offset)
        choices = _choices(request, con)
    return render(
        request,
        "narratives.html.j2",
        filters=filters,
        error="",
        rows=rows,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        choices=choices,
        raw=params,
    )


@router.get("/narratives/{narrative_id}", response_class=HTMLResponse)
def narrative(request: Request, narrative_id: str) -> HTMLResponse:
    import re

    console = request.app.state.console
    if not re.fullmatch(ID_PATTERN, narrative_id):
        return error_page(request, 404, "no narrative with this id")
    with console.source.read() as con:
        detail = narrative_page(con, narrative_id, console.settings)
    if detail is None:
        return error_page(request, 404, f"no narrative with id {narrative_id}")
    return render(request, "narrative.html.j2", n=detail)


@router.get("/search", response_class=HTMLResponse)
def search(request: Request) -> HTMLResponse:
    from service.api import run_search

    params = _params(request)
    filters, error = _filters(params)
    q = params.get("q", "")
    result = None
    status = 200
    if q and not error:
        try:
            query = SearchQuery(
                q=q, limit=_int(params, "limit", 20, 1, 100), **filters.model_dump()
            )
            result = run_search(request, query)
        except ValidationError as exc:
            error, status = first_error(exc), 422
    elif error:
        status = 422
    return render(
        request,
        "search.html.j2",
        status_code=status,
        q=q[:200] if status == 422 else q,
        filters=filters,
        error=error,
        result=result,
        choices=_choices(request),
        raw=params,
        max_chars=2000,
    )


@router.get("/match", response_class=HTMLResponse)
def match_form(request: Request) -> HTMLResponse:
    return render(
        request, "match.html.j2", text="", url="", result=None, error="", max_chars=MAX_MATCH_CHARS
    )


@router.post("/match", response_class=HTMLResponse)
async def match_submit(request: Request) -> HTMLResponse:
    from service.api import NotInStore, run_match

    form = await _form(request)
    text, url = form.get("text", ""), form.get("url", "").strip()
    error, result, status = "", None, 200
    try:
        body = MatchRequest(text=text if not url else None, url=url or None)
        result = await run_in_threadpool(run_match, request, body)
    except ValidationError as exc:
        error, status = first_error(exc), 422
        if len(text) > MAX_MATCH_CHARS:
            error = f"the text is longer than {MAX_MATCH_CHARS:,} characters"
    except NotInStore as exc:
        error, status = str(exc), 404
    return render(
        request,
        "match.html.j2",
        status_code=status,
        text=text[:MAX_MATCH_CHARS],
        url=url[:2000],
        result=result,
        error=error,
        max_chars=MAX_MATCH_CHARS,
    )


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    schema = request.app.openapi()
    routes = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            params = [
                {
                    "name": p["name"],
                    "where": p["in"],
                    "required": p.get("required", False),
                    "description": p.get("description")
                    or p.get("schema", {}).get("description", ""),
                }
                for p in op.get("parameters", [])
            ]
            routes.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "params": params,
                    "body": "requestBody" in op,
                }
            )
    return render(request, "docs.html.j2", routes=routes)


async def _form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (the console's forms send nothing else)."""
    raw = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def _next(path: str) -> str:
    """Only a local path may follow a login (no open redirect)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return login_page(request, next_path=_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    from service.app import SESSION_COOKIE

    console = request.app.state.console
    form = await _form(request)
    target = _next(form.get("next", "/"))
    if not console.token:
        return RedirectResponse(target, status_code=303)
    given = form.get("token", "").strip().encode()
    if not hmac.compare_digest(given, console.token.encode()):
        return login_page(request, status_code=401, next_path=target, error="Wrong token.")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        console.session_value(),
        max_age=12 * 3600,
        httponly=True,
        samesite="strict",
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    from service.app import SESSION_COOKIE

    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
