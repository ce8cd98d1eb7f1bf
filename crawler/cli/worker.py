"""`dxwatch worker`: run crawl, digest and alert jobs from the task queue of a PostgreSQL database."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from crawler.cli.common import app, state, usage_error


@app.command()
def worker(
    concurrency: int = typer.Option(1, "--concurrency", min=1, help="Jobs this process runs at once (each crawl "
                                    "is a child process; one per core is a good start)."),
    name: Optional[str] = typer.Option(None, "--name", help="The worker's name in logs (default: dxwatch-worker)."),
    log_file: Optional[Path] = typer.Option(
        None, "--log-file", envvar="DXWATCH_LOG_FILE",
        help="Rotating JSON-lines log; crawl output goes next to it (default: logs/worker.log under DXWATCH_DATA)."),
    kill_grace: float = typer.Option(10.0, "--kill-grace", min=0,
                                     help="Seconds a crawl gets after SIGTERM (time limit, shutdown) before SIGKILL."),
    heartbeat: float = typer.Option(10.0, "--heartbeat", min=0.5, help="Seconds between two heartbeats; a worker "
                                    "silent for three of them is taken for dead and its jobs go to another."),
    requeue_delay: float = typer.Option(30.0, "--requeue-delay", min=0, help="Seconds before a source whose host "
                                        "another job is crawling is tried again."),
    queue: list[str] = typer.Option([], "--queue", help="Take jobs from this queue only (repeatable: crawl, mail); "
                                    "default both. A `--queue mail` worker keeps digests from waiting behind crawls."),
) -> None:
    """Run jobs from the task queue (a postgresql:// --db only): crawls, digests and alert checks, on
    any number of machines; `schedule run` enqueues them. Stops on SIGTERM or SIGINT, ending a
    running crawl, whose sources go back to the queue."""
    from crawler.db.dialect import is_server
    from scheduler.queue import CRAWL_QUEUE, MAIL_QUEUE, WorkerSettings, run_worker
    from scheduler.service import setup_logging

    if not is_server(state.db_target):
        raise usage_error("dxwatch worker needs a PostgreSQL database (--db postgresql://user@host/dbname, or "
                          "DXWATCH_DB); with an SQLite file, `dxwatch schedule run` runs the jobs itself")
    unknown = sorted(set(queue) - {CRAWL_QUEUE, MAIL_QUEUE})
    if unknown:
        raise usage_error(f"unknown queue {', '.join(unknown)}: the queues are {CRAWL_QUEUE} and {MAIL_QUEUE}")
    state.config()  # a config error stops the worker before it takes any job
    log_file = log_file or state.data_dir / "logs" / "worker.log"
    setup_logging(log_file, extra_loggers=("procrastinate",))
    settings = WorkerSettings(config_dir=state.config_dir, db_url=str(state.db_target), log_dir=log_file.parent,
                              kill_grace=kill_grace, requeue_delay=requeue_delay, heartbeat=heartbeat)
    run_worker(settings, concurrency=concurrency, name=name, queues=queue or None)
