-- Schema v1: every table a run writes carries run_id.

CREATE TABLE runs (
    run_id        VARCHAR PRIMARY KEY,
    flow          VARCHAR NOT NULL,
    parameters    JSON,
    started_at    TIMESTAMPTZ NOT NULL,
    ended_at      TIMESTAMPTZ,
    status        VARCHAR NOT NULL,          -- running | completed | failed
    counts        JSON,
    stage_seconds JSON
);

CREATE TABLE sources (
    outlet_id   VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL,
    homepage    VARCHAR,
    country     VARCHAR,
    languages   VARCHAR[],
    scope       VARCHAR,                     -- domestic | foreign
    type        VARCHAR,
    tags        VARCHAR[],
    feeds       VARCHAR[],
    enabled     BOOLEAN,
    run_id      VARCHAR NOT NULL
);

CREATE TABLE fetch_log (
    run_id        VARCHAR NOT NULL,
    outlet_id     VARCHAR NOT NULL,
    url           VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,          -- feed | page | robots | sitemap
    status        INTEGER,
    bytes         BIGINT,
    elapsed_ms    DOUBLE,
    error_class   VARCHAR,
    error_message VARCHAR,
    fetched_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, kind, url)
);

CREATE TABLE articles (
    article_id     VARCHAR PRIMARY KEY,      -- from the canonical URL
    outlet_id      VARCHAR NOT NULL,
    url            VARCHAR NOT NULL,
    canonical_url  VARCHAR NOT NULL,
    title          VARCHAR NOT NULL,
    text           VARCHAR NOT NULL,
    published_at   TIMESTAMPTZ,
    language       VARCHAR,
    byline         VARCHAR,
    content_hash   VARCHAR NOT NULL,
    duplicate_of   VARCHAR,                  -- syndicated copy of this article
    fetched_at     TIMESTAMPTZ NOT NULL,
    first_run_id   VARCHAR NOT NULL,
    run_id         VARCHAR NOT NULL
);

CREATE TABLE article_versions (
    article_id    VARCHAR NOT NULL,
    content_hash  VARCHAR NOT NULL,
    title         VARCHAR NOT NULL,
    text          VARCHAR NOT NULL,
    published_at  TIMESTAMPTZ,
    seen_at       TIMESTAMPTZ NOT NULL,
    run_id        VARCHAR NOT NULL,
    PRIMARY KEY (article_id, content_hash)
);

CREATE TABLE entities (
    article_id  VARCHAR NOT NULL,
    label       VARCHAR NOT NULL,
    text        VARCHAR NOT NULL,
    count       INTEGER NOT NULL,
    run_id      VARCHAR NOT NULL,
    PRIMARY KEY (article_id, label, text)
);

CREATE TABLE embeddings (
    model_id      VARCHAR NOT NULL,
    content_hash  VARCHAR NOT NULL,
    vector        FLOAT[] NOT NULL,
    run_id        VARCHAR NOT NULL,
    PRIMARY KEY (model_id, content_hash)
);

CREATE TABLE narratives (
    narrative_id               VARCHAR PRIMARY KEY,
    label                      VARCHAR NOT NULL,
    keywords                   VARCHAR[],
    origin_article_id          VARCHAR NOT NULL,
    representative_article_id  VARCHAR NOT NULL,
    first_seen_at              TIMESTAMPTZ,
    last_seen_at               TIMESTAMPTZ,
    article_count              INTEGER NOT NULL,
    model_id                   VARCHAR NOT NULL,
    centroid                   FLOAT[],
    created_run_id             VARCHAR NOT NULL,
    run_id                     VARCHAR NOT NULL
);

CREATE TABLE narrative_members (
    article_id    VARCHAR PRIMARY KEY,      -- an article belongs to one narrative
    narrative_id  VARCHAR NOT NULL,
    similarity    DOUBLE,
    run_id        VARCHAR NOT NULL
);

CREATE TABLE narrative_lineage (
    run_id             VARCHAR NOT NULL,
    kind               VARCHAR NOT NULL,    -- merge | split
    from_narrative_id  VARCHAR NOT NULL,
    to_narrative_id    VARCHAR NOT NULL,
    recorded_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, from_narrative_id, to_narrative_id)
);

CREATE TABLE rebuttals (
    entry_id     VARCHAR PRIMARY KEY,
    version      VARCHAR NOT NULL,          -- derived from the entry's content
    type         VARCHAR NOT NULL,          -- refute | clarify | promote
    status       VARCHAR NOT NULL,          -- draft | in_review | approved | retired
    title        VARCHAR NOT NULL,
    claims       VARCHAR[] NOT NULL,
    response     VARCHAR NOT NULL,
    evidence     JSON,
    topics       VARCHAR[],
    languages    VARCHAR[],
    reviewed_by  VARCHAR,
    reviewed_at  DATE,
    expires_at   DATE,
    path         VARCHAR,
    run_id       VARCHAR NOT NULL
);

CREATE TABLE matches (
    narrative_id     VARCHAR NOT NULL,
    entry_id         VARCHAR NOT NULL,
    entry_version    VARCHAR NOT NULL,
    score            DOUBLE NOT NULL,
    rank             INTEGER NOT NULL,
    above_threshold  BOOLEAN NOT NULL,
    run_id           VARCHAR NOT NULL,
    PRIMARY KEY (narrative_id, entry_id)
);

CREATE TABLE briefs (
    week            VARCHAR NOT NULL,       -- ISO week, e.g. 2026-W47
    format          VARCHAR NOT NULL,       -- html | md | pdf
    path            VARCHAR NOT NULL,
    content_sha256  VARCHAR NOT NULL,
    runs_read       VARCHAR[] NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    run_id          VARCHAR NOT NULL,
    PRIMARY KEY (week, format)
);
