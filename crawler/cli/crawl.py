"""`dxwatch crawl`: one crawl of the configured sources, with progress and a summary table."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from crawler.cli.common import Table, app, console, state, table_console


MANY_SOURCES = 20  # above this, one progress line for the whole crawl


def _progress_reporter(sources: int):
    """Rich progress on a terminal (a line per source, or one for the whole crawl of many), a plain
    line per source every few seconds otherwise."""
    import time

    if console.is_terminal:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                            console=console, transient=True)
        tasks: dict[str, int] = {}
        latest: dict[str, tuple[int, int, int]] = {}
        totals = [0, 0, 0]

        def update(name: str, numbers: dict) -> None:
            now = (numbers["pages"], numbers["articles_new"], numbers["articles_known"])
            label = name
            if sources > MANY_SOURCES:  # running totals: no sum over thousands of sources per event
                for i, (new, old) in enumerate(zip(now, latest.get(name, (0, 0, 0)))):
                    totals[i] += new - old
                latest[name], now, name = now, tuple(totals), "all"
                label = f"{len(latest)}/{sources} sources"
            if name not in tasks:
                tasks[name] = progress.add_task(label)
            progress.update(tasks[name], description=f"{label}: {now[0]} pages, {now[1]} new, {now[2]} known")

        return progress, update
    last: dict[str, float] = {}

    def log_line(name: str, numbers: dict) -> None:
        now = time.monotonic()
        if now - last.setdefault(name, now) >= 10:
            last[name] = now
            print(f"crawl {name}: {numbers['pages']} pages, {numbers['articles_new']} new, "
                  f"{numbers['articles_known']} known", file=sys.stderr, flush=True)

    return None, log_line


@app.command()
def crawl(
    source: list[str] = typer.Option([], "--source", "-s", help="Crawl only this source (repeatable); "
                                     "default: every enabled source."),
    if_due: bool = typer.Option(False, "--if-due", help="Skip sources whose publishing rhythm says it is too "
                                "early (see the revisit column of `sources status`); for schedulers."),
    processes: Optional[int] = typer.Option(None, "--processes", min=1, help="Crawl processes to use "
                                            "(default: settings.crawl_processes: one per core, sources on one host kept together)."),
    no_alerts: bool = typer.Option(False, "--no-alerts", help="Leave the alert rules to a job of their own "
                                   "(what `dxwatch worker` does: one alert check at a time)."),
) -> None:
    """Crawl once and print a summary table per source (exit code 1 when a source failed)."""
    from crawler.crawl import run_crawl, select_sources

    cfg = state.config()
    for name in source:
        cfg.source(name)  # an unknown name is a config error before anything runs
    if if_due:
        from crawler.db import close
        from crawler.health import split_due

        db = state.db()
        due, skipped = split_due(db, select_sources(cfg, source))
        close(db)  # a big crawl forks its workers: no connection is carried into them
        for name, why in skipped:
            console.print(f"{name}: skipped, {why}", highlight=False, markup=False)
        if not due:
            return
        source = due
    progress, update = _progress_reporter(len(source) if source else sum(s.enabled for s in cfg.sources))
    alerts: list[str] = []
    if progress is not None:
        with progress:
            results = run_crawl(cfg, state.db_target, source or None, on_progress=update, on_alerts=alerts.append,
                                processes=processes, alerts=not no_alerts)
    else:
        results = run_crawl(cfg, state.db_target, source or None, on_progress=update, on_alerts=alerts.append,
                            processes=processes, alerts=not no_alerts)
    table = Table("source", "status", "pages", "new", "known", "rejected", "errors", "last error")
    for r in results:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items())) or "-"
        table.add_row(r["source"], r["status"], str(r["pages"]), str(r["articles_new"]), str(r["articles_known"]),
                      str(r["articles_rejected"]), errors, (r["last_error"] or "")[:80])
    table_console().print(table)
    for line in alerts:
        console.print(line, highlight=False)
    if any(r["status"] == "failed" for r in results) or any("pending" in a or "failed" in a for a in alerts):
        raise typer.Exit(1)
