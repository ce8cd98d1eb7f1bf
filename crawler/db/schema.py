"""The schema, as numbered migrations: the one place where dxwatch's tables are defined.

`PRAGMA user_version` records how far a database has been migrated. `open_db` applies the missing
steps in order, in one write transaction, so a database made by any earlier dxwatch (version 0:
before migrations were numbered) opens as the current schema, and a database already current is
only read. The database is documented for users in the README ("The database"); a test checks
that every table and column is named there.

To change the schema, append a migration (a function taking the connection) to `MIGRATIONS`;
never edit an earlier one: databases in the field have already run it. `V1_SCHEMA` is frozen: it
is the schema as dxwatch created it before migrations existed, and the test of migrations builds
such a database from it.
"""

from __future__ import annotations

import sqlite3
from typing import Callable, Iterator

from crawler import timeutil
from crawler.db import dialect

V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,            -- canonical URL, after redirects
    source TEXT NOT NULL,                -- the source's name in sources.yaml
    level TEXT,                          -- national | provincial (copied from the source)
    province TEXT,
    title TEXT,
    published TEXT,                      -- ISO 8601 +07:00, or NULL when the page gives none
    author TEXT,
    credit TEXT,                         -- "Nguồn: ..." source credit, kept apart from the author
    text TEXT,                           -- the article body, paragraphs separated by blank lines
    relevant INTEGER NOT NULL DEFAULT 0, -- 1 when it matches the digital-transformation topic
    relevance_score REAL,
    keywords TEXT,                       -- JSON list of the topic keywords matched
    story_id INTEGER,                    -- stories.id: republications share one story
    content_hash TEXT,                   -- hash of the normalised body: exact duplicates
    first_seen TEXT NOT NULL,            -- when dxwatch stored it
    crawl_run_id INTEGER
);
CREATE INDEX IF NOT EXISTS articles_source ON articles(source);
CREATE INDEX IF NOT EXISTS articles_first_seen ON articles(first_seen);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash);

CREATE TABLE IF NOT EXISTS article_urls (  -- every URL known to lead to a stored article
    url TEXT PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id)
);

CREATE TABLE IF NOT EXISTS figures (
    id INTEGER PRIMARY KEY,
    article_id INTEGER REFERENCES articles(id),  -- NULL when found in an attached document
    document_id INTEGER,                 -- documents.id when found in an attached document
    key TEXT NOT NULL,                   -- identity across articles: same figure, same key
    kind TEXT, value REAL, value2 REAL, unit TEXT,
    subject TEXT, period TEXT, qualifier TEXT, direction TEXT,
    ambiguous INTEGER NOT NULL DEFAULT 0,
    raw TEXT, context TEXT,
    first_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS figures_key ON figures(key);
CREATE INDEX IF NOT EXISTS figures_article ON figures(article_id);
CREATE INDEX IF NOT EXISTS figures_document ON figures(document_id);

CREATE TABLE IF NOT EXISTS directives (     -- one row per mention of a document in an article or attachment
    id INTEGER PRIMARY KEY,
    article_id INTEGER REFERENCES articles(id),  -- NULL when found in an attached document
    document_id INTEGER,                 -- documents.id when found in an attached document
    key TEXT NOT NULL,                   -- canonical number ("2971/QĐ-UBND") or name ("Đề án 06")
    number TEXT, type TEXT, issuer TEXT, year INTEGER, date TEXT, title TEXT, kind TEXT,
    raw TEXT, context TEXT,
    first_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS directives_key ON directives(key);
CREATE INDEX IF NOT EXISTS directives_article ON directives(article_id);
CREATE INDEX IF NOT EXISTS directives_document ON directives(document_id);

CREATE TABLE IF NOT EXISTS instructions (   -- a leader or body directing someone
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id),
    key TEXT NOT NULL,
    director TEXT, verb TEXT, directed TEXT, action TEXT, deadline TEXT,
    context TEXT,
    first_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS instructions_key ON instructions(key);
CREATE INDEX IF NOT EXISTS instructions_article ON instructions(article_id);

CREATE TABLE IF NOT EXISTS stories (
    id INTEGER PRIMARY KEY,
    title TEXT,
    first_seen TEXT NOT NULL,
    first_source TEXT,
    first_article_id INTEGER,
    article_count INTEGER NOT NULL DEFAULT 0,
    last_seen TEXT
);
CREATE INDEX IF NOT EXISTS stories_last_seen ON stories(last_seen);

CREATE TABLE IF NOT EXISTS story_signatures (  -- pipelines/stories.py: one MinHash per stored article
    article_id INTEGER PRIMARY KEY REFERENCES articles(id),
    story_id INTEGER NOT NULL,
    shingles INTEGER NOT NULL,           -- distinct syllable shingles of the body
    content_hash TEXT NOT NULL,          -- exact copies
    minhash BLOB NOT NULL                -- 128 x uint32, little-endian
);
CREATE INDEX IF NOT EXISTS story_signatures_hash ON story_signatures(content_hash);

CREATE TABLE IF NOT EXISTS story_bands (       -- LSH band keys: near-copy candidates by index lookup
    band_key INTEGER NOT NULL,
    story_id INTEGER NOT NULL,
    article_id INTEGER NOT NULL,         -- the first member of the story with this band key
    PRIMARY KEY (band_key, story_id)
) WITHOUT ROWID;

-- crawler/search.py: titles and bodies as matching keys, and again without diacritics (no stored text)
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    title, body, title_folded, body_folded, content='', tokenize='unicode61 remove_diacritics 0'
);

CREATE TABLE IF NOT EXISTS crawl_runs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL DEFAULT 'running',   -- running | ok | failed | interrupted
    pages INTEGER NOT NULL DEFAULT 0,         -- responses received
    listing_pages INTEGER NOT NULL DEFAULT 0,
    articles_new INTEGER NOT NULL DEFAULT 0,
    articles_known INTEGER NOT NULL DEFAULT 0,
    articles_rejected INTEGER NOT NULL DEFAULT 0,
    errors TEXT,                              -- JSON {kind: count}
    last_error TEXT,
    pid INTEGER,                              -- the crawling process, to tell a killed run from a live one
    host TEXT
);
CREATE INDEX IF NOT EXISTS crawl_runs_source ON crawl_runs(source, started);

CREATE TABLE IF NOT EXISTS http_state (     -- conditional requests for listing pages and feeds
    url TEXT PRIMARY KEY,
    source TEXT,
    etag TEXT,
    last_modified TEXT,
    content_hash TEXT,
    checked_at TEXT,                          -- last full (200) fetch
    lastmod TEXT,                             -- sitemap <lastmod> last seen for this URL
    validators_unreliable INTEGER NOT NULL DEFAULT 0  -- 1: server kept its ETag after a change
);

-- digests and alerts (digests/): one run per (digest, run_key), one outbox row per (run, recipient)
CREATE TABLE IF NOT EXISTS digest_runs (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL,                 -- digest name, or "alert:<rule>" for an alert batch
    kind TEXT NOT NULL DEFAULT 'digest',  -- digest | alert
    run_key TEXT NOT NULL,                -- the scheduled fire time, or "manual:<time>"
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL DEFAULT 'running',  -- running | done | incomplete
    UNIQUE (digest, run_key)
);

CREATE TABLE IF NOT EXISTS deliveries (     -- the outbox: written before anything is sent
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES digest_runs(id),
    digest TEXT NOT NULL,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL,                 -- pending | sending | sent | failed (permanent) | empty (nothing new)
    message_id TEXT,                      -- stable across retries
    subject TEXT,
    message BLOB,                         -- the exact bytes sent, so a retry resends the same mail
    counts TEXT,                          -- JSON {stories, figures, documents, instructions}
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created TEXT NOT NULL,
    attempted_at TEXT,                    -- when a sender last claimed it (status 'sending')
    sent_at TEXT,
    archive TEXT,                         -- the archived HTML under data/digests/
    UNIQUE (run_id, recipient)
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries(digest, status);

CREATE TABLE IF NOT EXISTS delivered_items (  -- what each outbox row carries: the per-recipient watermark
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
    digest TEXT NOT NULL,
    recipient TEXT NOT NULL,
    item_type TEXT NOT NULL,              -- story | figure | document | instruction
    item_key TEXT NOT NULL,               -- stories.id, or the fact's key
    PRIMARY KEY (delivery_id, item_type, item_key)
);
CREATE INDEX IF NOT EXISTS delivered_items_lookup ON delivered_items(digest, recipient, item_type, item_key);

-- pipelines/documents.py: attachments
CREATE TABLE IF NOT EXISTS documents (      -- attachments (PDF, DOCX, ODT, XLSX) linked from articles
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,            -- the first URL it was fetched from (document_urls has all)
    source TEXT,                         -- the source whose article or listing linked it
    format TEXT,                         -- pdf | docx | odt | xlsx | doc | xls | unknown
    content_type TEXT,
    filename TEXT,                       -- from Content-Disposition or the URL
    label TEXT,                          -- the link text that led to it
    bytes INTEGER,
    content_hash TEXT,                   -- sha256 of the bytes: a changed file is read again
    status TEXT NOT NULL,                -- ok | scanned_no_text | empty | encrypted | corrupt | too_large | unsupported
    error TEXT,                          -- why there is no text, when there is none
    pages INTEGER,
    number TEXT,                         -- "2971/QĐ-UBND" as its header gives it
    key TEXT,                            -- the same number as directives.key spells it
    type TEXT,                           -- Quyết định, Kế hoạch, Công văn...
    issuer TEXT,                         -- issuing body as printed ("ỦY BAN NHÂN DÂN TỈNH THANH HÓA")
    issuer_code TEXT,                    -- from the number ("UBND")
    place TEXT,
    date TEXT,                           -- signing date, ISO
    subject TEXT,                        -- trích yếu
    text TEXT,
    etag TEXT, last_modified TEXT,       -- validators for a conditional re-fetch
    first_seen TEXT NOT NULL,
    checked_at TEXT,                     -- last fetched or confirmed unchanged
    changed_at TEXT,                     -- last time its bytes differed from the stored ones
    crawl_run_id INTEGER
);
CREATE INDEX IF NOT EXISTS documents_key ON documents(key);
CREATE INDEX IF NOT EXISTS documents_hash ON documents(content_hash);
CREATE INDEX IF NOT EXISTS documents_date ON documents(date);

CREATE TABLE IF NOT EXISTS document_urls (  -- every URL known to lead to a stored document
    url TEXT PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id)
);

CREATE TABLE IF NOT EXISTS document_links ( -- articles that link the file (citations by number: directives.key)
    document_url TEXT NOT NULL,          -- joins document_urls.url: recorded before the file is fetched
    article_url TEXT NOT NULL,           -- joins article_urls.url: the article may be stored later
    first_seen TEXT NOT NULL,
    PRIMARY KEY (document_url, article_url)
);

-- scheduler/runs.py
CREATE TABLE IF NOT EXISTS job_runs (       -- one row per run (or skipped run) of a scheduled job
    id INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL,                   -- "crawl:<source>", "digest:<name>" or "alerts"
    kind TEXT NOT NULL,                     -- crawl | digest | alerts
    target TEXT NOT NULL,                   -- the source, digest or "alerts"
    scheduled TEXT,                         -- the fire time this run belongs to (+07:00); digest run key
    started TEXT NOT NULL,
    finished TEXT,
    outcome TEXT NOT NULL,                  -- running | ok | failed | timeout | skipped | missed | interrupted
    detail TEXT                             -- why: error text, exit code, "previous run still going"...
);
CREATE INDEX IF NOT EXISTS job_runs_job ON job_runs(job_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS job_runs_digest_once ON job_runs(job_id, scheduled)
    WHERE kind = 'digest' AND outcome IN ('running', 'ok');

-- scheduler/jobstore.py
CREATE TABLE IF NOT EXISTS scheduler_jobs (     -- APScheduler's jobs (pickled state), reconciled with config
    id TEXT PRIMARY KEY,
    next_run_time REAL,                    -- UTC timestamp; NULL when paused
    job_state BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS scheduler_jobs_next ON scheduler_jobs(next_run_time);
"""

# Columns added to V1 tables before migrations existed; version 1 adds them to even older databases.
V1_ADDED_COLUMNS = {
    "crawl_runs": {"pid": "INTEGER", "host": "TEXT"},
    "figures": {"document_id": "INTEGER"},
    "directives": {"document_id": "INTEGER"},
}


def statements(script: str) -> Iterator[str]:
    """The statements of a DDL script, one at a time (executescript would commit the transaction)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip() and not pending.strip().startswith("--"):
        raise ValueError(f"incomplete SQL statement: {pending.strip()[:80]}")


def add_missing_columns(conn: sqlite3.Connection, added: dict[str, dict[str, str]]) -> None:
    for table, columns in added.items():
        present = set(dialect.table_columns(conn, table))
        for name, kind in columns.items():
            if name not in present:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {dialect.column_type(conn, kind)}")


def _v1_baseline(conn: sqlite3.Connection) -> None:
    """Version 1: the schema as it stood before numbered migrations (every CREATE is IF NOT EXISTS,
    so a database made by that code is left as it is and only gains what it lacks)."""
    for statement in statements(V1_SCHEMA):
        dialect.run_ddl(conn, statement)
    add_missing_columns(conn, V1_ADDED_COLUMNS)


def _v2_figure_labels(conn: sqlite3.Connection) -> None:
    """Version 2: a figure's `label` (the clause of its sentence that states it, number and unit as
    written, with its period: what digests show) and `role` (target, threshold or NULL)."""
    add_missing_columns(conn, {"figures": {"label": "TEXT", "role": "TEXT"}})


SOURCE_TEMPLATES = """
CREATE TABLE IF NOT EXISTS source_templates (  -- crawler/db/source_templates.py: a source's learned article URL template
    source TEXT PRIMARY KEY,
    template TEXT NOT NULL,          -- e.g. /tin-tuc/{W-N3}.html (W: a headline slug, N3: a long id)
    verified INTEGER NOT NULL,       -- how many links of it extracted as articles when it was learned
    sample TEXT,                     -- JSON list of a few of those article URLs
    learned_at TEXT NOT NULL
);
"""


def _v3_source_templates(conn: sqlite3.Connection) -> None:
    """Version 3: discovery by structure keeps each source's verified article template."""
    for statement in statements(SOURCE_TEMPLATES):
        dialect.run_ddl(conn, statement)



CRAWL_FRONTIER = """
CREATE TABLE IF NOT EXISTS crawl_frontier (  -- crawler/frontier.py: what a source owes, found but not yet stored
    url TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'article',     -- article | listing (a pagination page still to read)
    found_on TEXT,                            -- the listing page, feed or sitemap that listed it
    page_no INTEGER,                          -- listing: its place in the pagination chain
    published TEXT,                           -- the feed or sitemap entry's date and title, when any
    title TEXT,
    first_seen TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,      -- failed downloads
    first_failed TEXT,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS crawl_frontier_source ON crawl_frontier(source, kind);
"""


def _v4_crawl_frontier(conn: sqlite3.Connection) -> None:
    """Version 4: the crawl frontier (issue 14); failed-download markers in http_state move into it."""
    for statement in statements(CRAWL_FRONTIER):
        dialect.run_ddl(conn, statement)
    now = timeutil.iso()
    conn.execute("INSERT INTO crawl_frontier (url, source, kind, page_no, first_seen, attempts, first_failed) "
                 "SELECT url, COALESCE(source, ''), CASE content_hash WHEN 'failed' THEN 'article' ELSE 'listing' END, "
                 "CASE content_hash WHEN 'failed' THEN NULL ELSE 2 END, ?, 1, checked_at FROM http_state "
                 "WHERE content_hash IN ('failed', 'failed-listing') ON CONFLICT DO NOTHING", [now])
    conn.execute("DELETE FROM http_state WHERE content_hash IN ('failed', 'failed-listing')")


def _v5_ambiguous_sends(conn: sqlite3.Connection) -> None:
    """Version 5: `deliveries.ambiguous`, how many sends ended without an answer after DATA (issue 14)."""
    add_missing_columns(conn, {"deliveries": {"ambiguous": "INTEGER NOT NULL DEFAULT 0"}})


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1_baseline, _v2_figure_labels, _v3_source_templates,
                                                          _v4_crawl_frontier, _v5_ambiguous_sends]
LATEST = len(MIGRATIONS)


def version(conn: sqlite3.Connection) -> int:
    return dialect.schema_version(conn)


def migrate(conn: sqlite3.Connection, target: int = LATEST) -> int:
    """Apply the migrations after the database's version up to `target` (inside the caller's
    write transaction, which re-reads the version after taking the lock); returns the new version."""
    dialect.prepare_migration(conn)
    current = version(conn)
    if current > LATEST:
        raise RuntimeError(f"the database was made by a newer dxwatch (schema version {current}, "
                           f"this one knows up to {LATEST}); upgrade dxwatch")
    for number in range(current + 1, target + 1):
        MIGRATIONS[number - 1](conn)
        dialect.set_schema_version(conn, number)
    return max(current, target)
