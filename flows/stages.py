"""The pipeline's stages as plain functions: each reads its inputs, calls its room, stores.

The Prefect flow (flows/pipeline.py) calls these in order; benchmarks call them directly.
Each stage returns counts for the run summary. SQL stays in store/, logic in the rooms.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from flows.failpoints import failpoint
from mediawatch.records import Article, FeedItem, FetchRecord, Outlet, Page
from mediawatch.settings import Settings
from store import reads, writes
from store.db import Connection, connection, transaction

log = logging.getLogger("mediawatch")

# One model call at a time per process: a model already uses every core it is given, so
# threads would only take turns; Dask workers, each a process of its own, run side by side.
MODEL_CALL = threading.Semaphore(1)


@dataclass
class Acquired:
    """What the acquisition stages hand on."""

    items: list[FeedItem] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)
    log: list[FetchRecord] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)
    # what listings answered ((outlet_id, url) -> (ETag, Last-Modified)) and their kinds
    validators: dict[tuple[str, str], tuple[str | None, str | None]] = field(default_factory=dict)
    kinds: dict[tuple[str, str], str] = field(default_factory=dict)


def read_sources(settings: Settings) -> list[Outlet]:
    from crawlers.sources import load_sources

    if settings.sources is None:
        raise ValueError("no source registry given (the demo outlets write one first)")
    return load_sources(settings.sources)


def register_sources(settings: Settings, run_id: str, outlets: list[Outlet]) -> dict:
    with connection(settings.db) as con:
        writes.upsert_sources(con, outlets, run_id)
    return {"outlets": len(outlets), "enabled": sum(o.enabled for o in outlets)}


@dataclass(frozen=True)
class IngestPlan:
    """What the store already knows that collecting outlets needs, read by the writer.

    Collecting (feeds, discovery, pages, extraction) never opens the store, so it can run in
    a thread, a child process or a Dask worker on another machine; the plan travels with it.
    """

    validators: dict[tuple[str, str], tuple[str | None, str | None]] = field(default_factory=dict)
    known_urls: frozenset[str] = frozenset()  # stored: discovery does not list them again
    settled_urls: frozenset[str] = frozenset()  # stored before the recrawl window: not fetched

    def for_outlets(self, outlets: list[Outlet], stored: dict[str, tuple]) -> IngestPlan:
        """The part of the plan these outlets need (a task gets only its own outlet's)."""
        ids = {o.outlet_id for o in outlets}
        known: set[str] = set()
        settled: set[str] = set()
        for outlet_id in ids:
            outlet_known, outlet_settled = stored.get(outlet_id, (set(), set()))
            known |= outlet_known
            settled |= outlet_settled
        return IngestPlan(
            validators={k: v for k, v in self.validators.items() if k[0] in ids},
            known_urls=frozenset(known),
            settled_urls=frozenset(settled),
        )


def plan_ingest(settings: Settings, outlets: list[Outlet]) -> dict[str, IngestPlan]:
    """Per outlet: its validators for conditional GETs and the article URLs already stored."""
    cutoff = datetime.now(UTC) - timedelta(hours=settings.recrawl_window_hours)
    with connection(settings.db) as con:
        validators = reads.feed_validators(con)
        stored = reads.stored_article_urls_by_outlet(con, first_fetched_before=cutoff)
    whole = IngestPlan(validators=validators)
    return {o.outlet_id: whole.for_outlets([o], stored) for o in outlets}


def _whole_plan(settings: Settings, outlets: list[Outlet]) -> IngestPlan:
    plans = plan_ingest(settings, outlets)
    return IngestPlan(
        validators={k: v for p in plans.values() for k, v in p.validators.items()},
        known_urls=frozenset().union(*(p.known_urls for p in plans.values())),
        settled_urls=frozenset().union(*(p.settled_urls for p in plans.values())),
    )


def collect_outlets(
    settings: Settings, run_id: str, outlets: list[Outlet], plan: IngestPlan
) -> tuple[Acquired, dict]:
    """Everything acquisition does for some outlets, short of storing: listings, pages,
    extraction. Returns the articles and fetch records, and the page bodies dropped."""
    acquired, counts = fetch_feeds(settings, run_id, outlets, plan)
    acquired, more = fetch_pages(settings, run_id, outlets, acquired, plan)
    counts |= more
    acquired, more = extract_articles(settings, run_id, outlets, acquired)
    acquired.pages = []  # extracted: the bodies need not travel back to the writer
    return acquired, counts | more


def fetch_feeds(
    settings: Settings, run_id: str, outlets: list[Outlet], plan: IngestPlan | None = None
) -> tuple[Acquired, dict]:
    """Article links from feeds, sitemaps and section pages (conditional GETs: a document
    unchanged since its last complete read answers 304 and lists nothing). Stores nothing:
    the records and validators are stored with the articles (`store_articles`)."""
    from crawlers.discover import discover
    from crawlers.feeds import read_feeds

    enabled = [o for o in outlets if o.enabled]
    plan = plan if plan is not None else _whole_plan(settings, enabled)
    limits = {
        "timeout_s": settings.request_timeout_s,
        "max_bytes": settings.max_body_bytes,
        "user_agent": settings.user_agent,
        "validators": plan.validators,
        # a listing is read again next run anyway: one quick retry, not the page crawl's
        "retry_times": min(1, settings.crawl_retry_times),
        "backoff_s": settings.crawl_retry_backoff_s,
    }
    feeds = read_feeds(enabled, **limits)
    found = discover(
        enabled,
        known_urls=plan.known_urls,
        max_links=settings.discovery_max_links,
        max_age=timedelta(days=settings.sitemap_max_age_days),
        **limits,
    )
    records = feeds.records + found.records
    acquired = Acquired(items=feeds.items + found.items, log=list(records))
    acquired.validators = feeds.validators | found.validators
    acquired.kinds = {key: "feed" for key in feeds.validators} | found.kinds
    failed = [r for r in records if r.error_class]
    acquired.failures.update(f"{r.kind}: {r.error_class}" for r in failed)
    feed_records = [r for r in records if r.kind == "feed"]
    return acquired, {
        "feeds": len(feed_records),
        "feeds_failed": sum(1 for r in feed_records if r.error_class),
        "feed_items": len(feeds.items),
        "listings_not_modified": sum(1 for r in records if r.status == 304),
        "sitemaps": sum(1 for r in records if r.kind == "sitemap"),
        "sections": sum(1 for r in records if r.kind == "section"),
        "discovered_items": len(found.items),
    }


def fetch_pages(
    settings: Settings,
    run_id: str,
    outlets: list[Outlet],
    acquired: Acquired,
    plan: IngestPlan | None = None,
) -> tuple[Acquired, dict]:
    """Crawl the listed pages, except stored articles first fetched before the recrawl
    window (those are not asked for again; younger ones are, to catch corrections)."""
    from crawlers.canonical import normalise_url
    from crawlers.pages import fetch_pages as crawl

    plan = plan if plan is not None else _whole_plan(settings, outlets)
    settled = plan.settled_urls
    work_dir = settings.work_dir / run_id
    items = _unique_items(acquired.items)
    wanted = [i for i in items if i.url not in settled and normalise_url(i.url) not in settled]
    pages, records = crawl(wanted, outlets, settings=settings, work_dir=work_dir)
    acquired.pages = pages
    acquired.log += records
    failed = [r for r in records if r.error_class]
    acquired.failures.update(f"page: {r.error_class}" for r in failed)
    return acquired, {
        "pages_fetched": len(pages),
        "pages_failed": len(failed),
        "pages_already_stored": len(items) - len(wanted),
    }


def extract_articles(
    settings: Settings, run_id: str, outlets: list[Outlet], acquired: Acquired
) -> tuple[Acquired, dict]:
    from crawlers.extract import extract_page

    # an outlet's canonical links are trusted only on its own allowed domains
    hosts = {o.outlet_id: o.allowed_domains for o in outlets}
    articles, empty = [], 0
    for page in acquired.pages:
        article = extract_page(page, allowed_hosts=hosts.get(page.outlet_id, ()))
        if article is None:
            empty += 1
            acquired.failures["page: NoArticle"] += 1
        else:
            articles.append(article)
    acquired.articles = articles
    return acquired, {"articles_extracted": len(articles), "pages_without_article": empty}


def store_articles(
    settings: Settings, run_id: str, acquired: Acquired, con: Connection | None = None
) -> dict:
    """Store what was collected, in one transaction: every request in `fetch_log`, the
    articles, and the validators of the feeds, sitemaps and sections whose pages all
    settled (see crawlers/conditional.py). A run killed before the commit stores nothing of
    these outlets, and the next run reads them again in full. `con`: a writer connection
    kept open by the caller (storing outlet after outlet)."""
    if con is None:
        with connection(settings.db) as own:
            return store_articles(settings, run_id, acquired, own)
    from crawlers.conditional import settled_listings

    with transaction(con):
        writes.insert_fetch_log(con, acquired.log, run_id)
        writes.set_pending_validators(con, acquired.validators, acquired.kinds, run_id)
        failpoint(settings, "store articles")
        counts = writes.upsert_articles(con, acquired.articles, run_id)
        settled = settled_listings(acquired.items, acquired.log)
        kept = writes.commit_validators(con, settled, run_id)
    return {f"articles_{k}": v for k, v in counts.items()} | {"validators_kept": kept}


def mark_duplicates(settings: Settings, run_id: str) -> dict:
    """Group syndicated copies over everything stored, so a late copy is still recognised."""
    from crawlers.dedup import find_duplicates

    with connection(settings.db) as con:
        stored = reads.articles_for_dedup(con)
        candidates = [
            Article(
                article_id=a,
                outlet_id=o,
                url="",
                canonical_url="",
                title=t,
                text=x,
                published_at=p,
                language=None,
                byline=None,
                content_hash=h,
                fetched_at=p,
            )
            for a, o, t, x, p, h in stored
        ]
        copies = find_duplicates(candidates, threshold=settings.near_duplicate_threshold)
        writes.set_duplicates(
            con, {a.article_id: copies.get(a.article_id) for a in candidates}, run_id
        )
    return {"duplicates": len(copies)}


def identify_languages(settings: Settings, run_id: str) -> dict:
    from nlp.language import identify

    with connection(settings.db) as con:
        articles = reads.articles_for_analysis(con)
        found = {a.article_id: identify(f"{a.title}\n{a.text}", a.language) for a in articles}
        writes.set_languages(con, {k: v for k, v in found.items() if v}, run_id)
    languages = Counter(v for v in found.values() if v)
    return {"languages": dict(sorted(languages.items()))}


def enrich_articles(settings: Settings, run_id: str) -> dict:
    """spaCy per language (entities, Vietnamese words), for articles whose text changed.

    Odd input (empty, very long, unsupported script, mixed languages) is enriched as far as
    it goes and counted by flag in the summary; no article is skipped silently.
    """
    todo, cached = enrich_todo(settings)
    return store_enrichments(settings, run_id, todo, enrich_chunk(todo)) | {
        "enrich_cached": cached
    }


def enrich_todo(settings: Settings) -> tuple[list, int]:
    """Articles whose text has no enrichment yet, and how many already have one."""
    with connection(settings.db) as con:
        articles = reads.articles_for_analysis(con)
        done = reads.enriched_hashes(con)
    todo = [a for a in articles if done.get(a.article_id) != a.content_hash]
    return todo, len(articles) - len(todo)


def enrich_chunk(articles: list) -> list:
    """Enrich some articles (no store access: runs in a thread or on a Dask worker)."""
    from nlp.enrich import enrich

    return enrich(articles)


def store_enrichments(settings: Settings, run_id: str, articles: list, found: list) -> dict:
    with connection(settings.db) as con:
        hashes = {a.article_id: a.content_hash for a in articles}
        writes.replace_enrichments(con, found, hashes, run_id)
    return enrich_summary(found)


def enrich_summary(found: list) -> dict:
    """Counts of odd input by flag (empty, very long, unsupported script, mixed)."""
    from nlp.enrich import summarise

    return summarise(found)


def embed_articles(settings: Settings, run_id: str) -> dict:
    """Vectors for every article text not embedded yet with the configured model."""
    todo = embed_todo(settings)
    for keys, texts in todo.chunks(settings.analysis_chunk):
        store_embeddings(settings, run_id, todo.model_id, keys, embed_chunk(settings, texts))
    return todo.counts()


@dataclass
class EmbedTodo:
    """Texts to embed, keyed by content hash (vectors are cached by model and hash)."""

    model_id: str
    keys: list[str]
    texts: list[str]
    cached: int

    def chunks(self, size: int):
        for start in range(0, len(self.keys), size):
            yield self.keys[start : start + size], self.texts[start : start + size]

    def counts(self) -> dict:
        return {"embedded": len(self.keys), "embeddings_cached": self.cached,
                "model": self.model_id}  # fmt: skip


def embed_todo(settings: Settings) -> EmbedTodo:
    """What needs a vector; builds the default model first if it is not on disk yet, so
    workers that embed in parallel never race to build it."""
    from nlp.embed import article_text

    embedder = _embedder(settings)
    with connection(settings.db) as con:
        articles = reads.articles_for_analysis(con)
        hashes = sorted({a.content_hash for a in articles})
        cached = reads.cached_embeddings(con, embedder.model_id, hashes)
    texts = {a.content_hash: article_text(a.title, a.text) for a in articles
             if a.content_hash not in cached}  # fmt: skip
    keys = sorted(texts)
    return EmbedTodo(embedder.model_id, keys, [texts[k] for k in keys], len(cached))


def embed_chunk(settings: Settings, texts: list[str]) -> np.ndarray:
    """Passage vectors for some texts (no store access: a thread or a Dask worker)."""
    return _embedder(settings).embed_passages(texts)


def store_embeddings(
    settings: Settings, run_id: str, model_id: str, keys: list[str], vectors: np.ndarray
) -> None:
    with connection(settings.db) as con:
        writes.insert_embeddings(con, model_id, keys, vectors, run_id)
    failpoint(settings, "embed")


def _embedder(settings: Settings):
    from nlp.embed import load_embedder

    return load_embedder(
        settings.embedding_model, settings.models_dir, settings.embedding_batch_size
    )


def build_narratives(settings: Settings, run_id: str) -> dict:
    from nlp.narratives import TwoStageClustering
    from nlp.narratives import build_narratives as cluster

    model_id = _model_id(settings)
    since = datetime.now(UTC) - timedelta(days=settings.analysis_window_days)
    with connection(settings.db) as con:
        window = reads.articles_for_analysis(con, since)
        # an article without text joins no narrative: counted, not dropped silently
        articles = [a for a in window if a.text.strip()]
        cached = reads.cached_embeddings(con, model_id, [a.content_hash for a in articles])
        skipped = {
            "cluster_skipped_empty": len(window) - len(articles),
            "cluster_skipped_no_vector": sum(a.content_hash not in cached for a in articles),
        }
        articles = [a for a in articles if a.content_hash in cached]
        if not articles:
            return {"narratives": 0, "unclustered": 0} | skipped
        vectors = np.stack([cached[a.content_hash] for a in articles])
        result = cluster(
            articles,
            vectors,
            previous=reads.memberships(con),
            strategy=TwoStageClustering(
                settings.narrative_threshold,
                settings.narrative_merge_threshold,
                settings.narrative_cross_language_bonus,
            ),
        )
        tags = _topic_tags(settings, result.centroids, vectors.mean(axis=0))
        # one transaction: a run killed half-way leaves the narratives of the run before,
        # and the next run finds the same merges and splits again
        with transaction(con):
            writes.replace_narratives(con, result.narratives, result.centroids, model_id, run_id)
            failpoint(settings, "cluster narratives")
            writes.record_lineage(con, result.lineage, run_id)
            trends = _trends(settings, con)
            writes.replace_narrative_trends(con, trends.rows, trends.pickups, run_id)
            writes.replace_narrative_topics(con, tags, run_id)
    return {
        "narratives": len(result.narratives),
        "unclustered": result.unclustered,
        "lineage_events": len(result.lineage),
        "narrative_trend_rows": len(trends.rows),
        "members_undated": trends.undated,
        "narratives_with_topic": len({t[0] for t in tags}),
    } | skipped


def _topic_tags(settings: Settings, centroids: dict, corpus_mean: np.ndarray) -> list:
    """Topic tags from the taxonomy file (data/topics.yaml); a broken file tags nothing."""
    from nlp.embed import load_embedder
    from nlp.topics import TaxonomyError, load_topics, tag_narratives, topic_vectors

    try:
        topics = load_topics()
    except TaxonomyError as exc:
        log.error("topic taxonomy refused, no topic tags this run: %s", exc)
        return []
    embedder = load_embedder(
        settings.embedding_model, settings.models_dir, settings.embedding_batch_size
    )
    return tag_narratives(centroids, topics, topic_vectors(topics, embedder), corpus_mean)


def _trends(settings: Settings, con):
    """Trends per day and week and the pickup order, from the memberships just written."""
    from nlp.trends import MemberRow, compute_trends

    members = [MemberRow(*row) for row in reads.narrative_member_rows(con)]
    return compute_trends(members, settings.timezone)


def load_library(settings: Settings, run_id: str, today: date) -> dict:
    """Load and validate the library; an invalid one is refused and the last good one kept."""
    from rebuttal_library.validate import LibraryError
    from rebuttal_library.validate import load_library as load

    try:
        entries = load(settings.library_dir, today=today)
    except LibraryError as exc:
        log.error("library refused, keeping the last good one in the store: %s", exc)
        return {"library_refused": str(exc).splitlines()[0]}
    with connection(settings.db) as con:
        writes.replace_rebuttals(con, entries, run_id)
    usable = sum(e.is_usable(today) for e in entries)
    return {"library_entries": len(entries), "library_usable": usable}


def match_narratives(settings: Settings, run_id: str) -> dict:
    """Score every narrative against the library in the store (drafts too, flagged later).

    Hybrid matching (nlp/match.py) through each narrative's representative headlines; the
    library index is saved under work_dir by library version and rebuilt only when an
    entry changes. Scores are calibrated probabilities, compared with match_threshold.
    """
    from nlp.embed import load_embedder
    from nlp.match import NARRATIVE_HEADLINES, LibraryIndex, library_items
    from nlp.match import match_narratives as match

    with connection(settings.db) as con:
        entries = reads.library_for_matching(con)
        centroids = reads.narrative_centroids(con)
        headlines = reads.narrative_match_headlines(con, NARRATIVE_HEADLINES)
    embedder = load_embedder(
        settings.embedding_model, settings.models_dir, settings.embedding_batch_size
    )
    cache_dir = settings.work_dir / "library_index"
    index = LibraryIndex(library_items(entries), embedder, cache_dir=cache_dir)
    matches = match(centroids, index, threshold=settings.match_threshold, headlines=headlines)
    with connection(settings.db) as con:
        writes.replace_matches(con, matches, run_id)
        writes.record_library_index(
            con,
            {
                "library_version": index.version,
                "model_id": index.model_id,
                "kind": index.kind,
                "entries": len(index.items),
                "rows": len(index.rows.texts),
                "path": str(cache_dir / index.version),
                "calibration": index.calibration.id,
                "threshold": settings.match_threshold,
            },
            run_id,
        )
    return {
        "matches": sum(m.above_threshold for m in matches),
        "library_version": index.version,
        "library_index": "loaded" if index.built.loaded_from_disk else "built",
    }


def write_brief(settings: Settings, run_id: str, week: str | None = None) -> dict:
    from brief.render import render_brief

    written = render_brief(
        settings,
        week=week,
        formats=("html", "md"),
        run_id=run_id,
        on_written=lambda _: failpoint(settings, "write brief"),
    )
    return {
        "brief_week": written.week,
        "gaps": written.gaps,
        "brief": [str(p) for p in written.paths],
    }


# -- helpers ---------------------------------------------------------------------------------


def _model_id(settings: Settings) -> str:
    from nlp.embed import model_id_for

    return model_id_for(settings.embedding_model, settings.models_dir)


def _unique_items(items: list[FeedItem]) -> list[FeedItem]:
    """One request per article URL even when several feeds list it."""
    seen: dict[str, FeedItem] = {}
    for item in items:
        seen.setdefault(item.url, item)
    return list(seen.values())


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
