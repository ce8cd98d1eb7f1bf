"""The `dxwatch` command line (typer). Commands are thin: each calls the module that does the job.

Imports of stage modules happen inside the commands so `dxwatch --help` stays fast.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from crawler.config import Config, ConfigError, load_config

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Watch Vietnamese government portals for "
                  "digital-transformation news and email digests of new figures and directives.")
sources_app = typer.Typer(no_args_is_help=True, help="List, check and dry-run the configured sources.")
digest_app = typer.Typer(no_args_is_help=True, help="Preview, send and review digests.")
schedule_app = typer.Typer(no_args_is_help=True, help="The long-running scheduler.")
app.add_typer(sources_app, name="sources")
app.add_typer(digest_app, name="digest")
app.add_typer(schedule_app, name="schedule")

console = Console()
err_console = Console(stderr=True)


class State:
    config_dir: Path = Path("config")
    db_path: Path = Path("data/dxwatch.db")

    def config(self, need_digests: bool = False) -> Config:
        return load_config(self.config_dir, need_digests=need_digests)

    def db(self):
        from crawler.store import open_db

        return open_db(self.db_path)


state = State()


def echo_json_lines(rows) -> None:
    """`--json` output: one JSON object per line, Vietnamese kept readable."""
    for row in rows:
        typer.echo(json.dumps(row, ensure_ascii=False))


def usage_error(exc: Exception | str) -> typer.Exit:
    """A bad option value the command itself found: one line on stderr, exit code 2."""
    err_console.print(f"error: {exc}", highlight=False, markup=False)
    return typer.Exit(2)


@app.callback()
def _global(
    config: Path = typer.Option(Path(os.environ.get("DXWATCH_CONFIG", "config")), "--config",
                                help="Config directory with sources.yaml and digests.yaml [env DXWATCH_CONFIG]."),
    db: Path = typer.Option(Path(os.environ.get("DXWATCH_DB", "data/dxwatch.db")), "--db",
                            help="SQLite database file [env DXWATCH_DB]."),
) -> None:
    state.config_dir, state.db_path = config, db


# ---------------------------------------------------------------- sources


@sources_app.command("list")
def sources_list() -> None:
    """Every configured source with its level, province, entry points and schedule."""
    cfg = state.config()
    table = Table("name", "title", "level", "province", "entry points", "schedule", "enabled")
    for s in cfg.sources:
        entry = f"{len(s.start_urls)} listing, {len(s.feeds)} feed, {len(s.sitemaps)} sitemap"
        table.add_row(s.name, s.title, s.level, s.province or "", entry, s.effective_schedule,
                      "yes" if s.enabled else "no")
    console.print(table)


def _table_console() -> Console:
    """The terminal console, or one wide enough that piped tables keep whole URLs on one line."""
    return console if console.is_terminal else Console(width=1000)


@sources_app.command("status")
def sources_status() -> None:
    """Health of every source: OK / STALE / BROKEN with the reason, last success and last run's numbers."""
    from crawler.health import source_status

    cfg = state.config()
    colours = {"OK": "green", "STALE": "yellow", "BROKEN": "bold red"}
    table = Table("source", "verdict", "last success", "last run", "pages", "new", "known", "rejected",
                  "errors", "revisit", "reason")
    for row in source_status(state.db(), cfg):
        colour = colours.get(row["verdict"], "dim")
        errors = ", ".join(f"{k} {v}" for k, v in sorted(row["errors"].items())) or "-"
        table.add_row(row["source"], f"[{colour}]{row['verdict']}[/]", (row["last_success"] or "never")[:16],
                      f"{(row['last_run'] or '-')[:16]} {row['status'] or ''}".strip()
                      + (" (a crawl is running now)" if row["running"] else ""),
                      *(str(row[k]) if row[k] is not None else "-"
                        for k in ("pages", "articles_new", "articles_known", "articles_rejected")),
                      errors, row["revisit"], row["reason"])
    _table_console().print(table)


@sources_app.command("test")
def sources_test(
    name: str = typer.Argument(..., help="The source's name in sources.yaml."),
    limit: int = typer.Option(5, "--limit", min=0, help="How many article pages to fetch and extract."),
) -> None:
    """Dry-run one source: pages read, URLs taken as articles and why, first extractions. Writes nothing."""
    from crawler.crawl import dry_run

    cfg = state.config()
    cfg.source(name)
    result = dry_run(cfg, name, article_limit=limit)
    read = Table("read", "url", "what happened", title=f"{name}: listing pages, feeds and sitemaps")
    taken = Table("url", "why it is an article", title="URLs taken as articles")
    for entry in result["report"]:
        if entry["kind"] == "article":
            taken.add_row(entry["url"], entry["detail"])
        elif entry["kind"] != "article-skipped":
            read.add_row(entry["kind"], entry["url"], entry["detail"])
    _table_console().print(read)
    _table_console().print(taken)
    skipped = sum(1 for e in result["report"] if e["kind"] == "article-skipped")
    if skipped:
        console.print(f"{skipped} more article links not fetched (--limit {limit})")
    extracted = Table("url", "title", "published", "author", title="First articles, as extracted")
    for article in result["articles"]:
        extracted.add_row(article["url"], article.get("title") or "-", article.get("published") or "-",
                          article.get("author") or "-")
    _table_console().print(extracted)
    for rejected in result["rejected"]:
        console.print(f"[yellow]rejected[/] {rejected['url']}: {rejected['reason']}", highlight=False)
    summary = result["summary"]
    console.print(f"{summary['requests']} requests, {summary['pages']} pages; errors: "
                  f"{', '.join(f'{k} {v}' for k, v in summary['errors'].items()) or 'none'}. "
                  "Nothing was written to the database.")
    if not result["articles"] and not any(e["kind"] == "article" for e in result["report"]):
        raise typer.Exit(1)


# ---------------------------------------------------------------- crawl


def _progress_reporter():
    """Rich progress on a terminal, a plain line per source every few seconds otherwise."""
    import time

    if console.is_terminal:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                            console=console, transient=True)
        tasks: dict[str, int] = {}

        def update(name: str, numbers: dict) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(name)
            progress.update(tasks[name], description=f"{name}: {numbers['pages']} pages, "
                            f"{numbers['articles_new']} new, {numbers['articles_known']} known")

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
) -> None:
    """Crawl once and print a summary table per source (exit code 1 when a source failed)."""
    from crawler.crawl import run_crawl, select_sources

    cfg = state.config()
    for name in source:
        cfg.source(name)  # an unknown name is a config error before anything runs
    if if_due:
        from crawler.health import crawl_due

        db = state.db()
        due = []
        for s in select_sources(cfg, source):
            ok, why = crawl_due(db, s)
            if ok:
                due.append(s.name)
            else:
                console.print(f"{s.name}: skipped, {why}", highlight=False)
        if not due:
            return
        source = due
    progress, update = _progress_reporter()
    if progress is not None:
        with progress:
            results = run_crawl(cfg, state.db_path, source or None, on_progress=update)
    else:
        results = run_crawl(cfg, state.db_path, source or None, on_progress=update)
    table = Table("source", "status", "pages", "new", "known", "rejected", "errors", "last error")
    for r in results:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items())) or "-"
        table.add_row(r["source"], r["status"], str(r["pages"]), str(r["articles_new"]), str(r["articles_known"]),
                      str(r["articles_rejected"]), errors, (r["last_error"] or "")[:80])
    _table_console().print(table)
    if any(r["status"] == "failed" for r in results):
        raise typer.Exit(1)


# ---------------------------------------------------------------- export


@app.command()
def export(
    format: str = typer.Option("jsonl", "--format", help="jsonl or csv."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output file (default: standard output)."),
) -> None:
    """Every stored article with its figures and directives (JSON Lines or CSV)."""
    from crawler.store import iter_export

    if format not in {"jsonl", "csv"}:
        raise typer.BadParameter("use jsonl or csv", param_hint="--format")
    db = state.db()
    handle = open(out, "w", encoding="utf-8", newline="") if out else sys.stdout
    try:
        rows = iter_export(db)
        if format == "jsonl":
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            writer = None
            for row in rows:
                flat = {k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v
                        for k, v in row.items()}
                if writer is None:
                    writer = csv.DictWriter(handle, fieldnames=list(flat))
                    writer.writeheader()
                writer.writerow(flat)
    finally:
        if out:
            handle.close()


# ---------------------------------------------------------------- extract


@app.command()
def extract(
    inputs: list[str] = typer.Argument(..., metavar="PATH_OR_URL...", help="HTML files (plain or .gz) or URLs."),
    source: Optional[str] = typer.Option(None, "--source", help="Use this configured source's selectors."),
    url: Optional[str] = typer.Option(None, "--url", help="The page URL of the given files (URL-encoded dates)."),
) -> None:
    """What dxwatch extracts from each page, one JSON line per input: title, published, author,
    credit, text, figures, directives (or an error). Exit code 1 when any input had no article."""
    from pipelines.extraction import extract_inputs

    selectors = None
    if source:
        match = [s for s in state.config().sources if s.name == source]
        if not match:
            raise typer.BadParameter(f"no source named {source!r}", param_hint="--source")
        selectors = match[0].selectors
    failed = False
    for row in extract_inputs(inputs, selectors, page_url=url):
        failed |= "error" in row
        typer.echo(json.dumps(row, ensure_ascii=False))
    raise typer.Exit(1 if failed else 0)


# ---------------------------------------------------------------- schedule


@schedule_app.command("list")
def schedule_list(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per job instead of a table."),
) -> None:
    """Every job (each source's crawl, each digest, alerts) with its next run and last outcome."""
    from scheduler.jobs import job_overview

    cfg = state.config()
    db = state.db()
    rows = job_overview(cfg, db)
    if as_json:
        echo_json_lines(rows)
        return
    from rich.table import Column

    table = Table(Column("job", no_wrap=True), "schedule", Column("next run (+07:00)", no_wrap=True), Column("last run", no_wrap=True),
                  "outcome", "detail")
    if any(row["next_run_planned"] for row in rows):
        table.caption = "* not registered yet: the time a scheduler started now would give"
    for row in rows:
        table.add_row(row["job"], row["schedule"], _short_time(row["next_run"], row["next_run_planned"]),
                      _short_time(row["last_run"]) if row["last_run"] else "never",
                      row["last_outcome"] or "-", row["last_detail"] or "")
    console.print(table)


def _short_time(iso: str | None, planned: bool = False) -> str:
    if not iso:
        return "-"
    return iso[:19].replace("T", " ") + (" *" if planned else "")


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
) -> None:
    """The long-running scheduler: crawls each source and sends each digest on its schedule.
    With --once the exit code is 1 when a run failed or timed out."""
    from crawler.config import parse_schedule
    from scheduler.lock import SchedulerAlreadyRunning
    from scheduler.service import Service, setup_logging

    try:
        kind, grace_seconds = parse_schedule(digest_grace)
    except ValueError:
        kind = None
    if kind != "interval":
        raise typer.BadParameter("use a duration such as 30m, 12h or 2d", param_hint="--digest-grace")
    log_file = log_file or state.db_path.parent / "logs" / "scheduler.log"
    setup_logging(log_file)
    service = Service(state.config_dir, state.db_path, log_file, digest_grace=grace_seconds, kill_grace=kill_grace)
    try:
        service.run(once=once)
    except SchedulerAlreadyRunning as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if once and service.failed_runs:
        raise typer.Exit(1)  # for cron: a crawl or digest failed (details in `schedule list`)


# ---------------------------------------------------------------- demo


@app.command()
def demo(
    serve: bool = typer.Option(False, "--serve", help="Only serve the demo portals until Ctrl-C (no crawl, no mail)."),
) -> None:
    """Serve the bundled demo portals on 127.0.0.1, crawl them, write data/digest-preview.html and
    deliver the digest to a local SMTP server that saves each message under data/outbox/."""
    from crawler.demo import DemoError, run_demo, serve_forever

    try:
        if serve:
            serve_forever(state.config(), state.db_path, console)
        else:
            run_demo(state.config(need_digests=True), state.db_path, console)
    except DemoError as exc:
        err_console.print(f"[bold red]demo:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


# ---------------------------------------------------------------- stories and search


def _coverage_line(coverage: dict) -> str:
    parts = []
    if coverage["national"]:
        parts.append("national: " + ", ".join(coverage["national"]))
    provincial = [s["source"] + (f" ({s['province']})" if s["province"] else "")
                  for s in coverage["sources"] if s["level"] != "national"]
    if provincial:
        parts.append("provincial: " + ", ".join(provincial))
    return "; ".join(parts)


@app.command()
def stories(
    story: Optional[int] = typer.Argument(None, help="A story id: list every article of it."),
    limit: int = typer.Option(20, "--limit", min=1, help="How many stories."),
    min_sources: int = typer.Option(1, "--min-sources", min=1, help="Only stories carried by at least N portals."),
    since: Optional[str] = typer.Option(None, "--since", help="Only stories with an article stored on or after "
                                        "this day (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per story instead of a table."),
) -> None:
    """Recent stories (one article republished by several portals) with who carried them and when."""
    from rich.text import Text

    from crawler.search import parse_day
    from pipelines.stories import recent_stories, story_coverage

    db = state.db()
    try:
        found = [story_coverage(db, story)] if story is not None else recent_stories(
            db, limit=limit, min_sources=min_sources, since=parse_day(since, "--since"))
    except (KeyError, ValueError) as exc:
        raise usage_error(exc.args[0]) from None
    if as_json:
        echo_json_lines(found)
        return
    out = _table_console()
    if story is not None:
        coverage = found[0]
        out.print(Text(f"story {coverage['story_id']}: {coverage['title']}", style="bold"))
        out.print(Text(f"carried by {coverage['count']} portals ({coverage['article_count']} articles); "
                       f"first: {coverage['first_source']}, stored first {coverage['first_seen']}"))
        from rich.table import Column

        table = Table("published", "source", "level", "province", "title", Column("url", overflow="fold"))
        for m in coverage["members"]:
            table.add_row(Text((m["published"] or "")[:16].replace("T", " ")), Text(m["source"]),
                          Text(m["level"] or ""), Text(m["province"] or ""), Text(m["title"] or ""), Text(m["url"]))
        out.print(table)
        return
    table = Table("story", "first published", "title", "portals", "coverage")
    for coverage in found:
        when = coverage["first_published"] or coverage["first_seen"]
        table.add_row(str(coverage["story_id"]), Text(when[:16].replace("T", " ")), Text(coverage["title"] or ""),
                      str(coverage["count"]), Text(_coverage_line(coverage)))
    out.print(table if found else "no stories yet")


@app.command("search")
def search_command(
    query: str = typer.Argument(..., help="Words to find, with or without diacritics; commas separate "
                                "phrases that must all appear."),
    source: list[str] = typer.Option([], "--source", help="Only articles of this source (repeatable)."),
    since: Optional[str] = typer.Option(None, "--since", help="Published on or after this day (YYYY-MM-DD)."),
    until: Optional[str] = typer.Option(None, "--until", help="Published on or before this day (YYYY-MM-DD)."),
    limit: int = typer.Option(20, "--limit", min=1, help="How many results."),
    newest: bool = typer.Option(False, "--newest", help="Newest first instead of best match first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per article instead of a table."),
) -> None:
    """Full-text search of stored titles and bodies."""
    from rich.text import Text

    from crawler.search import search

    db = state.db()
    try:
        results = search(db, query, sources=source, since=since, until=until, limit=limit, newest=newest)
    except ValueError as exc:
        raise usage_error(exc) from None
    if as_json:
        echo_json_lines(results)
        return
    table = Table("published", "source", "title", "story", "snippet", show_lines=True)
    for row in results:
        when = row["published"] or row["first_seen"]
        table.add_row(Text(when[:16].replace("T", " ")), Text(row["source"]),
                      Text(f"{row['title'] or ''}\n{row['url']}"), str(row["story"] or ""), Text(row["snippet"]))
    _table_console().print(table if results else "no matches")


# ---------------------------------------------------------------- documents


@app.command()
def documents(
    number: Optional[str] = typer.Argument(None, help="A document number (2971/QĐ-UBND): show that document "
                                           "and the articles that link or cite it."),
    doc_type: Optional[str] = typer.Option(None, "--type", help="Only this type (Quyết định, Kế hoạch, Công văn...; "
                                       "diacritics optional) or its abbreviation (QĐ, KH)."),
    issuer: Optional[str] = typer.Option(None, "--issuer", help="Issuing body, part of its name or the code in "
                                         "the number (UBND, BTTTT)."),
    since: Optional[str] = typer.Option(None, "--since", help="Signed on or after this day (YYYY-MM-DD)."),
    until: Optional[str] = typer.Option(None, "--until", help="Signed on or before this day (YYYY-MM-DD)."),
    source: Optional[str] = typer.Option(None, "--source", help="Only documents linked from this source."),
    status: Optional[str] = typer.Option(None, "--status", help="ok, scanned_no_text, empty, encrypted, corrupt, "
                                         "too_large or unsupported."),
    limit: int = typer.Option(50, "--limit", min=1, help="How many documents, newest signing date first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per document instead of a table."),
) -> None:
    """Documents (PDF, Word, ODT, Excel) that articles link: number, type, issuer, date, trích yếu, status."""
    from rich.table import Column
    from rich.text import Text

    from crawler.search import parse_day
    from pipelines.documents import STATUSES, citing_articles, document_for_number, list_documents

    db = state.db()
    if number is not None:
        found = document_for_number(db, number)
        if found is None:
            err_console.print(f"no stored document numbered {number!r}", highlight=False, markup=False)
            raise typer.Exit(1)
        found["articles"] = citing_articles(db, found["id"])
        if as_json:
            echo_json_lines([found])
            return
        for field in ("number", "type", "issuer", "place", "date", "subject", "status", "error", "pages", "url"):
            if found.get(field) is not None:
                console.print(Text(f"{field}: {found[field]}"))
        table = Table("how", "published", "title", Column("url", overflow="fold"))
        for a in found["articles"]:
            table.add_row(a["how"], Text((a["published"] or "")[:10]), Text(a["title"] or ""), Text(a["url"]))
        console.print(table if found["articles"] else "no stored article links or cites it")
        return
    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"use one of {', '.join(STATUSES)}", param_hint="--status")
    try:
        rows = list_documents(db, doc_type=doc_type, issuer=issuer, since=parse_day(since, "--since"),
                              until=parse_day(until, "--until"), source=source, status=status)[:limit]
    except ValueError as exc:
        raise usage_error(exc) from None
    if as_json:
        echo_json_lines(rows)
        return
    table = Table("signed", "document", "issuer", "trích yếu", "status", Column("url", overflow="fold"),
                  show_lines=True)
    for d in rows:
        name = "\n".join(x for x in (d["number"], d["type"]) if x) or d["filename"] or d["label"] or ""
        table.add_row(d["date"] or "", Text(name), Text(d["issuer"] or ""), Text(d["subject"] or ""), d["status"],
                      Text(d["url"]))
    console.print(table if rows else "no documents")


# ---------------------------------------------------------------- facts


@app.command()
def facts(
    since: str = typer.Option("7d", "--since", help="First seen since this long ago (36h, 7d, 2w) or this day "
                              "(YYYY-MM-DD)."),
    kind: list[str] = typer.Option([], "--kind", help="figures, directives or instructions (repeatable; default all)."),
    relevant: bool = typer.Option(False, "--relevant", help="Only from articles on the digital-transformation topic."),
    text: Optional[str] = typer.Option(None, "--text", help="Extract from this text instead of listing the database "
                                       "('-' reads standard input); prints JSON, stores nothing."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per fact instead of tables."),
) -> None:
    """New figures, directives and instructions: each fact once, with how many articles cite it."""
    from rich.text import Text

    from pipelines.facts import article_facts, describe, new_facts, since_moment

    tables = kind or ["figures", "directives", "instructions"]
    for k in tables:
        if k not in {"figures", "directives", "instructions"}:
            raise typer.BadParameter("use figures, directives or instructions", param_hint="--kind")
    if text is not None:
        found = article_facts(None, sys.stdin.read() if text == "-" else text)
        typer.echo(json.dumps({k: found[k] for k in tables}, ensure_ascii=False, indent=1))
        return
    try:
        moment = since_moment(since)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None
    found = new_facts(state.db(), moment, only_relevant=relevant)
    for k in tables:
        if as_json:
            echo_json_lines({"table": k, **fact} for fact in found[k])
            continue
        table = Table("first seen", k, "articles", "first article", title=f"new {k} since {moment[:16]}")
        for fact in found[k]:
            first = fact["articles"][0]
            table.add_row(fact["first_seen"][:16].replace("T", " "), Text(describe(k, fact)),
                          str(fact["mentions"]), Text(f"{first['title'] or ''}\n{first['url']}"))
        _table_console().print(table if found[k] else f"no new {k} since {moment[:16]}")


# ---------------------------------------------------------------- digests


@digest_app.command("preview")
def digest_preview(
    name: str = typer.Argument(..., help="The digest's name in digests.yaml."),
    out: Path = typer.Option(..., "--out", help="HTML file to write."),
    recipient: Optional[str] = typer.Option(None, "--recipient",
                                            help="Show what this recipient would get next (default: the whole digest)."),
) -> None:
    """Write a digest as HTML without sending or recording anything."""
    from digests.runner import preview_digest

    path = preview_digest(state.config(need_digests=True), state.db(), name, out, recipient=recipient)
    console.print(f"preview written to {path}", highlight=False)


@digest_app.command("send")
def digest_send(
    name: str = typer.Argument(..., help="The digest's name in digests.yaml."),
    run_key: Optional[str] = typer.Option(None, "--run-key", help="Identifies the run; a key is delivered once."),
) -> None:
    """Send what is new to each recipient now; exit code 1 when a message failed or is left pending."""
    from rich.text import Text

    from digests.runner import send_digest

    summary = send_digest(state.config(need_digests=True), state.db(), name, run_key=run_key)
    table = Table("recipient", "status", "items", "attempts", "error", title=f"digest {name} ({summary['run_key']})")
    for d in summary["deliveries"]:
        counts = json.loads(d["counts"] or "{}")
        table.add_row(Text(d["recipient"]), d["status"], _counts_text(counts), str(d["attempts"]),
                      Text(d["last_error"] or ""))
    console.print(table)
    console.print(f"sent {summary['sent']}, nothing new {summary['empty']}, failed {summary['failed']}, "
                  f"pending {summary['pending']}" + (f" ({summary['error']})" if summary["error"] else ""),
                  highlight=False)
    if summary["failed"] or summary["pending"]:
        raise typer.Exit(1)


def _counts_text(counts: dict) -> str:
    return ", ".join(f"{counts.get(k, 0)} {label}" for k, label in
                     (("stories", "tin"), ("figures", "số liệu"), ("documents", "văn bản"),
                      ("instructions", "chỉ đạo")))


@digest_app.command("history")
def digest_history(limit: int = typer.Option(20, "--limit", help="How many runs, newest first.")) -> None:
    """Digest and alert runs with each recipient's delivery: status, attempts, error, archived HTML."""
    from rich.text import Text

    from digests.runner import history

    table = Table("run", "recipient", "delivery", "items", "attempts", "sent / error / archive", show_lines=True,
                  caption="items: tin / số liệu / văn bản / chỉ đạo; archives are next to the database file")
    for run in history(state.db(), limit):
        label = Text(f"#{run['id']} {run['digest']} ({run['status']})\n{run['run_key']}")
        for i, d in enumerate(run["deliveries"] or [{}]):
            counts = json.loads(d.get("counts") or "{}")
            numbers = "/".join(str(counts.get(k, 0)) for k in ("stories", "figures", "documents", "instructions"))
            sent = _short_time(d["sent_at"]) if d.get("sent_at") else None
            outcome = "\n".join(x for x in (sent, d.get("last_error"), d.get("archive")) if x)
            table.add_row(label if i == 0 else "", Text(d.get("recipient", "")), d.get("status", ""),
                          numbers if counts else "", str(d.get("attempts", "")), Text(outcome))
    console.print(table)


def main() -> None:
    """Console entry point: config errors become one line and exit code 2, never a traceback."""
    try:
        app()
    except ConfigError as exc:
        err_console.print(f"[bold red]config error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
