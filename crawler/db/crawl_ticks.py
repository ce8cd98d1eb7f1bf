"""Which tick each source was last queued for: what every enqueuer of a deployment shares on PostgreSQL.

`dxwatch schedule run` on PostgreSQL (`scheduler/enqueue.py`) queues each source once per tick of
its schedule, however many enqueuers run and however often they restart. procrastinate's own tables
cannot say which sources a tick already has: its periodic defers are keyed by a job id (a batch of
sources changes when the config does), and a worker deletes a job once it succeeded. So the
enqueuers keep one row per source here, `crawl_ticks(source, tick)`, and an enqueuer *claims*
sources for a tick before queuing them: the claim returns only those no enqueuer claimed for this
tick (or a later one), under one transaction-level advisory lock so two enqueuers take turns.

The claim commits when its block ends, after the caller has deferred the jobs: an enqueuer that dies
in between has queued jobs whose claim is rolled back, so its successor queues them again (at least
once, never lost); procrastinate's periodic defer drops that copy when the batches are the same.
One row per source whatever the number of ticks: the table stays the size of the config (and of the
sources removed from it since, a row each).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import psycopg

CLAIM_LOCK = 20_0003  # with locks.HOST_LOCKS and QUEUE_SCHEMA_LOCK: "an enqueuer is claiming sources"


def create_table(conn: psycopg.Connection) -> None:
    """Idempotent; run under `locks.QueueSchemaLock` (two concurrent CREATE TABLE IF NOT EXISTS
    can still collide in PostgreSQL's catalog)."""
    conn.execute("CREATE TABLE IF NOT EXISTS crawl_ticks (source text PRIMARY KEY, tick bigint NOT NULL)")


@contextmanager
def claim(url: str, names: list[str], tick: int) -> Iterator[set[str]]:
    """The sources of `names` that no enqueuer claimed for `tick` (or a later tick), claimed for it:
    committed when the block ends without an exception, rolled back otherwise. Another enqueuer's
    claim waits meanwhile, so two never get the same source."""
    with psycopg.connect(url, application_name="dxwatch enqueuer") as conn:  # one transaction
        conn.execute("SELECT pg_advisory_xact_lock(%s::int, 0)", (CLAIM_LOCK,))
        rows = conn.execute(
            "INSERT INTO crawl_ticks (source, tick) SELECT unnest(%s::text[]), %s "
            "ON CONFLICT (source) DO UPDATE SET tick = excluded.tick WHERE crawl_ticks.tick < excluded.tick "
            "RETURNING source", (names, tick)).fetchall()
        yield {row[0] for row in rows}
