"""`dxwatch schedule list|run`: the long-running scheduler and its jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from crawler.cli.common import Table, console, echo_json_lines, err_console, labelled, schedule_app, short_time, state


@schedule_app.command("list")
def schedule_list(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per job instead of a table."),
) -> None:
    """Every job (each source's crawl, each digest, alerts) with its next run and last outcome."""
    from scheduler.jobs import job_overview

    cfg = state.config()
    db = state.db(must_exist=True)
    rows = job_overview(cfg, db)
    from crawler.db.dialect import is_server

    if is_server(state.db_target):  # the enqueuer's clock-aligned ticks, not an APScheduler job store's
        from crawler import timeutil
        from scheduler.enqueue import next_tick

        for row in rows:
            if row["kind"] in ("crawl", "digest") and row["schedule"] != "disabled":
                row["next_run"], row["next_run_planned"] = timeutil.iso(next_tick(row["schedule"], timeutil.now())), False
    if as_json:
        echo_json_lines(rows)
        return
    from rich.table import Column

    table = Table(Column("job", no_wrap=True), "schedule", Column("next run (+07:00)", no_wrap=True), Column("last run", no_wrap=True),
                  "outcome", "detail")
    if any(row["next_run_planned"] for row in rows):
        table.caption = "* not registered yet: the time a scheduler started now would give"
    for row in rows:
        table.add_row(row["job"], row["schedule"], short_time(row["next_run"], row["next_run_planned"]),
                      short_time(row["last_run"]) if row["last_run"] else "never",
                      row["last_outcome"] or "-", row["last_detail"] or "")
    console.print(table)



@schedule_app.command("run")
def schedule_run(
    once: bool = typer.Option(False, "--once", help="Run every job that is due, then exit (for cron)."),
    log_file: Optional[Path] = typer.Option(
        None, "--log-file", envvar="DXWATCH_LOG_FILE",
        help="Rotating JSON-lines log; crawl output goes next to it (default: logs/scheduler.log next to the database)."),
    digest_grace: str = typer.Option(
        "12h", "--digest-grace", envvar="DXWATCH_DIGEST_GRACE",
        help="A digest missed while the scheduler was down is sent late only within this period."),
    kill_grace: float = typer.Option(10.0, "--kill-grace", min=0,
                                     help="Seconds a crawl gets after SIGTERM (time limit, shutdown) before SIGKILL."),
    batch_size: int = typer.Option(50, "--batch-size", min=1, help="On a postgresql:// database: sources per "
                                   "crawl job (sharded by host)."),
) -> None:
    """The long-running scheduler: crawls each source and sends each digest on its schedule.
    With --once the exit code is 1 when a run failed or timed out. On a postgresql:// database it
    only enqueues the due crawls and digests, once however many run, for `dxwatch worker`s to run."""
    from crawler.config import parse_schedule
    from scheduler.lock import SchedulerAlreadyRunning
    from scheduler.service import Service, setup_logging

    try:
        kind, grace_seconds = parse_schedule(digest_grace)
    except ValueError:
        kind = None
    if kind != "interval":
        raise typer.BadParameter("use a duration such as 30m, 12h or 2d", param_hint="--digest-grace")
    from crawler.db.dialect import is_server

    log_file = log_file or state.data_dir / "logs" / "scheduler.log"
    setup_logging(log_file)
    if is_server(state.db_target):
        import asyncio

        from scheduler.enqueue import Enqueuer

        asyncio.run(Enqueuer(state.config_dir, str(state.db_target), grace_seconds, batch_size).run(once=once))
        return
    service = Service(state.config_dir, state.db_target, log_file, digest_grace=grace_seconds, kill_grace=kill_grace)
    try:
        service.run(once=once)
    except SchedulerAlreadyRunning as exc:
        err_console.print(labelled("error:", "bold red", exc), soft_wrap=True)
        raise typer.Exit(1) from None
    if once and service.failed_runs:
        raise typer.Exit(1)  # for cron: a crawl or digest failed (details in `schedule list`)
