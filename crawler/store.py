"""The SQLite store (sqlite-utils): schema, idempotent writes and the queries stages share.

One file holds everything; WAL mode lets the CLI read while a crawl or the scheduler writes.
The schema is documented in docs/database.md so users can query it directly.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import sqlite_utils

from crawler import search, timeutil

BUSY_TIMEOUT_MS = 30_000

SCHEMA = """
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
"""


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating) the database in WAL mode with a busy timeout, schema ensured."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    db = sqlite_utils.Database(conn)
    ensure_schema(db)
    return db


def ensure_schema(db: sqlite_utils.Database) -> None:
    from pipelines import documents  # late import: attachments keep their tables next to their code

    with db.conn:
        db.conn.executescript(SCHEMA)
        db.conn.executescript(documents.SCHEMA)
        for table, columns in ADDED_COLUMNS.items():  # databases made by an earlier dxwatch
            present = {row[1] for row in db.conn.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name not in present:
                    db.conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


# Columns added after a table was first released: ensure_schema adds them to older databases.
ADDED_COLUMNS = {
    "crawl_runs": {"pid": "INTEGER", "host": "TEXT"},
    "figures": {"document_id": "INTEGER"},
    "directives": {"document_id": "INTEGER"},
}


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One all-or-nothing write that takes the write lock first (BEGIN IMMEDIATE).

    Not `with db.conn`: sqlite-utils commits its own inserts when no transaction is open, which
    would leave an article without its URLs or facts after a crash. Taking the lock before the
    first read means two processes checking-then-writing the same URL queue on the busy timeout
    instead of both writing or deadlocking.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    db.commit()


# ---------------------------------------------------------------- URLs already stored


def known_urls(db: sqlite_utils.Database, urls: Iterable[str]) -> set[str]:
    """Which of these URLs already lead to a stored article (checked before any request)."""
    urls = list(dict.fromkeys(urls))
    found: set[str] = set()
    for i in range(0, len(urls), 500):
        chunk = urls[i : i + 500]
        marks = ",".join("?" * len(chunk))
        found.update(r[0] for r in db.execute(f"SELECT url FROM article_urls WHERE url IN ({marks})", chunk))
    return found


def is_known_url(db: sqlite_utils.Database, url: str) -> bool:
    return bool(known_urls(db, [url]))


# ---------------------------------------------------------------- saving an article


def _row_id(db: sqlite_utils.Database, table: str, row: dict) -> int:
    return db[table].insert(row).last_pk


def save_article(db: sqlite_utils.Database, item: dict[str, Any]) -> tuple[int, bool]:
    """Store one extracted article with its facts and story, in one transaction.

    Returns `(article_id, is_new)`. An article whose canonical URL or any alias is already
    stored is not stored again; its new aliases are recorded so they are never fetched.
    """
    urls = [u for u in [item["url"], *item.get("aliases", [])] if u]
    from pipelines import stories  # late import: stories depends on the store

    with write_transaction(db):
        known = db.execute(
            f"SELECT article_id FROM article_urls WHERE url IN ({','.join('?' * len(urls))}) LIMIT 1", urls
        ).fetchone()
        existing = known[0] if known else stories.stored_copy(db, item)  # same body under another URL
        if existing:
            _add_aliases(db, existing, urls)
            return existing, False
        seen = timeutil.iso()
        article_id = _row_id(
            db,
            "articles",
            {
                "url": item["url"],
                "source": item["source"],
                "level": item.get("level"),
                "province": item.get("province"),
                "title": item.get("title"),
                "published": item.get("published"),
                "author": item.get("author"),
                "credit": item.get("credit"),
                "text": item.get("text"),
                "relevant": int(bool(item.get("relevant"))),
                "relevance_score": item.get("relevance_score"),
                "keywords": json.dumps(item.get("keywords") or [], ensure_ascii=False),
                "content_hash": item.get("content_hash"),
                "first_seen": seen,
                "crawl_run_id": item.get("crawl_run_id"),
            },
        )
        _add_aliases(db, article_id, urls)
        _save_facts(db, article_id, item, seen)
        story_id = stories.assign_story(db, article_id, item, seen)
        db.execute("UPDATE articles SET story_id = ? WHERE id = ?", [story_id, article_id])
        search.index_article(db, article_id, item.get("title"), item.get("text"))
    return article_id, True


def _add_aliases(db: sqlite_utils.Database, article_id: int, urls: list[str]) -> None:
    db.conn.executemany(
        "INSERT OR IGNORE INTO article_urls (url, article_id) VALUES (?, ?)", [(u, article_id) for u in urls]
    )


_FIGURE_COLUMNS = ("key", "kind", "value", "value2", "unit", "subject", "period", "qualifier", "direction",
                   "ambiguous", "raw", "context")
_DIRECTIVE_COLUMNS = ("key", "number", "type", "issuer", "year", "date", "title", "kind", "raw", "context")
_INSTRUCTION_COLUMNS = ("key", "director", "verb", "directed", "action", "deadline", "context")


def _save_facts(db: sqlite_utils.Database, article_id: int, item: dict, seen: str) -> None:
    for table, columns, rows in (
        ("figures", _FIGURE_COLUMNS, item.get("figures") or []),
        ("directives", _DIRECTIVE_COLUMNS, item.get("directives") or []),
        ("instructions", _INSTRUCTION_COLUMNS, item.get("instructions") or []),
    ):
        if rows:
            db[table].insert_all(
                [{**{c: r.get(c) for c in columns}, "article_id": article_id, "first_seen": seen}
                 | ({"ambiguous": int(bool(r.get("ambiguous")))} if table == "figures" else {}) for r in rows]
            )


# ---------------------------------------------------------------- reading back


def article_facts(db: sqlite_utils.Database, article_id: int) -> dict[str, list[dict]]:
    out = {}
    for table, columns in (("figures", _FIGURE_COLUMNS), ("directives", _DIRECTIVE_COLUMNS),
                           ("instructions", _INSTRUCTION_COLUMNS)):
        out[table] = [
            {c: r[c] for c in columns}
            for r in db.query(f"SELECT * FROM {table} WHERE article_id = ? ORDER BY id", [article_id])
        ]
    return out


def iter_export(db: sqlite_utils.Database) -> Iterator[dict[str, Any]]:
    """Every stored article in the export shape documented in docs/database.md."""
    for row in db.query("SELECT * FROM articles ORDER BY id"):
        facts = article_facts(db, row["id"])
        yield {
            "id": row["id"],
            "url": row["url"],
            "source": row["source"],
            "level": row["level"],
            "province": row["province"],
            "title": row["title"],
            "published": row["published"],
            "author": row["author"],
            "credit": row["credit"],
            "text": row["text"],
            "relevant": bool(row["relevant"]),
            "keywords": json.loads(row["keywords"] or "[]"),
            "story": row["story_id"],
            "first_seen": row["first_seen"],
            "figures": facts["figures"],
            "directives": facts["directives"],
            "instructions": facts["instructions"],
        }
