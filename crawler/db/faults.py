"""What a failed database operation means, in one line an admin can act on.

SQLite reports a full disk, a write lock held by another process past the busy timeout and a
damaged file as different sqlite3 errors (PostgreSQL adds an unreachable server); every writer (the spider's frontier, the storing
pipelines, the crawl's run rows, the CLI) names them the same way, so `crawl_runs.errors` and the
terminal say `disk_full`, `db_locked` or `db_corrupt` instead of a traceback.
"""

from __future__ import annotations

from crawler.db import dialect

KINDS = (
    ("disk_full", ("disk is full", "disk full", "no space", "file too large", "disk i/o error"),
     "the disk holding the database is full or failing (or the file hit a size limit): free space, then crawl "
     "again; what was not stored is owed to the next crawl"),
    ("db_locked", ("database is locked", "database table is locked", "lock timeout", "deadlock detected"),
     "another process held the database's write lock (on PostgreSQL, a row or key this write needed) past the "
     "busy timeout: is another dxwatch stuck?"),
    ("db_corrupt", ("malformed", "not a database", "corrupt", "encrypted"),
     "the database file is damaged: restore it from a backup (or `sqlite3 <db> .recover`)"),
    ("db_unreachable", ("connection failed", "connection refused", "could not connect", "server closed the connection",
                        "terminating connection", "the connection is closed", "consuming input failed"),
     "the PostgreSQL server named by --db cannot be reached: is it running, and are host, port, user and "
     "database name right?"),
)


class DatabaseFault(Exception):
    """A database failure dxwatch cannot work around; `kind` is the crawl_runs error key."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def describe(exc: BaseException) -> tuple[str, str]:
    """`(kind, one line)` for a sqlite3, psycopg (or OS) error met while using the database."""
    if isinstance(exc, DatabaseFault):
        return exc.kind, str(exc)
    message = " ".join(str(exc).split())  # libpq's messages run over several lines
    text = message.lower()
    for kind, needles, advice in KINDS:
        if any(n in text for n in needles):
            return kind, f"{message} ({advice})"
    if isinstance(exc, OSError) and exc.errno == 28:  # ENOSPC outside SQLite (a journal, an archive)
        return "disk_full", f"{message} ({KINDS[0][2]})"
    return "db_error", f"database error: {message}"


def fault(exc: BaseException) -> DatabaseFault:
    kind, line = describe(exc)
    return DatabaseFault(kind, line)


def check_integrity(db) -> None:
    """PRAGMA quick_check before a crawl writes: a damaged file stops it with one line (DatabaseFault)."""
    try:
        result = dialect.quick_check(db)
    except dialect.errors() as exc:
        raise fault(exc) from None
    if result != ["ok"]:
        raise DatabaseFault("db_corrupt", f"the database failed its integrity check ({result[0]}); "
                                          f"{KINDS[2][2]}")
