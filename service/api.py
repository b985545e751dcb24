"""The HTTP API (JSON, CSV): every route reads, none writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response

from service import export
from service.filters import ID_PATTERN
from service.library import article_text, match_library
from service.models import (
    ArticleFull,
    ArticlePage,
    ArticleQuery,
    ExportQuery,
    Health,
    ListQuery,
    MatchRequest,
    MatchResult,
    NarrativeDetail,
    NarrativePage,
    SearchQuery,
    SearchResult,
    filters_of,
)
from service.narratives import list_narratives, narrative_page, office_today
from service.search import hybrid_search
from store import reads

router = APIRouter(prefix="/api", tags=["api"])

NarrativeId = Annotated[str, Path(pattern=ID_PATTERN, description="narrative id")]
ArticleId = Annotated[str, Path(pattern=ID_PATTERN, description="article id")]


def console(request: Request):
    return request.app.state.console


@router.get("/health", response_model=Health)
def health(request: Request) -> dict[str, Any]:
    c = console(request)
    corpus, stale = c.corpus.get()
    return {
        "status": "stale" if stale else "ok",
        "store": str(c.source.current()),
        "articles": corpus.size,
        "narratives": len(corpus.narrative_ids),
        "corpus_built_at": corpus.built_at,
        "semantic": corpus.index is not None,
        "token_required": bool(c.token),
    }


@router.get("/narratives", response_model=NarrativePage)
def narratives(request: Request, query: Annotated[ListQuery, Query()]) -> dict[str, Any]:
    """Narratives with volume, reach, trend and responses; biggest first."""
    c = console(request)
    with c.source.read() as con:
        total, rows = list_narratives(con, filters_of(query), c.settings, query.limit, query.offset)
    return {"total": total, "limit": query.limit, "offset": query.offset, "items": rows}


@router.get("/narratives/{narrative_id}", response_model=NarrativeDetail)
def narrative(request: Request, narrative_id: NarrativeId) -> dict[str, Any]:
    """One narrative in full: timeline, outlets, countries, languages, origin, spread,
    matched responses with evidence (drafts flagged), its articles."""
    c = console(request)
    with c.source.read() as con:
        detail = narrative_page(con, narrative_id, c.settings)
    if detail is None:
        raise HTTPException(404, f"no narrative with id {narrative_id}")
    return detail


@router.get("/articles", response_model=ArticlePage)
def articles(request: Request, query: Annotated[ArticleQuery, Query()]) -> dict[str, Any]:
    """Articles, newest first, with their outlet and narrative."""
    c = console(request)
    store_filters = filters_of(query).for_store(c.settings.timezone)
    with c.source.read() as con:
        total, rows = reads.console_articles(
            con, store_filters, query.narrative_id, query.limit, query.offset
        )
    return {"total": total, "limit": query.limit, "offset": query.offset, "items": rows}


@router.get("/articles/{article_id}", response_model=ArticleFull)
def article(request: Request, article_id: ArticleId) -> dict[str, Any]:
    c = console(request)
    with c.source.read() as con:
        row = reads.console_article(con, article_id=article_id)
    if row is None or row["article_id"] != article_id:
        raise HTTPException(404, f"no article with id {article_id}")
    return row


def run_search(request: Request, query: SearchQuery) -> dict[str, Any]:
    c = console(request)
    corpus, stale = c.corpus.get()
    vector = None
    if corpus.index is not None or corpus.centroids is not None:
        embedder = c.embedder()
        if embedder.model_id == corpus.model_id:
            vector = embedder.embed_queries([query.q])[0]
    result = hybrid_search(corpus, vector, query.q, filters_of(query), c.settings, query.limit)
    result["stale"] = stale
    return result


@router.get("/search", response_model=SearchResult)
def search(request: Request, query: Annotated[SearchQuery, Query()]) -> dict[str, Any]:
    """Hybrid search (meaning + words) over narratives and articles, in any language."""
    return run_search(request, query)


class NotInStore(Exception):
    pass


def run_match(request: Request, body: MatchRequest) -> dict[str, Any]:
    """Match a text, or a stored article (by URL or id), against the library."""
    from crawlers.canonical import normalise_url

    c = console(request)
    embedder = c.embedder()
    article = narrative_detail = None
    with c.source.read() as con:
        if body.url or body.article_id:
            article = reads.console_article(con, article_id=body.article_id, url=body.url)
            if article is None and body.url:
                article = reads.console_article(con, url=normalise_url(body.url))
            if article is None:
                raise NotInStore(
                    "no article with this URL in the store"
                    if body.url
                    else "no article with this id in the store"
                )
            text = article_text(article)
            if article["narrative_id"]:
                narrative_detail = narrative_page(con, article["narrative_id"], c.settings)
        else:
            text = body.text or ""
        library = c.library.get(con, embedder)
    today = office_today(c.settings.timezone, datetime.now(UTC))
    candidates = match_library(
        text, library, embedder, c.settings.match_threshold, today, body.top_k
    )
    return {
        "threshold": c.settings.match_threshold,
        "article": article,
        "narrative": narrative_detail,
        "candidates": candidates,
    }


@router.post("/match", response_model=MatchResult, responses={404: {"description": "not stored"}})
def match(request: Request, body: MatchRequest) -> dict[str, Any]:
    """Best library entries for a free text, or for an article already in the store
    (give its URL or id). Entries not approved for use are flagged (`draft`, `flag`)."""
    try:
        return run_match(request, body)
    except NotInStore as exc:
        raise HTTPException(404, str(exc)) from exc


def _download(body: str, media: str, name: str) -> Response:
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/export/narratives.{fmt}", response_class=Response)
def export_narratives(
    request: Request, fmt: Literal["csv", "json"], query: Annotated[ExportQuery, Query()]
) -> Response:
    """The filtered narrative list as CSV or JSON."""
    c = console(request)
    with c.source.read() as con:
        _, rows = list_narratives(con, filters_of(query), c.settings, query.limit, 0)
    if fmt == "csv":
        return _download(
            export.to_csv(rows, export.NARRATIVE_COLUMNS),
            "text/csv; charset=utf-8",
            "narratives.csv",
        )
    items = [{k: r.get(k) for k in export.NARRATIVE_COLUMNS} for r in rows]
    return _download(export.to_json(items), "application/json", "narratives.json")


@router.get("/export/articles.{fmt}", response_class=Response)
def export_articles(
    request: Request, fmt: Literal["csv", "json"], query: Annotated[ExportQuery, Query()]
) -> Response:
    """The filtered articles as CSV or JSON (newest first)."""
    c = console(request)
    store_filters = filters_of(query).for_store(c.settings.timezone)
    with c.source.read() as con:
        _, rows = reads.console_articles(con, store_filters, None, query.limit, 0)
    if fmt == "csv":
        return _download(
            export.to_csv(rows, export.ARTICLE_COLUMNS),
            "text/csv; charset=utf-8",
            "articles.csv",
        )
    return _download(export.to_json(rows), "application/json", "articles.json")


@router.get("/export/search.{fmt}", response_class=Response)
def export_search(
    request: Request, fmt: Literal["csv", "json"], query: Annotated[SearchQuery, Query()]
) -> Response:
    """A search result as CSV (one table, `kind` narrative/article) or JSON."""
    result = run_search(request, query)
    if fmt == "csv":
        return _download(
            export.to_csv(export.search_rows(result), export.SEARCH_COLUMNS),
            "text/csv; charset=utf-8",
            "search.csv",
        )
    return _download(export.to_json(result), "application/json", "search.json")
