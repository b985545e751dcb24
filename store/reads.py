"""Every question the pipeline, the brief and the console ask of the store."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
import numpy as np

from mediawatch.records import ArticleForAnalysis


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# -- for the pipeline ------------------------------------------------------------------------


def articles_for_analysis(
    con: duckdb.DuckDBPyConnection, since: datetime | None = None
) -> list[ArticleForAnalysis]:
    rows = con.execute(
        "SELECT article_id, outlet_id, title, text, published_at, language, content_hash,"
        " duplicate_of FROM articles"
        " WHERE ? IS NULL OR published_at IS NULL OR published_at >= ?"
        " ORDER BY published_at NULLS LAST, article_id",
        [since, since],
    ).fetchall()
    return [ArticleForAnalysis(*row) for row in rows]


def articles_for_dedup(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(article_id, outlet_id, title, text, published_at, content_hash), oldest first."""
    return con.execute(
        "SELECT article_id, outlet_id, title, text, published_at, content_hash FROM articles"
        " ORDER BY published_at NULLS LAST, article_id"
    ).fetchall()


def cached_embeddings(
    con: duckdb.DuckDBPyConnection, model_id: str, hashes: list[str]
) -> dict[str, np.ndarray]:
    if not hashes:
        return {}
    rows = con.execute(
        "SELECT content_hash, vector FROM embeddings"
        " WHERE model_id = ? AND list_contains(?, content_hash)",
        [model_id, hashes],
    ).fetchall()
    return {h: np.asarray(v, dtype=np.float32) for h, v in rows}


def memberships(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT article_id, narrative_id FROM narrative_members").fetchall())


def narrative_centroids(con: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    rows = con.execute("SELECT narrative_id, centroid FROM narratives").fetchall()
    return {n: np.asarray(c, dtype=np.float32) for n, c in rows}


def rebuttal_count(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT count(*) FROM rebuttals").fetchone()[0])


def outlets(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return _dicts(con.execute("SELECT * FROM sources ORDER BY outlet_id"))


# -- for the brief ---------------------------------------------------------------------------


def week_overview(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> dict:
    row = con.execute(
        "SELECT count(*) FILTER (WHERE duplicate_of IS NULL), count(*) FILTER"
        " (WHERE duplicate_of IS NOT NULL), count(DISTINCT outlet_id), count(DISTINCT language)"
        " FROM articles WHERE published_at >= ? AND published_at < ?",
        [start, end],
    ).fetchone()
    return {"articles": row[0], "copies": row[1], "outlets": row[2], "languages": row[3]}


def share_by(con: duckdb.DuckDBPyConnection, column: str, start: datetime, end: datetime) -> list:
    """Articles per language, country or scope in a period (column is one of those three)."""
    expression = {"language": "a.language", "country": "s.country", "scope": "s.scope"}[column]
    return con.execute(
        f"SELECT coalesce({expression}, '?') AS key, count(*) AS n FROM articles a"
        " LEFT JOIN sources s USING (outlet_id)"
        " WHERE a.duplicate_of IS NULL AND a.published_at >= ? AND a.published_at < ?"
        " GROUP BY key ORDER BY n DESC, key",
        [start, end],
    ).fetchall()


def narrative_activity(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, previous_start: datetime
) -> list[dict[str, Any]]:
    """Per narrative: this period's and the previous period's volume and reach."""
    return _dicts(
        con.execute(
            """
        WITH m AS (
            SELECT n.narrative_id, a.article_id, a.outlet_id, a.language, a.published_at,
                   a.duplicate_of, s.country, s.scope
            FROM narratives n
            JOIN narrative_members nm USING (narrative_id)
            JOIN articles a USING (article_id)
            LEFT JOIN sources s USING (outlet_id)
        )
        SELECT n.narrative_id, n.label, n.keywords, n.first_seen_at, n.last_seen_at,
               n.article_count AS total_articles, n.origin_article_id,
               o.title AS origin_title, o.canonical_url AS origin_url, os.name AS origin_outlet,
               count(*) FILTER (WHERE m.published_at >= $start AND m.published_at < $end)
                   AS articles,
               count(*) FILTER (WHERE m.published_at >= $prev AND m.published_at < $start)
                   AS previous_articles,
               count(DISTINCT m.outlet_id) FILTER
                   (WHERE m.published_at >= $start AND m.published_at < $end) AS outlets,
               list(DISTINCT m.language ORDER BY m.language) FILTER
                   (WHERE m.published_at >= $start AND m.published_at < $end) AS languages,
               list(DISTINCT m.country ORDER BY m.country) FILTER
                   (WHERE m.published_at >= $start AND m.published_at < $end) AS countries,
               count(*) FILTER (WHERE m.scope = 'foreign' AND m.published_at >= $start
                   AND m.published_at < $end) AS foreign_articles
        FROM narratives n
        JOIN m USING (narrative_id)
        JOIN articles o ON o.article_id = n.origin_article_id
        LEFT JOIN sources os ON os.outlet_id = o.outlet_id
        GROUP BY ALL
        ORDER BY articles DESC, total_articles DESC, n.narrative_id
        """,
            {"start": start, "end": end, "prev": previous_start},
        )
    )


def narrative_headlines(
    con: duckdb.DuckDBPyConnection,
    narrative_ids: list[str],
    start: datetime,
    end: datetime,
    per_narrative: int = 3,
) -> dict[str, list[dict[str, Any]]]:
    """The articles closest to each narrative's centre in a period, one per outlet."""
    rows = _dicts(
        con.execute(
            """
        SELECT narrative_id, article_id, title, url, outlet_name, language, published_at
        FROM (
            SELECT nm.narrative_id, a.article_id, a.title, a.canonical_url AS url,
                   s.name AS outlet_name,
                   a.language, a.published_at,
                   row_number() OVER (PARTITION BY nm.narrative_id, a.outlet_id
                                      ORDER BY nm.similarity DESC, a.article_id) AS per_outlet
            FROM narrative_members nm
            JOIN articles a USING (article_id)
            LEFT JOIN sources s USING (outlet_id)
            WHERE list_contains(?, nm.narrative_id) AND a.duplicate_of IS NULL
              AND a.published_at >= ? AND a.published_at < ?
        ) WHERE per_outlet = 1
        ORDER BY narrative_id, published_at, article_id
        """,
            [narrative_ids, start, end],
        )
    )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["narrative_id"], [])
        if len(grouped[row["narrative_id"]]) < per_narrative:
            grouped[row["narrative_id"]].append(row)
    return grouped


def narrative_weekly_volume(
    con: duckdb.DuckDBPyConnection, narrative_ids: list[str], since: datetime, timezone: str
) -> list[tuple[str, str, int]]:
    """(narrative_id, ISO week, articles) for weeks since a date, in the office's time zone."""
    return con.execute(
        "SELECT nm.narrative_id, strftime(timezone(?, a.published_at), '%G-W%V') AS week,"
        " count(*) FROM narrative_members nm JOIN articles a USING (article_id)"
        " WHERE list_contains(?, nm.narrative_id) AND a.published_at >= ?"
        " GROUP BY ALL ORDER BY ALL",
        [timezone, narrative_ids, since],
    ).fetchall()


def matches_with_entries(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = _dicts(
        con.execute(
            """
        SELECT m.narrative_id, m.entry_id, m.entry_version, m.score, m.rank,
               m.above_threshold, r.type, r.status, r.title, r.evidence, r.expires_at,
               r.response, r.claims, m.run_id
        FROM matches m JOIN rebuttals r USING (entry_id)
        ORDER BY m.narrative_id, m.rank
        """
        )
    )
    for row in rows:
        row["evidence"] = json.loads(row["evidence"] or "[]")
    return rows


def outlet_health(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> list[dict]:
    """Per outlet: requests and failures in a period, last success, articles published."""
    return _dicts(
        con.execute(
            """
        SELECT s.outlet_id, s.name, s.country, s.scope,
               count(f.url) AS requests,
               count(f.url) FILTER (WHERE f.error_class IS NOT NULL) AS failures,
               max(f.fetched_at) FILTER (WHERE f.error_class IS NULL) AS last_success,
               list(DISTINCT f.error_class ORDER BY f.error_class)
                   FILTER (WHERE f.error_class IS NOT NULL) AS errors,
               (SELECT count(*) FROM articles a WHERE a.outlet_id = s.outlet_id
                  AND a.published_at >= $start AND a.published_at < $end) AS articles
        FROM sources s
        LEFT JOIN fetch_log f ON f.outlet_id = s.outlet_id
            AND f.run_id = (SELECT run_id FROM runs WHERE status = 'completed' OR status = 'running'
                            ORDER BY started_at DESC LIMIT 1)
        GROUP BY ALL
        ORDER BY s.outlet_id
        """,
            {"start": start, "end": end},
        )
    )


def runs_behind(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> list[str]:
    """Run ids whose rows a brief of this period reads."""
    rows = con.execute(
        """
        SELECT DISTINCT run_id FROM (
            SELECT run_id FROM articles WHERE published_at >= $start AND published_at < $end
            UNION ALL SELECT run_id FROM narratives
            UNION ALL SELECT run_id FROM narrative_members
            UNION ALL SELECT run_id FROM matches
            UNION ALL SELECT run_id FROM rebuttals
        ) ORDER BY run_id
        """,
        {"start": start, "end": end},
    ).fetchall()
    return [r[0] for r in rows]


def latest_run(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    rows = _dicts(con.execute("SELECT * FROM runs ORDER BY started_at DESC LIMIT 1"))
    return rows[0] if rows else None


# -- for the console -------------------------------------------------------------------------


def narrative_list(
    con: duckdb.DuckDBPyConnection,
    since: datetime | None = None,
    until: datetime | None = None,
    language: str | None = None,
    country: str | None = None,
    scope: str | None = None,
    outlet: str | None = None,
) -> list[dict[str, Any]]:
    """Narratives with volume and reach over the filtered articles."""
    return _dicts(
        con.execute(
            """
        SELECT n.narrative_id, n.label, n.keywords, n.first_seen_at, n.last_seen_at,
               count(*) AS articles,
               count(DISTINCT a.outlet_id) AS outlets,
               list(DISTINCT a.language ORDER BY a.language) AS languages,
               list(DISTINCT s.country ORDER BY s.country) AS countries,
               (SELECT list(m.entry_id ORDER BY m.rank) FROM matches m
                 WHERE m.narrative_id = n.narrative_id AND m.above_threshold) AS matched_entries
        FROM narratives n
        JOIN narrative_members nm USING (narrative_id)
        JOIN articles a USING (article_id)
        LEFT JOIN sources s ON s.outlet_id = a.outlet_id
        WHERE ($since IS NULL OR a.published_at >= $since)
          AND ($until IS NULL OR a.published_at < $until)
          AND ($language IS NULL OR a.language = $language)
          AND ($country IS NULL OR s.country = $country)
          AND ($scope IS NULL OR s.scope = $scope)
          AND ($outlet IS NULL OR a.outlet_id = $outlet)
        GROUP BY ALL
        ORDER BY articles DESC, n.narrative_id
        """,
            {
                "since": since,
                "until": until,
                "language": language,
                "country": country,
                "scope": scope,
                "outlet": outlet,
            },
        )
    )


def narrative_detail(con: duckdb.DuckDBPyConnection, narrative_id: str) -> dict[str, Any] | None:
    found = _dicts(
        con.execute(
            "SELECT narrative_id, label, keywords, first_seen_at, last_seen_at, article_count,"
            " origin_article_id, representative_article_id, created_run_id, run_id"
            " FROM narratives WHERE narrative_id = ?",
            [narrative_id],
        )
    )
    if not found:
        return None
    detail = found[0]
    detail["articles"] = _dicts(
        con.execute(
            "SELECT a.article_id, a.title, a.canonical_url AS url, a.published_at, a.language,"
            " a.outlet_id,"
            " s.name AS outlet_name, s.country, s.scope, a.duplicate_of, nm.similarity"
            " FROM narrative_members nm JOIN articles a USING (article_id)"
            " LEFT JOIN sources s USING (outlet_id)"
            " WHERE nm.narrative_id = ? ORDER BY a.published_at, a.article_id",
            [narrative_id],
        )
    )
    detail["matches"] = [m for m in matches_with_entries(con) if m["narrative_id"] == narrative_id]
    return detail


def search_articles_by_vector(
    con: duckdb.DuckDBPyConnection, model_id: str, vector: np.ndarray, limit: int = 10
) -> list[dict[str, Any]]:
    return _dicts(
        con.execute(
            "SELECT a.article_id, a.title, a.canonical_url AS url, a.published_at, a.language,"
            " a.outlet_id,"
            " nm.narrative_id, list_cosine_similarity(e.vector, ?::FLOAT[]) AS score"
            " FROM articles a JOIN embeddings e ON e.content_hash = a.content_hash"
            " AND e.model_id = ? LEFT JOIN narrative_members nm USING (article_id)"
            " WHERE a.duplicate_of IS NULL ORDER BY score DESC, a.article_id LIMIT ?",
            [vector.astype(np.float32).tolist(), model_id, limit],
        )
    )


def narrative_model_id(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute("SELECT any_value(model_id) FROM narratives").fetchone()
    return row[0] if row else None


def library_for_matching(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Entries the matcher scores: everything but retired ones (drafts are shown as drafts)."""
    return _dicts(
        con.execute(
            "SELECT entry_id, version, title, claims, type, status, expires_at FROM rebuttals"
            " WHERE status <> 'retired' ORDER BY entry_id"
        )
    )


# -- for the rapid-response console (service/) -----------------------------------------------

# Filters on the articles a console question counts; every parameter may be NULL (= any).
_CONSOLE_ARTICLE_FILTER = """
      ($since IS NULL OR a.published_at >= $since)
  AND ($until IS NULL OR a.published_at < $until)
  AND ($language IS NULL OR a.language = $language)
  AND ($country IS NULL OR s.country = $country)
  AND ($scope IS NULL OR s.scope = $scope)
  AND ($outlet IS NULL OR a.outlet_id = $outlet)
"""

# A topic is a plain substring (no LIKE wildcards) of the label or a keyword, or a topic of a
# library entry matched to the narrative over the threshold.
_CONSOLE_TOPIC_FILTER = """
  ($topic IS NULL
   OR contains(lower(n.label), lower($topic))
   OR len(list_filter(coalesce(n.keywords, []), lambda k: contains(lower(k), lower($topic)))) > 0
   OR EXISTS (SELECT 1 FROM matches mt JOIN rebuttals r USING (entry_id)
              WHERE mt.narrative_id = n.narrative_id AND mt.above_threshold
                AND list_contains(r.topics, lower($topic))))
"""


def _console_params(filters: dict[str, Any]) -> dict[str, Any]:
    keys = ("since", "until", "language", "country", "scope", "outlet")
    return {k: filters.get(k) for k in keys}


def console_narratives(
    con: duckdb.DuckDBPyConnection,
    filters: dict[str, Any],
    recent_start: datetime,
    previous_start: datetime,
    narrative_ids: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Narratives with volume and reach over the filtered articles, and the counts a trend needs.

    filters: since, until, language, country, scope, outlet, topic (each may be None).
    `articles` counts articles in [since, until); `recent_articles` those in
    [recent_start, until) and `previous_articles` those in [previous_start, recent_start), with
    the other filters applied; `first_filtered_at` is the first filtered article at any date.
    """
    params = _console_params(filters)
    params |= {
        "topic": filters.get("topic"),
        "recent": recent_start,
        "previous": previous_start,
        "ids": narrative_ids,
    }
    return _dicts(
        con.execute(
            f"""
        WITH m AS (
            SELECT nm.narrative_id, a.article_id, a.outlet_id, a.language, a.published_at,
                   a.duplicate_of, s.country, s.scope
            FROM narrative_members nm
            JOIN articles a USING (article_id)
            LEFT JOIN sources s ON s.outlet_id = a.outlet_id
            WHERE ($until IS NULL OR a.published_at < $until)
              AND ($language IS NULL OR a.language = $language)
              AND ($country IS NULL OR s.country = $country)
              AND ($scope IS NULL OR s.scope = $scope)
              AND ($outlet IS NULL OR a.outlet_id = $outlet)
              AND ($ids IS NULL OR list_contains($ids, nm.narrative_id))
        )
        SELECT n.narrative_id, n.label, n.keywords, n.first_seen_at, n.last_seen_at,
               n.article_count AS total_articles, n.origin_article_id,
               count(*) FILTER (WHERE $since IS NULL OR m.published_at >= $since) AS articles,
               count(DISTINCT m.outlet_id) FILTER
                   (WHERE $since IS NULL OR m.published_at >= $since) AS outlets,
               list(DISTINCT m.language ORDER BY m.language) FILTER
                   (WHERE ($since IS NULL OR m.published_at >= $since)
                    AND m.language IS NOT NULL) AS languages,
               list(DISTINCT m.country ORDER BY m.country) FILTER
                   (WHERE ($since IS NULL OR m.published_at >= $since)
                    AND m.country IS NOT NULL) AS countries,
               count(*) FILTER (WHERE m.published_at >= $recent) AS recent_articles,
               count(*) FILTER (WHERE m.published_at >= $previous
                                  AND m.published_at < $recent) AS previous_articles,
               min(m.published_at) AS first_filtered_at,
               max(m.published_at) FILTER
                   (WHERE $since IS NULL OR m.published_at >= $since) AS last_filtered_at
        FROM narratives n
        JOIN m USING (narrative_id)
        WHERE {_CONSOLE_TOPIC_FILTER}
        GROUP BY ALL
        HAVING count(*) FILTER (WHERE $since IS NULL OR m.published_at >= $since) > 0
        ORDER BY articles DESC, n.narrative_id
        """,
            params,
        )
    )


def console_narrative_volume(
    con: duckdb.DuckDBPyConnection,
    narrative_ids: list[str],
    end: datetime,
    bucket_days: int,
    buckets: int,
    filters: dict[str, Any],
) -> list[tuple[str, int, int]]:
    """(narrative_id, bucket, articles): bucket 0 is the `bucket_days` days before `end`."""
    params = _console_params(filters) | {
        "ids": narrative_ids,
        "end": end,
        "width": bucket_days * 86400,
        "buckets": buckets,
    }
    return con.execute(
        f"""
        SELECT narrative_id, bucket, count(*) FROM (
            SELECT nm.narrative_id,
                   CAST(floor(date_diff('second', a.published_at, $end) / $width) AS INTEGER)
                       AS bucket
            FROM narrative_members nm
            JOIN articles a USING (article_id)
            LEFT JOIN sources s ON s.outlet_id = a.outlet_id
            WHERE list_contains($ids, nm.narrative_id) AND a.published_at < $end
              AND {_CONSOLE_ARTICLE_FILTER}
        ) WHERE bucket < $buckets
        GROUP BY ALL ORDER BY ALL
        """,
        params,
    ).fetchall()


def console_articles(
    con: duckdb.DuckDBPyConnection,
    filters: dict[str, Any],
    narrative_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """(total, one page of articles), newest first, with outlet and narrative."""
    params = _console_params(filters) | {"narrative": narrative_id}
    where = f"""
        WHERE {_CONSOLE_ARTICLE_FILTER}
          AND ($narrative IS NULL OR nm.narrative_id = $narrative)
    """
    base = (
        "FROM articles a LEFT JOIN sources s ON s.outlet_id = a.outlet_id"
        " LEFT JOIN narrative_members nm ON nm.article_id = a.article_id"
    )
    total = con.execute(f"SELECT count(*) {base} {where}", params).fetchall()[0][0]
    rows = _dicts(
        con.execute(
            f"""
        SELECT a.article_id, a.title, a.canonical_url AS url, a.published_at, a.language,
               a.outlet_id, s.name AS outlet_name, s.country, s.scope, a.duplicate_of,
               nm.narrative_id
        {base} {where}
        ORDER BY a.published_at DESC NULLS LAST, a.article_id
        LIMIT $limit OFFSET $offset
        """,
            params | {"limit": limit, "offset": offset},
        )
    )
    return int(total), rows


def console_article(
    con: duckdb.DuckDBPyConnection, article_id: str | None = None, url: str | None = None
) -> dict[str, Any] | None:
    """One article by id, or by its fetched or canonical URL; with its text and narrative."""
    rows = _dicts(
        con.execute(
            """
        SELECT a.article_id, a.title, a.text, a.url AS fetched_url, a.canonical_url AS url,
               a.published_at, a.language, a.byline, a.outlet_id, s.name AS outlet_name,
               s.country, s.scope, a.duplicate_of, a.content_hash, nm.narrative_id,
               n.label AS narrative_label
        FROM articles a
        LEFT JOIN sources s ON s.outlet_id = a.outlet_id
        LEFT JOIN narrative_members nm ON nm.article_id = a.article_id
        LEFT JOIN narratives n ON n.narrative_id = nm.narrative_id
        WHERE a.article_id = $id OR a.canonical_url = $url OR a.url = $url
        ORDER BY (a.article_id = $id) DESC, a.article_id
        LIMIT 1
        """,
            {"id": article_id, "url": url},
        )
    )
    return rows[0] if rows else None


def console_entities(
    con: duckdb.DuckDBPyConnection, narrative_id: str, limit: int = 20
) -> list[dict[str, Any]]:
    """The entities its articles name most, if the enrich stage recorded any."""
    return _dicts(
        con.execute(
            "SELECT e.label, e.text, sum(e.count) AS mentions, count(DISTINCT e.article_id)"
            " AS articles FROM entities e JOIN narrative_members nm USING (article_id)"
            " WHERE nm.narrative_id = ? GROUP BY ALL ORDER BY mentions DESC, e.text LIMIT ?",
            [narrative_id, limit],
        )
    )


def console_match_summaries(
    con: duckdb.DuckDBPyConnection, narrative_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    """Each narrative's scored library entries (no response text), best first."""
    return _dicts(
        con.execute(
            "SELECT m.narrative_id, m.entry_id, m.score, m.rank, m.above_threshold, r.type,"
            " r.status, r.title, r.expires_at, r.topics FROM matches m"
            " JOIN rebuttals r USING (entry_id)"
            " WHERE $ids IS NULL OR list_contains($ids, m.narrative_id)"
            " ORDER BY m.narrative_id, m.rank",
            {"ids": narrative_ids},
        )
    )


def console_library(
    con: duckdb.DuckDBPyConnection, entry_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    """Library entries in full (response and evidence as stored: JSON text)."""
    return _dicts(
        con.execute(
            "SELECT entry_id, version, type, status, title, claims, response, evidence, topics,"
            " languages, reviewed_by, reviewed_at, expires_at FROM rebuttals"
            " WHERE $ids IS NULL OR list_contains($ids, entry_id) ORDER BY entry_id",
            {"ids": entry_ids},
        )
    )


def console_article_corpus(con: duckdb.DuckDBPyConnection, model_id: str):
    """Every article with its vector, as one Arrow table.

    Columns: article_id, title, url, published_at, language, outlet_id, outlet_name,
    country, scope, narrative_id, duplicate_of, vector (FLOAT[]; null when not embedded
    with model_id).
    """
    return con.sql(
        """
        SELECT a.article_id, a.title, a.canonical_url AS url, a.published_at, a.language,
               a.outlet_id, s.name AS outlet_name, s.country, s.scope, nm.narrative_id,
               a.duplicate_of, e.vector
        FROM articles a
        LEFT JOIN sources s ON s.outlet_id = a.outlet_id
        LEFT JOIN narrative_members nm ON nm.article_id = a.article_id
        LEFT JOIN embeddings e ON e.content_hash = a.content_hash AND e.model_id = ?
        ORDER BY a.article_id
        """,
        params=[model_id],
    ).to_arrow_table()


def console_narrative_corpus(con: duckdb.DuckDBPyConnection):
    """Every narrative with its centroid and the text a keyword search reads, as Arrow.

    Columns: narrative_id, label, keywords, model_id, centroid, titles (its articles' titles,
    the closest to its centre first, at most 50).
    """
    return con.sql(
        """
        WITH t AS (
            SELECT nm.narrative_id,
                   list(a.title ORDER BY nm.similarity DESC, a.article_id)[1:50] AS titles
            FROM narrative_members nm JOIN articles a USING (article_id)
            GROUP BY nm.narrative_id
        )
        SELECT n.narrative_id, n.label, n.keywords, n.model_id, n.centroid, t.titles
        FROM narratives n LEFT JOIN t USING (narrative_id)
        ORDER BY n.narrative_id
        """
    ).to_arrow_table()


def console_lineage(con: duckdb.DuckDBPyConnection, narrative_id: str) -> list[dict[str, Any]]:
    """Merges and splits this narrative took part in, oldest first."""
    return _dicts(
        con.execute(
            "SELECT kind, from_narrative_id, to_narrative_id, recorded_at, run_id"
            " FROM narrative_lineage WHERE from_narrative_id = ? OR to_narrative_id = ?"
            " ORDER BY recorded_at, kind, from_narrative_id, to_narrative_id",
            [narrative_id, narrative_id],
        )
    )


# -- acquisition: source health, conditional GET, what is already stored ---------------------


def source_health(
    con: duckdb.DuckDBPyConnection, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Per outlet (registered, fetched or stored): fetches in [since, until) and ever before
    `until`, its latest run's feed/sitemap/section outcomes, and its articles.

    Requests exclude robots.txt fetches (they belong to a host, not to an outlet). A warning
    is a usable fetch with a message (a 304 "not modified" is not a warning).
    """
    return _dicts(
        con.execute(
            """
        WITH f AS (
            SELECT * FROM fetch_log WHERE kind <> 'robots' AND fetched_at < $until
        ),
        per AS (
            SELECT outlet_id,
                   count(*) FILTER (WHERE fetched_at >= $since) AS requests,
                   count(*) FILTER (WHERE fetched_at >= $since AND error_class IS NOT NULL)
                       AS failures,
                   count(*) FILTER (WHERE fetched_at >= $since AND error_class IS NULL
                       AND error_message IS NOT NULL AND coalesce(status, 0) <> 304) AS warnings,
                   count(*) FILTER (WHERE fetched_at >= $since AND status = 304) AS not_modified,
                   max(fetched_at) FILTER (WHERE error_class IS NULL) AS last_success,
                   max(fetched_at) AS last_attempt,
                   arg_max(error_class, fetched_at) FILTER (WHERE error_class IS NOT NULL)
                       AS last_error_class,
                   arg_max(error_message, fetched_at) FILTER (WHERE error_class IS NOT NULL)
                       AS last_error_message,
                   arg_max(url, fetched_at) FILTER (WHERE error_class IS NOT NULL)
                       AS last_error_url,
                   arg_max(run_id, fetched_at) AS last_run_id
            FROM f GROUP BY outlet_id
        ),
        latest AS (
            SELECT f.outlet_id,
                   count(*) FILTER (WHERE kind IN ('feed', 'sitemap', 'section')) AS listings,
                   count(*) FILTER (WHERE kind IN ('feed', 'sitemap', 'section')
                       AND error_class IS NOT NULL) AS listings_failed,
                   count(*) FILTER (WHERE kind = 'page') AS pages,
                   count(*) FILTER (WHERE kind = 'page' AND error_class IS NOT NULL)
                       AS pages_failed
            FROM f JOIN per ON per.outlet_id = f.outlet_id AND f.run_id = per.last_run_id
            GROUP BY f.outlet_id
        ),
        errs AS (
            SELECT outlet_id,
                   list({'error_class': error_class, 'count': n}
                        ORDER BY n DESC, error_class) AS errors
            FROM (SELECT outlet_id, error_class, count(*) AS n FROM f
                  WHERE fetched_at >= $since AND error_class IS NOT NULL GROUP BY ALL)
            GROUP BY outlet_id
        ),
        arts AS (
            SELECT outlet_id,
                   count(*) AS articles_total,
                   count(*) FILTER (WHERE published_at >= $since AND published_at < $until)
                       AS articles_published,
                   count(*) FILTER (WHERE fetched_at >= $since AND fetched_at < $until)
                       AS articles_new,
                   max(published_at) FILTER (WHERE published_at < $until) AS last_published,
                   max(fetched_at) FILTER (WHERE fetched_at < $until) AS last_stored
            FROM articles GROUP BY outlet_id
        ),
        ids AS (
            SELECT outlet_id FROM sources UNION SELECT outlet_id FROM per
            UNION SELECT outlet_id FROM arts
        )
        SELECT ids.outlet_id, s.name, s.enabled, s.country, s.scope,
               coalesce(per.requests, 0) AS requests, coalesce(per.failures, 0) AS failures,
               coalesce(per.warnings, 0) AS warnings,
               coalesce(per.not_modified, 0) AS not_modified,
               per.last_success, per.last_attempt, per.last_error_class,
               per.last_error_message, per.last_error_url, per.last_run_id,
               coalesce(latest.listings, 0) AS latest_listings,
               coalesce(latest.listings_failed, 0) AS latest_listings_failed,
               coalesce(latest.pages, 0) AS latest_pages,
               coalesce(latest.pages_failed, 0) AS latest_pages_failed,
               coalesce(errs.errors, []) AS errors,
               coalesce(arts.articles_total, 0) AS articles_total,
               coalesce(arts.articles_published, 0) AS articles_published,
               coalesce(arts.articles_new, 0) AS articles_new,
               arts.last_published, arts.last_stored
        FROM ids
        LEFT JOIN sources s USING (outlet_id)
        LEFT JOIN per USING (outlet_id)
        LEFT JOIN latest USING (outlet_id)
        LEFT JOIN errs USING (outlet_id)
        LEFT JOIN arts USING (outlet_id)
        ORDER BY ids.outlet_id
        """,
            {"since": since, "until": until},
        )
    )


def feed_validators(
    con: duckdb.DuckDBPyConnection,
) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """{(outlet_id, url): (ETag, Last-Modified)} in use for conditional GETs."""
    rows = con.execute(
        "SELECT outlet_id, url, etag, last_modified FROM feed_state"
        " WHERE etag IS NOT NULL OR last_modified IS NOT NULL"
    ).fetchall()
    return {(outlet_id, url): (etag, modified) for outlet_id, url, etag, modified in rows}


def stored_article_urls(
    con: duckdb.DuckDBPyConnection, first_fetched_before: datetime | None = None
) -> set[str]:
    """Fetch URLs and canonical URLs of stored articles (first fetched before a time, if
    given): pages that need not be requested again."""
    rows = con.execute(
        "SELECT url, canonical_url FROM articles WHERE ? IS NULL OR fetched_at < ?",
        [first_fetched_before, first_fetched_before],
    ).fetchall()
    return {url for pair in rows for url in pair if url}


def stored_article_urls_by_outlet(
    con: duckdb.DuckDBPyConnection, first_fetched_before: datetime
) -> dict[str, tuple[set[str], set[str]]]:
    """Per outlet: (fetch and canonical URLs of its stored articles, the same of those first
    fetched before the time given): what discovery need not list, what need not be fetched."""
    rows = con.execute(
        "SELECT outlet_id, url, canonical_url, fetched_at < ? FROM articles",
        [first_fetched_before],
    ).fetchall()
    found: dict[str, tuple[set[str], set[str]]] = {}
    for outlet_id, url, canonical_url, settled in rows:
        known, old = found.setdefault(outlet_id, (set(), set()))
        for value in (url, canonical_url):
            if value:
                known.add(value)
                if settled:
                    old.add(value)
    return found


# -- for the weekly brief (brief/) -----------------------------------------------------------
# The brief's own questions; the functions above under "for the brief" are kept as they are.


def brief_weekly_volume(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, timezone: str
) -> list[tuple[str, str, int]]:
    """(narrative_id, ISO week, articles) for every narrative in [start, end).

    Weeks are ISO weeks in the office's time zone; syndicated copies count (they are reach).
    """
    return con.execute(
        "SELECT nm.narrative_id, strftime(timezone(?, a.published_at), '%G-W%V') AS week,"
        " count(*) FROM narrative_members nm JOIN articles a USING (article_id)"
        " WHERE a.published_at >= ? AND a.published_at < ?"
        " GROUP BY ALL ORDER BY ALL",
        [timezone, start, end],
    ).fetchall()


def brief_weekly_scope(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, timezone: str
) -> list[tuple[str, str, int]]:
    """(ISO week, scope, articles) in [start, end); copies left out, unknown scope as '?'."""
    return con.execute(
        "SELECT strftime(timezone(?, a.published_at), '%G-W%V') AS week,"
        " coalesce(s.scope, '?') AS scope, count(*) FROM articles a"
        " LEFT JOIN sources s USING (outlet_id)"
        " WHERE a.duplicate_of IS NULL AND a.published_at >= ? AND a.published_at < ?"
        " GROUP BY ALL ORDER BY ALL",
        [timezone, start, end],
    ).fetchall()


def brief_outlet_health(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, previous_start: datetime
) -> list[dict[str, Any]]:
    """Per outlet: articles this period and the one before, last article before `end`, and
    requests, failures and error classes in the latest run that fetched anything."""
    return _dicts(
        con.execute(
            """
        WITH latest AS (
            SELECT f.run_id FROM fetch_log f JOIN runs r USING (run_id)
            ORDER BY r.started_at DESC, f.run_id LIMIT 1
        ),
        f AS (
            SELECT outlet_id, count(*) AS requests,
                   count(*) FILTER (WHERE error_class IS NOT NULL) AS failures,
                   list(DISTINCT error_class ORDER BY error_class)
                       FILTER (WHERE error_class IS NOT NULL) AS errors
            FROM fetch_log WHERE run_id = (SELECT run_id FROM latest)
            GROUP BY outlet_id
        ),
        a AS (
            SELECT outlet_id,
                   count(*) FILTER (WHERE published_at >= $start) AS articles,
                   count(*) FILTER (WHERE published_at >= $prev AND published_at < $start)
                       AS previous_articles,
                   max(published_at) AS last_published_at
            FROM articles WHERE published_at < $end
            GROUP BY outlet_id
        )
        SELECT s.outlet_id, s.name, s.country, s.scope, coalesce(s.enabled, true) AS enabled,
               coalesce(a.articles, 0) AS articles,
               coalesce(a.previous_articles, 0) AS previous_articles,
               a.last_published_at,
               coalesce(f.requests, 0) AS requests, coalesce(f.failures, 0) AS failures,
               coalesce(f.errors, []) AS errors
        FROM sources s
        LEFT JOIN a USING (outlet_id)
        LEFT JOIN f USING (outlet_id)
        ORDER BY s.outlet_id
        """,
            {"start": start, "end": end, "prev": previous_start},
        )
    )


def brief_fetch_failures(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """(kind, error class, requests) that failed in the latest run that fetched anything."""
    return con.execute(
        """
        SELECT kind, error_class, count(*) AS n FROM fetch_log
        WHERE error_class IS NOT NULL AND run_id = (
            SELECT f.run_id FROM fetch_log f JOIN runs r USING (run_id)
            ORDER BY r.started_at DESC, f.run_id LIMIT 1)
        GROUP BY ALL ORDER BY n DESC, kind, error_class
        """
    ).fetchall()


def brief_dropped(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> dict:
    """What a period's figures leave out, and why: copies, articles in no narrative,
    articles without a language; and undated articles (no week can hold them)."""
    row = con.execute(
        """
        SELECT count(*) FILTER (WHERE a.published_at >= $start AND a.published_at < $end
                                  AND a.duplicate_of IS NOT NULL) AS copies,
               count(*) FILTER (WHERE a.published_at >= $start AND a.published_at < $end
                                  AND a.duplicate_of IS NULL AND nm.article_id IS NULL)
                   AS unclustered,
               count(*) FILTER (WHERE a.published_at >= $start AND a.published_at < $end
                                  AND a.language IS NULL) AS no_language,
               count(*) FILTER (WHERE a.published_at IS NULL) AS undated
        FROM articles a LEFT JOIN narrative_members nm USING (article_id)
        """,
        {"start": start, "end": end},
    ).fetchone()
    return dict(zip(("copies", "unclustered", "no_language", "undated"), row, strict=True))


def brief_runs(con: duckdb.DuckDBPyConnection, run_ids: list[str]) -> list[dict[str, Any]]:
    """The runs a brief read, oldest first (ids with no row in `runs` are left out)."""
    return _dicts(
        con.execute(
            "SELECT run_id, flow, status, started_at, ended_at FROM runs"
            " WHERE list_contains(?, run_id) ORDER BY started_at, run_id",
            [run_ids],
        )
    )


def brief_library(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every library entry's type, status and review dates (no response text)."""
    return _dicts(
        con.execute(
            "SELECT entry_id, type, status, reviewed_at, expires_at, topics FROM rebuttals"
            " ORDER BY entry_id"
        )
    )


def brief_model_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The embedding models the current narratives were built with."""
    rows = con.execute("SELECT DISTINCT model_id FROM narratives ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def console_choices(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The values the console's filter menus offer: languages, countries, outlets."""
    rows = con.execute(
        "SELECT 'languages', list(DISTINCT language ORDER BY language) FILTER"
        " (WHERE language IS NOT NULL) FROM articles"
        " UNION ALL SELECT 'countries', list(DISTINCT country ORDER BY country) FILTER"
        " (WHERE country IS NOT NULL) FROM sources"
        " UNION ALL SELECT 'outlets', list(outlet_id ORDER BY outlet_id) FROM sources"
    ).fetchall()
    return {name: values or [] for name, values in rows}


def enriched_hashes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """article_id -> the content hash its stored enrichment was made from."""
    return dict(con.execute("SELECT article_id, content_hash FROM enrichments").fetchall())


def article_entities(
    con: duckdb.DuckDBPyConnection, article_id: str
) -> list[tuple[str, str, int]]:
    """(label, text, count) printed in one article, most frequent first."""
    return con.execute(
        "SELECT label, text, count FROM entities WHERE article_id = ?"
        " ORDER BY count DESC, label, text",
        [article_id],
    ).fetchall()


# -- for matching (nlp/match.py) -------------------------------------------------------------


def narrative_match_headlines(
    con: duckdb.DuckDBPyConnection, per_narrative: int = 8
) -> dict[str, list[str]]:
    """Each narrative's distinct headlines, closest to its centroid first (copies left out):
    what the matcher reads of a narrative besides its centroid."""
    rows = con.execute(
        """
        SELECT narrative_id,
               list(title ORDER BY similarity DESC NULLS LAST, article_id)[1:$n] AS titles
        FROM (
            SELECT nm.narrative_id, a.title, max(nm.similarity) AS similarity,
                   min(a.article_id) AS article_id
            FROM narrative_members nm JOIN articles a USING (article_id)
            WHERE a.duplicate_of IS NULL AND trim(a.title) <> ''
            GROUP BY nm.narrative_id, a.title
        )
        GROUP BY narrative_id
        ORDER BY narrative_id
        """,
        {"n": per_narrative},
    ).fetchall()
    return {narrative_id: list(titles) for narrative_id, titles in rows}


def narrative_gaps(
    con: duckdb.DuckDBPyConnection,
    start: datetime,
    end: datetime,
    previous_start: datetime,
    today: Any,
    min_articles: int,
) -> list[dict[str, Any]]:
    """Narratives of weight in a period with no usable response: the library's gaps.

    Weight is the narrative's articles in [start, end) (at least `min_articles`); growth is
    that minus its articles in [previous_start, start). A narrative is answered when an
    entry matched over the threshold is approved and not expired on `today`; otherwise it
    is a gap, listed heaviest first, then fastest growing. `matched` lists the entries
    that matched over the threshold but cannot be suggested (draft, in review, retired or
    expired), so the reader sees "response expired" or "draft waiting for review".
    """
    return _dicts(
        con.execute(
            """
        WITH activity AS (
            SELECT nm.narrative_id,
                   count(*) FILTER (WHERE a.published_at >= $start AND a.published_at < $end)
                       AS articles,
                   count(*) FILTER (WHERE a.published_at >= $prev AND a.published_at < $start)
                       AS previous_articles,
                   count(DISTINCT a.outlet_id) FILTER
                       (WHERE a.published_at >= $start AND a.published_at < $end) AS outlets
            FROM narrative_members nm JOIN articles a USING (article_id)
            GROUP BY nm.narrative_id
        ),
        over AS (
            SELECT m.narrative_id,
                   bool_or(r.status = 'approved'
                           AND (r.expires_at IS NULL OR r.expires_at >= $today)) AS answered,
                   list({'entry_id': m.entry_id, 'status': r.status, 'type': r.type,
                         'expired': r.expires_at IS NOT NULL AND r.expires_at < $today,
                         'score': m.score} ORDER BY m.rank) AS matched
            FROM matches m JOIN rebuttals r USING (entry_id)
            WHERE m.above_threshold
            GROUP BY m.narrative_id
        )
        SELECT n.narrative_id, n.label, n.keywords, n.first_seen_at, n.last_seen_at,
               act.articles, act.previous_articles,
               act.articles - act.previous_articles AS growth, act.outlets,
               coalesce(over.matched, []) AS matched
        FROM narratives n
        JOIN activity act USING (narrative_id)
        LEFT JOIN over USING (narrative_id)
        WHERE act.articles >= $min_articles AND NOT coalesce(over.answered, false)
        ORDER BY act.articles DESC, growth DESC, n.narrative_id
        """,
            {
                "start": start,
                "end": end,
                "prev": previous_start,
                "today": today,
                "min_articles": min_articles,
            },
        )
    )


def library_index_runs(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The library indexes runs matched with, and the last run that used each."""
    return _dicts(con.execute("SELECT * FROM library_indexes ORDER BY library_version"))


def narrative_member_rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(narrative_id, article_id, outlet_id, published_at, language, country, scope) of every
    member, for trends and provenance."""
    return con.execute(
        "SELECT m.narrative_id, a.article_id, a.outlet_id, a.published_at, a.language,"
        " s.country, s.scope FROM narrative_members m"
        " JOIN articles a USING (article_id) LEFT JOIN sources s ON s.outlet_id = a.outlet_id"
        " ORDER BY m.narrative_id, a.published_at NULLS LAST, a.article_id"
    ).fetchall()


def narrative_trend_rows(
    con: duckdb.DuckDBPyConnection, narrative_id: str, period: str = "week"
) -> list[tuple]:
    """(period_start, articles, outlets, countries, languages, domestic, foreign, status)."""
    return con.execute(
        "SELECT period_start, articles, outlets, countries, languages, domestic_articles,"
        " foreign_articles, status FROM narrative_trends WHERE narrative_id = ? AND period = ?"
        " ORDER BY period_start",
        [narrative_id, period],
    ).fetchall()


def narrative_topic_tags(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """narrative_id -> its topic ids, best first."""
    rows = con.execute(
        "SELECT narrative_id, list(topic_id ORDER BY score DESC) FROM narrative_topics"
        " GROUP BY narrative_id"
    ).fetchall()
    return dict(rows)
