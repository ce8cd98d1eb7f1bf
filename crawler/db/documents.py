"""Downloaded files (attachments) and the articles that link them: `documents`, `document_urls`,
`document_links`, with the figures and directives read from a file."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from crawler import timeutil
from crawler.db.facts import insert_facts
from crawler.db.connection import write_transaction
from crawler.db.rows import insert_ignoring_known, insert_row, update_row

# Why a document has (or has no) text. Stored in documents.status.
OK = "ok"
SCANNED = "scanned_no_text"   # a PDF of page images: no text layer (dxwatch does no OCR)
EMPTY = "empty"               # parsed fine, but holds no text and no images
ENCRYPTED = "encrypted"       # a password is needed to read it
CORRUPT = "corrupt"           # claims to be a document but cannot be parsed
TOO_LARGE = "too_large"       # over the byte, page or unpacked-size limit; not parsed
UNSUPPORTED = "unsupported"   # a format no maintained Python library reads (legacy .doc/.xls)
STATUSES = (OK, SCANNED, EMPTY, ENCRYPTED, CORRUPT, TOO_LARGE, UNSUPPORTED)

DOCUMENT_COLUMNS = ("source", "format", "content_type", "filename", "label", "bytes", "content_hash", "status",
                    "error", "pages", "number", "key", "type", "issuer", "issuer_code", "place", "date", "subject",
                    "text", "etag", "last_modified", "crawl_run_id")
LISTED = ("id", "url", "source", "format", "filename", "label", "status", "error", "pages", "number", "key", "type",
          "issuer", "issuer_code", "place", "date", "subject", "first_seen", "changed_at")
_CHUNK = 500
FactRows = tuple[str, tuple[str, ...], list[dict]]  # (table, columns, rows)


def save_document(db: sqlite_utils.Database, row: dict[str, Any], urls: list[str], facts: list[FactRows],
                  validators: dict[str, str], cited_by: str | None, now: str) -> tuple[int, str]:
    """Store a read document once, in one transaction. Returns `(document_id, outcome)`.

    outcome: "new"; "changed" (same URL, different bytes: read again, new facts added);
    "unchanged" (same bytes, or a failed re-fetch of a stored file: the stored text stays);
    "alias" (the same bytes already stored under another URL). `validators` (etag,
    last_modified) refresh an unchanged row. `facts`: `(table, columns, rows)` of each kind read
    from documents.
    """
    keys = [*(f"document url {u}" for u in urls), *([f"document body {row['content_hash']}"] if row["content_hash"] else [])]
    with write_transaction(db, keys):  # what is checked below: is a URL or the body stored already?
        found = db.execute(f"SELECT d.id, d.content_hash FROM document_urls u JOIN documents d ON d.id = u.document_id "
                           f"WHERE u.url IN ({','.join('?' * len(urls))}) LIMIT 1", urls).fetchone()
        if found is None and row["content_hash"]:
            found = db.execute("SELECT id, content_hash FROM documents WHERE content_hash = ? LIMIT 1",
                               [row["content_hash"]]).fetchone()
            outcome = "alias" if found else "new"
        else:
            outcome = "unchanged" if found else "new"
        if found is None:
            document_id = insert_row(db, "documents", {**row, "url": urls[0], "first_seen": now, "checked_at": now,
                                                       "changed_at": now})
            _save_facts(db, document_id, facts, now)
        else:
            document_id, stored_hash = found
            if outcome == "unchanged" and row["content_hash"] and row["content_hash"] != stored_hash:
                outcome = "changed"
                update_row(db, "documents", document_id, {**row, "checked_at": now, "changed_at": now})
                _save_facts(db, document_id, facts, now)
            else:
                update_row(db, "documents", document_id, {"checked_at": now, **validators})
        insert_ignoring_known(db, "document_urls", ("url", "document_id"), [(u, document_id) for u in urls])
        if cited_by:
            _link(db, urls[0], cited_by, now)
    return document_id, outcome


def _save_facts(db: sqlite_utils.Database, document_id: int, facts: list[FactRows], seen: str) -> None:
    """Facts of a document, keys not yet recorded for it (a changed file adds, never repeats)."""
    for table, columns, rows in facts:
        if not rows:
            continue
        known = {r[0] for r in db.execute(f"SELECT key FROM {table} WHERE document_id = ?", [document_id])}
        insert_facts(db, table, columns, [r for r in rows if r.get("key") not in known], {"document_id": document_id},
                     seen)


def _link(db: sqlite_utils.Database, document_url: str, article_url: str, now: str) -> None:
    insert_ignoring_known(db, "document_links", ("document_url", "article_url", "first_seen"),
                          [(document_url, article_url, now)])


def record_links(db: sqlite_utils.Database, links: list[tuple[str, str]]) -> None:
    """`(document URL, article URL)` pairs, recorded when the article is read: before, or without, a fetch."""
    now = timeutil.iso()
    with write_transaction(db):
        for document_url, article_url in links:
            _link(db, document_url, article_url, now)


def stored_documents(db: sqlite_utils.Database, urls: list[str]) -> dict[str, dict]:
    """Which of these URLs lead to a stored document, with the validators for a conditional re-fetch."""
    found: dict[str, dict] = {}
    for i in range(0, len(urls), _CHUNK):
        chunk = urls[i : i + _CHUNK]
        for url, document_id, status, etag, last_modified in db.execute(
            f"SELECT u.url, d.id, d.status, d.etag, d.last_modified FROM document_urls u "
            f"JOIN documents d ON d.id = u.document_id WHERE u.url IN ({','.join('?' * len(chunk))})", chunk):
            found[url] = {"id": document_id, "status": status, "etag": etag, "last_modified": last_modified}
    return found


def mark_unchanged(db: sqlite_utils.Database, url: str) -> None:
    """A conditional re-fetch answered 304: the stored document is current."""
    with write_transaction(db):
        db.execute("UPDATE documents SET checked_at = ? WHERE id = (SELECT document_id FROM document_urls WHERE url = ?)",
                   [timeutil.iso(), url])


def document_by_keys(db: sqlite_utils.Database, keys: list[str], preferred: str) -> dict | None:
    """The stored document whose key or number is one of `keys` (`preferred` key first, readable ones next)."""
    if not keys:
        return None
    marks = ",".join("?" * len(keys))
    row = db.execute(f"SELECT {', '.join(LISTED)} FROM documents WHERE key IN ({marks}) OR number IN ({marks}) "
                     "ORDER BY key = ? DESC, status = 'ok' DESC, id LIMIT 1", [*keys, *keys, preferred]).fetchone()
    return dict(zip(LISTED, row)) if row else None


def citing_articles(db: sqlite_utils.Database, document_id: int) -> list[dict]:
    """Articles that link the file or cite its number, oldest first, each once (`how`: link or number)."""
    rows = db.execute(
        """SELECT a.id, a.url, a.title, a.source, a.published, MIN(how) FROM (
               SELECT u.article_id AS article_id, 'link' AS how FROM document_urls du
                 JOIN document_links l ON l.document_url = du.url
                 JOIN article_urls u ON u.url = l.article_url WHERE du.document_id = :id
               UNION ALL
               SELECT r.article_id, 'number' FROM directives r JOIN documents d ON d.key = r.key
                 WHERE d.id = :id AND r.article_id IS NOT NULL
           ) c JOIN articles a ON a.id = c.article_id GROUP BY a.id ORDER BY a.id""",
        {"id": document_id},
    ).fetchall()
    return [dict(zip(("id", "url", "title", "source", "published", "how"), r)) for r in rows]


def all_documents(db: sqlite_utils.Database) -> list[dict]:
    """Every stored document (LISTED columns), newest signing date first."""
    return [dict(zip(LISTED, r)) for r in db.execute(
        f"SELECT {', '.join(LISTED)} FROM documents ORDER BY date IS NULL, date DESC, id DESC")]
