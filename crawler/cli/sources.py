"""`dxwatch sources list|status|test`: the configured portals, their health, a dry run of one."""

from __future__ import annotations

import typer
from rich.text import Text

from crawler.cli.common import Table, console, labelled, sources_app, state, table_console


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



@sources_app.command("status")
def sources_status() -> None:
    """Health of every source: OK / STALE / BROKEN with the reason, last success and last run's numbers."""
    from crawler.health import source_status

    cfg = state.config()
    colours = {"OK": "green", "STALE": "yellow", "INCOMPLETE": "yellow", "BROKEN": "bold red"}
    table = Table("source", "verdict", "last success", "last run", "pages", "new", "known", "rejected",
                  "errors", "revisit", "reason")
    for row in source_status(state.db(must_exist=True), cfg):
        colour = colours.get(row["verdict"], "dim")
        errors = ", ".join(f"{k} {v}" for k, v in sorted(row["errors"].items())) or "-"
        table.add_row(row["source"], Text(row["verdict"], style=colour), (row["last_success"] or "never")[:16],
                      f"{(row['last_run'] or '-')[:16]} {row['status'] or ''}".strip()
                      + (" (a crawl is running now)" if row["running"] else ""),
                      *(str(row[k]) if row[k] is not None else "-"
                        for k in ("pages", "articles_new", "articles_known", "articles_rejected")),
                      errors, row["revisit"], row["reason"])
    table_console().print(table)


@sources_app.command("test")
def sources_test(
    name: str = typer.Argument(..., help="The source's name in sources.yaml."),
    limit: int = typer.Option(5, "--limit", min=0, help="How many article pages to fetch and extract."),
) -> None:
    """Dry-run one source: pages read, URLs taken as articles and why, first extractions. Writes nothing."""
    from crawler.crawl import dry_run

    from crawler.db.source_templates import read_template

    cfg = state.config()
    cfg.source(name)
    learned = read_template(state.db_target, name)
    if learned:
        console.print(f"learned article template: {learned['template']} (verified by {learned['verified']} "
                      f"articles, {learned['learned_at'][:16]})", markup=False, highlight=False)
    result = dry_run(cfg, name, article_limit=limit, template=learned["template"] if learned else None)
    read = Table("read", "url", "what happened", title=f"{name}: listing pages, feeds and sitemaps")
    taken = Table("url", "why it is an article", title="URLs taken as articles")
    for entry in result["report"]:
        if entry["kind"] == "article":
            taken.add_row(entry["url"], entry["detail"])
        elif entry["kind"] != "article-skipped":
            read.add_row(entry["kind"], entry["url"], entry["detail"])
    table_console().print(read)
    table_console().print(taken)
    skipped = sum(1 for e in result["report"] if e["kind"] == "article-skipped")
    if skipped:
        console.print(f"{skipped} more article links not fetched (--limit {limit})")
    extracted = Table("url", "title", "published", "author", title="First articles, as extracted")
    for article in result["articles"]:
        extracted.add_row(article["url"], article.get("title") or "-", article.get("published") or "-",
                          article.get("author") or "-")
    table_console().print(extracted)
    for rejected in result["rejected"]:
        console.print(labelled("rejected", "yellow", f"{rejected['url']}: {rejected['reason']}"), highlight=False)
    summary = result["summary"]
    console.print(f"{summary['requests']} requests, {summary['pages']} pages; errors: "
                  f"{', '.join(f'{k} {v}' for k, v in summary['errors'].items()) or 'none'}. "
                  "Nothing was written to the database.", markup=False)
    if not result["articles"] and not any(e["kind"] == "article" for e in result["report"]):
        raise typer.Exit(1)
