"""What the HTTP API accepts and answers (the OpenAPI schema is built from these)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from service.filters import MAX_MATCH_CHARS, MAX_QUERY_CHARS, Filters


class ListQuery(Filters):
    limit: int = Field(50, ge=1, le=1000, description="rows per page")
    offset: int = Field(0, ge=0, le=1_000_000, description="rows to skip")


class ArticleQuery(ListQuery):
    narrative_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,64}$")] | None = None


class ExportQuery(Filters):
    limit: int = Field(10_000, ge=1, le=100_000)


class SearchQuery(Filters):
    q: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS)
    ] = Field(description="a sentence, headline, claim or words, in any language")
    limit: int = Field(10, ge=1, le=100)


def filters_of(query: Filters) -> Filters:
    return Filters(**query.model_dump(include=set(Filters.model_fields)))


class MatchRequest(BaseModel):
    """Either a text, or the URL (or id) of an article already in the store."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(max_length=MAX_MATCH_CHARS)] | None = None
    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    article_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,64}$")] | None = None
    top_k: int = Field(5, ge=1, le=20)

    @model_validator(mode="after")
    def _one_input(self) -> MatchRequest:
        given = [x for x in (self.text and self.text.strip(), self.url, self.article_id) if x]
        if len(given) != 1:
            raise ValueError("give exactly one of text, url or article_id")
        return self


class EntryRef(BaseModel):
    entry_id: str
    type: str
    title: str
    flag: str | None = None


class NarrativeSummary(BaseModel):
    narrative_id: str
    label: str
    keywords: list[str] = []
    status: str = Field(description="new, rising, steady or fading (last 7 days vs 7 before)")
    articles: int = Field(description="articles that pass the filters")
    total_articles: int
    outlets: int
    languages: list[str] = []
    countries: list[str] | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    recent_articles: int | None = None
    previous_articles: int | None = None
    weekly: list[int] | None = Field(None, description="articles per 7 days, oldest first")
    answered: bool
    gap: bool
    responses: list[EntryRef] = Field(description="approved, unexpired entries over threshold")
    drafts: list[EntryRef] = Field(description="entries over threshold not approved for use")
    score: float | None = None
    semantic: float | None = None
    keyword: float | None = None


class NarrativePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[NarrativeSummary]


class Article(BaseModel):
    article_id: str
    title: str
    url: str
    published_at: datetime | None = None
    language: str | None = None
    outlet_id: str | None = None
    outlet_name: str | None = None
    country: str | None = None
    scope: str | None = None
    duplicate_of: str | None = None
    narrative_id: str | None = None
    narrative_label: str | None = None
    similarity: float | None = None
    score: float | None = None
    semantic: float | None = None
    keyword: float | None = None


class ArticleFull(Article):
    text: str
    fetched_url: str
    byline: str | None = None


class ArticlePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Article]


class ResponseText(BaseModel):
    lang: str
    text: str
    copy_text: str = Field(description="what the copy button copies: response, sources, warning")


class LibraryMatch(BaseModel):
    entry_id: str
    type: str = Field(description="refute, clarify or promote")
    status: str
    title: str
    score: float | None
    above_threshold: bool | None
    usable: bool = Field(description="approved and unexpired: may be suggested")
    draft: bool = Field(description="not approved for use (draft, in review, expired)")
    flag: str | None
    flag_text: str | None
    expires_at: date | None = None
    responses: list[ResponseText]
    evidence: list[dict[str, Any]]


class NarrativeDetail(BaseModel):
    narrative_id: str
    label: str
    keywords: list[str] | None
    status: str
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    article_count: int
    recent_articles: int
    previous_articles: int
    copies: int
    answered: bool
    gap: bool
    origin_article_id: str
    origin: Article | None
    representative_article_id: str
    created_run_id: str
    run_id: str
    timeline: list[dict[str, Any]] = Field(description="articles and copies per day")
    outlets: list[dict[str, Any]]
    countries: list[tuple[str, int]]
    languages: list[tuple[str, int]]
    scopes: list[tuple[str, int]]
    spread: dict[str, Any]
    entities: list[dict[str, Any]]
    lineage: list[dict[str, Any]]
    responses: list[LibraryMatch] = Field(description="entries over the match threshold")
    candidates: list[LibraryMatch] = Field(description="best entries under the threshold")
    articles: list[Article]


class SearchResult(BaseModel):
    query: str
    filters: dict[str, Any]
    semantic: bool = Field(description="false when only the keyword side could answer")
    stale: bool = Field(description="answered from the last corpus while a writer holds the store")
    narratives: list[NarrativeSummary]
    articles: list[Article]


class MatchResult(BaseModel):
    threshold: float
    article: Article | None = None
    narrative: NarrativeDetail | None = None
    candidates: list[LibraryMatch]


class Health(BaseModel):
    status: str
    store: str
    articles: int
    narratives: int
    corpus_built_at: datetime | None
    semantic: bool
    token_required: bool
