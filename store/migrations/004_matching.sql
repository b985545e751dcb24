-- Matching: which library index (and calibration) each run matched with.
--
-- `library_version` names the index the matcher built or loaded: a hash of the index
-- format, the tokenizer, the embedding model and every entry's id, version and phrasings
-- (nlp/index.py). The index itself is saved under `path` (outside the database) and is
-- rebuilt only when this version changes. `calibration` says how scores were turned into
-- probabilities, and `threshold` which probability a match had to reach, so a brief can
-- say what "matched" meant for the run behind it.

CREATE TABLE library_indexes (
    library_version  VARCHAR PRIMARY KEY,
    model_id         VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,      -- flat | hnsw
    entries          INTEGER NOT NULL,
    rows             INTEGER NOT NULL,
    path             VARCHAR,
    calibration      VARCHAR NOT NULL,
    threshold        DOUBLE NOT NULL,
    first_run_id     VARCHAR NOT NULL,      -- the run that first matched with it
    run_id           VARCHAR NOT NULL       -- the last run that matched with it
);
