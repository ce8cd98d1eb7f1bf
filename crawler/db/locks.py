"""PostgreSQL session advisory locks: one crawl per host across every machine of a deployment.

A lock is held by a database session, not by a row: `pg_try_advisory_lock` takes it without
waiting, and PostgreSQL drops every lock of a session when the session ends, so a worker killed
with kill -9 (or a machine that vanishes, once its TCP connection times out) leaves no stale lock
behind. The key is (HOST_LOCKS, hashtext(host)): two hosts whose 32-bit hashes collide merely
take turns, which costs time, never politeness. The task queue (`scheduler/queue.py`) holds one
such session per crawl job, from before the crawl's first request to after its last.
"""

from __future__ import annotations

import psycopg

HOST_LOCKS = 20_0001       # first key of the two-key advisory lock space: "a crawl of this host"
QUEUE_SCHEMA_LOCK = 20_0002  # one process at a time installs the task queue's tables


def lock_session(url: str) -> psycopg.Connection:
    """A connection of its own (autocommit) whose life is the life of the locks taken on it."""
    return psycopg.connect(url, autocommit=True, application_name="dxwatch host locks")


def try_lock_hosts(conn: psycopg.Connection, hosts: list[str]) -> list[str]:
    """Take every lock of `hosts` or none: returns [] when all were taken (held until released or
    the session ends), else the hosts another session holds (whatever was taken here is let go)."""
    taken, busy = [], []
    for host in sorted(set(hosts)):
        if conn.execute("SELECT pg_try_advisory_lock(%s::int, hashtext(%s))", (HOST_LOCKS, host)).fetchone()[0]:
            taken.append(host)
        else:
            busy.append(host)
    if busy:
        unlock_hosts(conn, taken)
    return busy


def unlock_hosts(conn: psycopg.Connection, hosts: list[str]) -> None:
    for host in hosts:
        conn.execute("SELECT pg_advisory_unlock(%s::int, hashtext(%s))", (HOST_LOCKS, host))


def queue_schema_installed(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()[0]


class QueueSchemaLock:
    """Held while the task queue's schema is checked and installed, so two workers starting at
    once do not both install it (a session lock on a connection of its own, closed on exit)."""

    def __init__(self, url: str):
        self.url = url
        self.conn: psycopg.Connection | None = None

    def __enter__(self) -> "QueueSchemaLock":
        self.conn = psycopg.connect(self.url, autocommit=True)
        self.conn.execute("SELECT pg_advisory_lock(%s::int, 0)", (QUEUE_SCHEMA_LOCK,))
        return self

    def __exit__(self, *exc) -> None:
        assert self.conn is not None
        self.conn.close()  # the session's lock goes with it
