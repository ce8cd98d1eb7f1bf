"""One scheduler per database: an exclusive `flock` on `<db>.scheduler.lock`.

APScheduler job stores must never be shared by two schedulers (every job would run twice). The
kernel drops a flock when its process dies, so a crash never leaves a stale lock behind; the
file holds the owner's pid and start time only to make the refusal message useful.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from crawler import timeutil
from crawler.db.dialect import is_server, local_folder


class SchedulerAlreadyRunning(Exception):
    """Another scheduler holds the lock for this database."""


def lock_path(db_path: Path | str) -> Path:
    """`<db>.scheduler.lock` next to the file; for a server database, in the local data folder, named
    by a hash of the URL (this lock keeps one scheduler per machine, not per server)."""
    if is_server(db_path):
        digest = hashlib.sha256(str(db_path).encode()).hexdigest()[:16]
        return (local_folder(db_path) / f"postgresql-{digest}.scheduler.lock").resolve()
    db_path = Path(db_path).resolve()  # one lock however the database path is spelled (symlinks, ../)
    return db_path.with_name(db_path.name + ".scheduler.lock")


class SchedulerLock:
    def __init__(self, db_path: Path | str):
        self.path = lock_path(db_path)
        self._handle = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown process"
            handle.close()
            raise SchedulerAlreadyRunning(
                f"another scheduler is already running on this database ({owner}; lock file {self.path}); "
                "stop it first, or use a different --db"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {timeutil.iso()}")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.truncate(0)
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> "SchedulerLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
