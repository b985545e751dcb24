-- Meaning: what the enrichment stage made of each article (nlp/enrich.py).
--
-- One row per article, for the content hash it was enriched from: a re-run enriches only
-- articles whose text changed. `flags` say what was odd about the input (empty,
-- very_long, unsupported_language, unknown_language, mixed_language), so nothing is dropped
-- silently. The entities themselves go to `entities` (per article; no cross-article profile).

CREATE TABLE enrichments (
    article_id    VARCHAR PRIMARY KEY,
    content_hash  VARCHAR NOT NULL,
    language      VARCHAR,
    words         INTEGER NOT NULL,
    flags         VARCHAR[] NOT NULL,
    run_id        VARCHAR NOT NULL
);

-- Trends per narrative per office day and ISO week (nlp/trends.py), rebuilt each run from the
-- memberships: volume, reach, languages, domestic vs foreign, and a status against the
-- period before (new | rising | steady | fading). Empty periods inside a narrative's span
-- are rows with articles = 0.
CREATE TABLE narrative_trends (
    narrative_id  VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,          -- day | week
    period_start  DATE NOT NULL,             -- the day, or the Monday of the week
    articles      INTEGER NOT NULL,
    outlets       INTEGER NOT NULL,
    countries     VARCHAR[] NOT NULL,
    languages     VARCHAR[] NOT NULL,
    domestic_articles  INTEGER NOT NULL,   -- from outlets whose scope is domestic
    foreign_articles   INTEGER NOT NULL,   -- from outlets whose scope is foreign
    status        VARCHAR NOT NULL,
    run_id        VARCHAR NOT NULL,
    PRIMARY KEY (narrative_id, period, period_start)
);

-- Provenance: the order in which outlets picked a narrative up (rank 1 = its origin).
CREATE TABLE narrative_pickup (
    narrative_id        VARCHAR NOT NULL,
    rank                INTEGER NOT NULL,
    outlet_id           VARCHAR NOT NULL,
    article_id          VARCHAR NOT NULL,   -- the outlet's first article in the narrative
    first_published_at  TIMESTAMPTZ,
    run_id              VARCHAR NOT NULL,
    PRIMARY KEY (narrative_id, outlet_id)
);

-- Topic tags per narrative from the editable taxonomy (data/topics.yaml, nlp/topics.py).
CREATE TABLE narrative_topics (
    narrative_id  VARCHAR NOT NULL,
    topic_id      VARCHAR NOT NULL,
    score         DOUBLE NOT NULL,        -- centred cosine; higher is closer
    run_id        VARCHAR NOT NULL,
    PRIMARY KEY (narrative_id, topic_id)
);
