-- Acquisition: conditional GET state per feed and sitemap.
--
-- `etag` / `last_modified` are the validators sent with the next request
-- (If-None-Match / If-Modified-Since). A run first writes what the server answered into
-- `pending_*`; they replace the validators in use only once every item the document listed
-- was fetched or failed for good (404, robots.txt, not HTML, ...). A run that crashed, or a
-- page that timed out, leaves the old validators, so the next run reads the document again
-- instead of hearing "304 Not Modified" about items it never got.

CREATE TABLE feed_state (
    outlet_id              VARCHAR NOT NULL,
    url                    VARCHAR NOT NULL,
    kind                   VARCHAR NOT NULL,   -- feed | sitemap
    etag                   VARCHAR,
    last_modified          VARCHAR,
    pending_etag           VARCHAR,
    pending_last_modified  VARCHAR,
    run_id                 VARCHAR NOT NULL,   -- the run that last changed the row
    PRIMARY KEY (outlet_id, url)
);
