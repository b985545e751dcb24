"""Every write the pipeline makes: batched (Arrow) and idempotent.

Writing the same batch twice changes nothing.
Rows carry the run id of the run that last changed them; an unchanged row keeps the run id
of the run that wrote it, so re-running on the same inputs leaves the database as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from mediawatch.records import Article, FetchRecord, Match, Narrative, Outlet
from store.db import transaction


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, conflict: str) -> None:
    """INSERT the Arrow batch into `table` with the given ON CONFLICT clause, in one statement."""
    if rows.num_rows == 0:
        return
    con.register("_batch", rows)
    try:
        columns = ", ".join(rows.column_names)
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _batch {conflict}")
    finally:
        con.unregister("_batch")


def _updates(columns: Sequence[str], table: str) -> str:
    """ON CONFLICT DO UPDATE for `columns`, only when one of them really changed."""
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns)
    changed = " OR ".join(f"{table}.{c} IS DISTINCT FROM excluded.{c}" for c in columns)
    return f"DO UPDATE SET {sets}, run_id = excluded.run_id WHERE {changed}"


# -- runs ------------------------------------------------------------------------------------


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, flow: str, parameters: dict) -> None:
    con.execute(
        "INSERT INTO runs (run_id, flow, parameters, started_at, status) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (run_id) DO UPDATE SET status = 'running', ended_at = NULL",
        [
            run_id,
            flow,
            json.dumps(parameters, sort_keys=True, default=str),
            datetime.now(UTC),
            "running",
        ],
    )


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    counts: dict[str, Any],
    stage_seconds: dict[str, float],
) -> None:
    con.execute(
        "UPDATE runs SET status = ?, ended_at = ?, counts = ?, stage_seconds = ? WHERE run_id = ?",
        [
            status,
            datetime.now(UTC),
            json.dumps(counts, sort_keys=True),
            json.dumps(stage_seconds, sort_keys=True),
            run_id,
        ],
    )


def abandon_unfinished_runs(con: duckdb.DuckDBPyConnection, keep: str) -> int:
    """Runs still marked running when a new writer starts were killed (the run lock says
    nobody else writes): mark them abandoned. Returns how many."""
    found = con.execute(
        "UPDATE runs SET status = 'abandoned' WHERE status = 'running' AND run_id <> ?", [keep]
    ).fetchone()
    return int(found[0]) if found else 0


# -- acquisition -----------------------------------------------------------------------------


def upsert_sources(con: duckdb.DuckDBPyConnection, outlets: Iterable[Outlet], run_id: str) -> None:
    outlets = list(outlets)
    rows = pa.table(
        {
            "outlet_id": [o.outlet_id for o in outlets],
            "name": [o.name for o in outlets],
            "homepage": [o.homepage for o in outlets],
            "country": [o.country for o in outlets],
            "languages": [list(o.languages) for o in outlets],
            "scope": [o.scope for o in outlets],
            "type": [o.type for o in outlets],
            "tags": [list(o.tags) for o in outlets],
            "feeds": [list(o.feeds) for o in outlets],
            "enabled": [o.enabled for o in outlets],
            "run_id": [run_id] * len(outlets),
        }
    )
    columns = [c for c in rows.column_names if c not in ("outlet_id", "run_id")]
    _insert(con, "sources", rows, f"ON CONFLICT (outlet_id) {_updates(columns, 'sources')}")


def insert_fetch_log(
    con: duckdb.DuckDBPyConnection, records: Iterable[FetchRecord], run_id: str
) -> None:
    records = list(records)
    rows = pa.table(
        {
            "run_id": [run_id] * len(records),
            "outlet_id": [r.outlet_id for r in records],
            "url": [r.url for r in records],
            "kind": [r.kind for r in records],
            "status": pa.array([r.status for r in records], pa.int32()),
            "bytes": pa.array([r.bytes for r in records], pa.int64()),
            "elapsed_ms": pa.array([r.elapsed_ms for r in records], pa.float64()),
            "error_class": pa.array([r.error_class for r in records], pa.string()),
            "error_message": pa.array([r.error_message for r in records], pa.string()),
            "fetched_at": pa.array([r.fetched_at for r in records], pa.timestamp("us", tz="UTC")),
        }
    )
    # One row per (run, kind, url): a retried request keeps its last outcome.
    columns = [
        "outlet_id",
        "status",
        "bytes",
        "elapsed_ms",
        "error_class",
        "error_message",
        "fetched_at",
    ]
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns)
    _insert(con, "fetch_log", rows, f"ON CONFLICT (run_id, kind, url) DO UPDATE SET {sets}")


# Columns a re-fetch may change. Left out on purpose: the fetch URL (the same article reached
# through another link is the same article), and the language and duplicate marks, which
# later stages own (set_languages, set_duplicates).
_ARTICLE_CONTENT = [
    "title",
    "text",
    "published_at",
    "byline",
    "content_hash",
    "canonical_url",
    "outlet_id",
]


def upsert_articles(
    con: duckdb.DuckDBPyConnection, articles: Sequence[Article], run_id: str
) -> dict[str, int]:
    """Store articles; a changed text adds a row to article_versions, nothing is overwritten there.

    Returns counts: new, changed, unchanged.
    """
    if not articles:
        return {"new": 0, "changed": 0, "unchanged": 0}
    # the last record for an id wins if a batch names the same article twice
    by_id = {a.article_id: a for a in articles}
    articles = list(by_id.values())
    ts = pa.timestamp("us", tz="UTC")
    rows = pa.table(
        {
            "article_id": [a.article_id for a in articles],
            "outlet_id": [a.outlet_id for a in articles],
            "url": [a.url for a in articles],
            "canonical_url": [a.canonical_url for a in articles],
            "title": [a.title for a in articles],
            "text": [a.text for a in articles],
            "published_at": pa.array([a.published_at for a in articles], ts),
            "language": pa.array([a.language for a in articles], pa.string()),
            "byline": pa.array([a.byline for a in articles], pa.string()),
            "content_hash": [a.content_hash for a in articles],
            "duplicate_of": pa.array([a.duplicate_of for a in articles], pa.string()),
            "fetched_at": pa.array([a.fetched_at for a in articles], ts),
            "first_run_id": [run_id] * len(articles),
            "run_id": [run_id] * len(articles),
        }
    )
    con.register("_incoming", rows)
    try:
        before = dict(
            con.execute(
                "SELECT a.article_id, a.content_hash FROM articles a"
                " JOIN _incoming i USING (article_id)"
            ).fetchall()
        )
        con.execute(
            "INSERT INTO article_versions"
            " SELECT article_id, content_hash, title, text, published_at, fetched_at, run_id"
            " FROM _incoming ON CONFLICT (article_id, content_hash) DO NOTHING"
        )
    finally:
        con.unregister("_incoming")
    _insert(
        con, "articles", rows, f"ON CONFLICT (article_id) {_updates(_ARTICLE_CONTENT, 'articles')}"
    )
    new = sum(1 for a in articles if a.article_id not in before)
    changed = sum(
        1 for a in articles if a.article_id in before and before[a.article_id] != a.content_hash
    )
    return {"new": new, "changed": changed, "unchanged": len(articles) - new - changed}


def set_duplicates(
    con: duckdb.DuckDBPyConnection, duplicate_of: dict[str, str | None], run_id: str
) -> None:
    """Record which article each syndicated copy copies (None clears it)."""
    if not duplicate_of:
        return
    rows = pa.table(
        {
            "article_id": list(duplicate_of),
            "duplicate_of": pa.array(list(duplicate_of.values()), pa.string()),
        }
    )
    con.register("_dups", rows)
    try:
        con.execute(
            "UPDATE articles SET duplicate_of = d.duplicate_of, run_id = ?"
            " FROM _dups d WHERE articles.article_id = d.article_id"
            " AND articles.duplicate_of IS DISTINCT FROM d.duplicate_of",
            [run_id],
        )
    finally:
        con.unregister("_dups")


def set_languages(con: duckdb.DuckDBPyConnection, languages: dict[str, str], run_id: str) -> None:
    if not languages:
        return
    rows = pa.table({"article_id": list(languages), "language": list(languages.values())})
    con.register("_langs", rows)
    try:
        con.execute(
            "UPDATE articles SET language = l.language, run_id = ?"
            " FROM _langs l WHERE articles.article_id = l.article_id"
            " AND articles.language IS DISTINCT FROM l.language",
            [run_id],
        )
    finally:
        con.unregister("_langs")


# -- meaning ---------------------------------------------------------------------------------


def insert_embeddings(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    content_hashes: Sequence[str],
    vectors: np.ndarray,
    run_id: str,
) -> None:
    if len(content_hashes) == 0:
        return
    dim = vectors.shape[1]
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    rows = pa.table(
        {
            "model_id": [model_id] * len(content_hashes),
            "content_hash": list(content_hashes),
            "vector": pa.ListArray.from_arrays(
                pa.array(np.arange(0, (len(content_hashes) + 1) * dim, dim, dtype=np.int32)), flat
            ),
            "run_id": [run_id] * len(content_hashes),
        }
    )
    _insert(con, "embeddings", rows, "ON CONFLICT (model_id, content_hash) DO NOTHING")


def replace_narratives(
    con: duckdb.DuckDBPyConnection,
    narratives: Sequence[Narrative],
    centroids: dict[str, np.ndarray],
    model_id: str,
    run_id: str,
) -> None:
    """Write the current narratives and memberships; unchanged rows keep their run id."""
    ts = pa.timestamp("us", tz="UTC")
    rows = pa.table(
        {
            "narrative_id": [n.narrative_id for n in narratives],
            "label": [n.label for n in narratives],
            "keywords": [n.keywords for n in narratives],
            "origin_article_id": [n.origin_article_id for n in narratives],
            "representative_article_id": [n.representative_article_id for n in narratives],
            "first_seen_at": pa.array([n.first_seen_at for n in narratives], ts),
            "last_seen_at": pa.array([n.last_seen_at for n in narratives], ts),
            "article_count": pa.array([len(n.article_ids) for n in narratives], pa.int32()),
            "model_id": [model_id] * len(narratives),
            "centroid": [
                np.round(centroids[n.narrative_id], 6).astype(np.float32).tolist()
                for n in narratives
            ],
            "created_run_id": [run_id] * len(narratives),
            "run_id": [run_id] * len(narratives),
        },
        schema=pa.schema(
            [
                ("narrative_id", pa.string()),
                ("label", pa.string()),
                ("keywords", pa.list_(pa.string())),
                ("origin_article_id", pa.string()),
                ("representative_article_id", pa.string()),
                ("first_seen_at", ts),
                ("last_seen_at", ts),
                ("article_count", pa.int32()),
                ("model_id", pa.string()),
                ("centroid", pa.list_(pa.float32())),
                ("created_run_id", pa.string()),
                ("run_id", pa.string()),
            ]
        ),
    )
    keep = [n.narrative_id for n in narratives]
    with transaction(con):
        con.execute("DELETE FROM narratives WHERE NOT list_contains(?, narrative_id)", [keep])
        columns = [
            "label",
            "keywords",
            "origin_article_id",
            "representative_article_id",
            "first_seen_at",
            "last_seen_at",
            "article_count",
            "model_id",
            "centroid",
        ]
        _insert(
            con, "narratives", rows, f"ON CONFLICT (narrative_id) {_updates(columns, 'narratives')}"
        )
        members = pa.table(
            {
                "article_id": [a for n in narratives for a in n.article_ids],
                "narrative_id": [n.narrative_id for n in narratives for _ in n.article_ids],
                "similarity": pa.array(
                    [
                        round(n.similarities.get(a, 1.0), 6)
                        for n in narratives
                        for a in n.article_ids
                    ],
                    pa.float64(),
                ),
                "run_id": [run_id] * sum(len(n.article_ids) for n in narratives),
            }
        )
        con.execute(
            "DELETE FROM narrative_members WHERE NOT list_contains(?, article_id)",
            [members.column("article_id").to_pylist()],
        )
        _insert(
            con,
            "narrative_members",
            members,
            f"ON CONFLICT (article_id) "
            f"{_updates(['narrative_id', 'similarity'], 'narrative_members')}",
        )


def record_lineage(
    con: duckdb.DuckDBPyConnection, events: Sequence[tuple[str, str, str]], run_id: str
) -> None:
    """Merge/split events as (kind, from_narrative_id, to_narrative_id)."""
    for kind, source, target in events:
        con.execute(
            "INSERT INTO narrative_lineage VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [run_id, kind, source, target, datetime.now(UTC)],
        )


def replace_rebuttals(con: duckdb.DuckDBPyConnection, entries: Sequence[Any], run_id: str) -> None:
    """Load the library as the current one (entries: rebuttal_library.schema.RebuttalEntry)."""
    rows = pa.table(
        {
            "entry_id": [e.id for e in entries],
            "version": [e.version for e in entries],
            "type": [e.type for e in entries],
            "status": [e.status for e in entries],
            "title": [e.title for e in entries],
            "claims": [list(e.claims) for e in entries],
            "response": [
                json.dumps(e.response, ensure_ascii=False, sort_keys=True)
                if isinstance(e.response, dict)
                else e.response
                for e in entries
            ],
            "evidence": [
                json.dumps(
                    [ev.model_dump(mode="json") for ev in e.evidence],
                    ensure_ascii=False,
                    sort_keys=True,
                )
                for e in entries
            ],
            "topics": [list(e.topics) for e in entries],
            "languages": [list(e.languages) for e in entries],
            "reviewed_by": pa.array([e.reviewed_by for e in entries], pa.string()),
            "reviewed_at": pa.array([e.reviewed_at for e in entries], pa.date32()),
            "expires_at": pa.array([e.expires_at for e in entries], pa.date32()),
            "path": [e.path for e in entries],
            "run_id": [run_id] * len(entries),
        }
    )
    keep = [e.id for e in entries]
    with transaction(con):
        con.execute("DELETE FROM rebuttals WHERE NOT list_contains(?, entry_id)", [keep])
        columns = [c for c in rows.column_names if c not in ("entry_id", "run_id")]
        _insert(con, "rebuttals", rows, f"ON CONFLICT (entry_id) {_updates(columns, 'rebuttals')}")


def replace_matches(con: duckdb.DuckDBPyConnection, matches: Sequence[Match], run_id: str) -> None:
    rows = pa.table(
        {
            "narrative_id": [m.narrative_id for m in matches],
            "entry_id": [m.entry_id for m in matches],
            "entry_version": [m.entry_version for m in matches],
            "score": pa.array([round(m.score, 6) for m in matches], pa.float64()),
            "rank": pa.array([m.rank for m in matches], pa.int32()),
            "above_threshold": pa.array([m.above_threshold for m in matches], pa.bool_()),
            "run_id": [run_id] * len(matches),
        }
    )
    keys = [f"{m.narrative_id}\x1f{m.entry_id}" for m in matches]
    with transaction(con):
        con.execute(
            "DELETE FROM matches WHERE NOT list_contains(?, narrative_id || chr(31) || entry_id)",
            [keys],
        )
        columns = ["entry_version", "score", "rank", "above_threshold"]
        _insert(
            con,
            "matches",
            rows,
            f"ON CONFLICT (narrative_id, entry_id) {_updates(columns, 'matches')}",
        )


def record_brief(
    con: duckdb.DuckDBPyConnection,
    week: str,
    fmt: str,
    path: str,
    content_sha256: str,
    runs_read: list[str],
    run_id: str,
) -> None:
    con.execute(
        "INSERT INTO briefs VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (week, format) DO UPDATE SET path = excluded.path,"
        " content_sha256 = excluded.content_sha256, runs_read = excluded.runs_read,"
        " created_at = excluded.created_at, run_id = excluded.run_id"
        " WHERE briefs.content_sha256 IS DISTINCT FROM excluded.content_sha256",
        [week, fmt, path, content_sha256, runs_read, datetime.now(UTC), run_id],
    )


# -- acquisition: conditional GET state ------------------------------------------------------


def set_pending_validators(
    con: duckdb.DuckDBPyConnection,
    validators: dict[tuple[str, str], tuple[str | None, str | None]],
    kinds: dict[tuple[str, str], str],
    run_id: str,
) -> None:
    """Remember what feeds and sitemaps answered ({(outlet_id, url): (ETag, Last-Modified)})
    as pending: `commit_validators` puts them in use once their items are safely stored.
    Validators equal to those in use are not written (a steady state writes nothing)."""
    if not validators:
        return
    keys = list(validators)
    rows = pa.table(
        {
            "outlet_id": [k[0] for k in keys],
            "url": [k[1] for k in keys],
            "kind": [kinds.get(k, "feed") for k in keys],
            "pending_etag": pa.array([validators[k][0] for k in keys], pa.string()),
            "pending_last_modified": pa.array([validators[k][1] for k in keys], pa.string()),
            "run_id": [run_id] * len(keys),
        }
    )
    con.register("_validators", rows)
    try:
        con.execute(
            "INSERT INTO feed_state (outlet_id, url, kind, pending_etag, pending_last_modified,"
            " run_id) SELECT v.outlet_id, v.url, v.kind, v.pending_etag,"
            " v.pending_last_modified, v.run_id FROM _validators v"
            " ON CONFLICT (outlet_id, url) DO UPDATE SET"
            " pending_etag = excluded.pending_etag,"
            " pending_last_modified = excluded.pending_last_modified, run_id = excluded.run_id"
            " WHERE feed_state.etag IS DISTINCT FROM excluded.pending_etag"
            " OR feed_state.last_modified IS DISTINCT FROM excluded.pending_last_modified"
        )
    finally:
        con.unregister("_validators")


def commit_validators(
    con: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]], run_id: str
) -> int:
    """Put this run's pending validators of these (outlet_id, url) in use; returns how many."""
    if not keys:
        return 0
    rows = pa.table({"outlet_id": [k[0] for k in keys], "url": [k[1] for k in keys]})
    con.register("_commit", rows)
    try:
        found = con.execute(
            "UPDATE feed_state SET etag = pending_etag,"
            " last_modified = pending_last_modified, pending_etag = NULL,"
            " pending_last_modified = NULL FROM _commit c"
            " WHERE feed_state.outlet_id = c.outlet_id AND feed_state.url = c.url"
            " AND feed_state.run_id = ?"
            " AND (feed_state.pending_etag IS NOT NULL"
            " OR feed_state.pending_last_modified IS NOT NULL)",
            [run_id],
        ).fetchone()
    finally:
        con.unregister("_commit")
    return int(found[0]) if found else 0


# -- enrichment (nlp/enrich.py) --------------------------------------------------------------


def replace_enrichments(
    con: duckdb.DuckDBPyConnection,
    enrichments: Sequence[Any],
    content_hashes: dict[str, str],
    run_id: str,
) -> None:
    """Store what enrichment found for these articles: their entities (replacing earlier
    ones of the same articles) and one `enrichments` row each, keyed by content hash."""
    if not enrichments:
        return
    ids = [e.article_id for e in enrichments]
    with transaction(con):
        con.execute("DELETE FROM entities WHERE list_contains(?, article_id)", [ids])
        entity_rows = [
            (e.article_id, label, text, n)
            for e in enrichments
            for (label, text), n in e.entities.items()
        ]
        _insert(
            con,
            "entities",
            pa.table(
                {
                    "article_id": [r[0] for r in entity_rows],
                    "label": [r[1] for r in entity_rows],
                    "text": [r[2] for r in entity_rows],
                    "count": pa.array([r[3] for r in entity_rows], pa.int32()),
                    "run_id": [run_id] * len(entity_rows),
                }
            ),
            "ON CONFLICT DO NOTHING",
        )
        rows = pa.table(
            {
                "article_id": ids,
                "content_hash": [content_hashes[i] for i in ids],
                "language": [e.language for e in enrichments],
                "words": pa.array([len(e.words) for e in enrichments], pa.int32()),
                "flags": [list(e.flags) for e in enrichments],
                "run_id": [run_id] * len(ids),
            }
        )
        _insert(
            con,
            "enrichments",
            rows,
            "ON CONFLICT (article_id) "
            + _updates(["content_hash", "language", "words", "flags"], "enrichments"),
        )


# -- matching --------------------------------------------------------------------------------


def record_library_index(
    con: duckdb.DuckDBPyConnection, index: dict[str, Any], run_id: str
) -> None:
    """Note which library index (version, model, kind, calibration, threshold) a run matched
    with; keys of `index`: library_version, model_id, kind, entries, rows, path,
    calibration, threshold."""
    con.execute(
        "INSERT INTO library_indexes (library_version, model_id, kind, entries, rows, path,"
        " calibration, threshold, first_run_id, run_id)"
        " VALUES ($library_version, $model_id, $kind, $entries, $rows, $path, $calibration,"
        " $threshold, $run_id, $run_id)"
        " ON CONFLICT (library_version) DO UPDATE SET kind = excluded.kind,"
        " path = excluded.path, calibration = excluded.calibration,"
        " threshold = excluded.threshold, run_id = excluded.run_id",
        {**{k: index.get(k) for k in ("library_version", "model_id", "kind", "entries", "rows",
                                      "path", "calibration", "threshold")}, "run_id": run_id},
    )


# -- trends and provenance (nlp/trends.py) ---------------------------------------------------


def replace_narrative_trends(
    con: duckdb.DuckDBPyConnection, rows: Sequence[Any], pickups: Sequence[Any], run_id: str
) -> None:
    """The trends and pickup order of every narrative, rebuilt from this run's memberships."""
    trend_columns = ["narrative_id", "period", "period_start", "articles", "outlets"]
    trend_columns += ["countries", "languages", "domestic", "foreign", "status"]
    named = {"domestic": "domestic_articles", "foreign": "foreign_articles"}
    trends = pa.table(
        {
            **{named.get(c, c): [getattr(r, c) for r in rows] for c in trend_columns},
            "run_id": [run_id] * len(rows),
        },
        schema=pa.schema(
            [
                ("narrative_id", pa.string()),
                ("period", pa.string()),
                ("period_start", pa.date32()),
                ("articles", pa.int32()),
                ("outlets", pa.int32()),
                ("countries", pa.list_(pa.string())),
                ("languages", pa.list_(pa.string())),
                ("domestic_articles", pa.int32()),
                ("foreign_articles", pa.int32()),
                ("status", pa.string()),
                ("run_id", pa.string()),
            ]
        ),
    )
    pickup = pa.table(
        {
            "narrative_id": pa.array([p.narrative_id for p in pickups], pa.string()),
            "rank": pa.array([p.rank for p in pickups], pa.int32()),
            "outlet_id": pa.array([p.outlet_id for p in pickups], pa.string()),
            "article_id": pa.array([p.article_id for p in pickups], pa.string()),
            "first_published_at": pa.array(
                [p.first_published_at for p in pickups], pa.timestamp("us", tz="UTC")
            ),
            "run_id": pa.array([run_id] * len(pickups), pa.string()),
        }
    )
    with transaction(con):
        con.execute("DELETE FROM narrative_trends")
        con.execute("DELETE FROM narrative_pickup")
        _insert(con, "narrative_trends", trends, "")
        _insert(con, "narrative_pickup", pickup, "")


def replace_narrative_topics(
    con: duckdb.DuckDBPyConnection, tags: Sequence[tuple[str, str, float]], run_id: str
) -> None:
    """Topic tags of every narrative (narrative_id, topic_id, score), rebuilt each run."""
    rows = pa.table(
        {
            "narrative_id": pa.array([t[0] for t in tags], pa.string()),
            "topic_id": pa.array([t[1] for t in tags], pa.string()),
            "score": pa.array([t[2] for t in tags], pa.float64()),
            "run_id": pa.array([run_id] * len(tags), pa.string()),
        }
    )
    with transaction(con):
        con.execute("DELETE FROM narrative_topics")
        _insert(con, "narrative_topics", rows, "")
