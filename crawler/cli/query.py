"""`dxwatch stories`, `search`, `documents` and `facts`: reading what the crawls stored."""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from crawler.cli.common import Table, app, console, echo_json_lines, err_console, state, table_console, usage_error


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
    since: Optional[str] = typer.Option(None, "--since", help="Only stories with an article stored since this "
                                        "long ago (36h, 7d, 2w, 7 days) or this day (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per story instead of a table."),
) -> None:
    """Recent stories (one article republished by several portals) with who carried them and when."""
    from rich.text import Text

    from crawler.search import parse_since
    from pipelines.stories import recent_stories, story_coverage

    db = state.db(must_exist=True)
    try:
        found = [story_coverage(db, story)] if story is not None else recent_stories(
            db, limit=limit, min_sources=min_sources, since=parse_since(since))
    except (KeyError, ValueError) as exc:
        raise usage_error(exc) from None
    if as_json:
        echo_json_lines(found)
        return
    out = table_console()
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
    since: Optional[str] = typer.Option(None, "--since", help="Published since this long ago (36h, 7d, 2w, 7 days) "
                                        "or on or after this day (YYYY-MM-DD)."),
    until: Optional[str] = typer.Option(None, "--until", help="Published on or before this day (YYYY-MM-DD)."),
    limit: int = typer.Option(20, "--limit", min=1, help="How many results."),
    newest: bool = typer.Option(False, "--newest", help="Newest first (by publication time) instead of best match "
                                "first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per article instead of a table."),
) -> None:
    """Full-text search of stored titles and bodies."""
    from rich.text import Text

    from crawler.db.fulltext import index_missing
    from crawler.search import search

    db = state.db(must_exist=True)
    index_missing(db)  # articles written by other tools: the index is written here, not by the query
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
    table_console().print(table if results else "no matches")


@app.command()
def documents(
    number: Optional[str] = typer.Argument(None, help="A document number (2971/QĐ-UBND): show that document "
                                           "and the articles that link or cite it."),
    doc_type: Optional[str] = typer.Option(None, "--type", help="Only this type (Quyết định, Kế hoạch, Công văn...; "
                                       "diacritics optional) or its abbreviation (QĐ, KH)."),
    issuer: Optional[str] = typer.Option(None, "--issuer", help="Issuing body, part of its name or the code in "
                                         "the number (UBND, BTTTT)."),
    since: Optional[str] = typer.Option(None, "--since", help="Signed since this long ago (30d, 2w, 4 weeks) "
                                        "or on or after this day (YYYY-MM-DD)."),
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

    from crawler.db.documents import STATUSES, citing_articles
    from crawler.db.facts import cited_reference
    from crawler.search import parse_day, parse_since
    from pipelines.documents import document_for_number, list_documents

    db = state.db(must_exist=True)
    if number is not None:
        found = document_for_number(db, number)
        if found is not None:
            found["articles"] = citing_articles(db, found["id"])
        else:  # no file downloaded: the document as the articles citing it describe it
            found = cited_reference(db, number.strip())
        if found is None:
            err_console.print(f"no stored or cited document numbered {number!r}", highlight=False, markup=False)
            raise typer.Exit(1)
        if as_json:
            echo_json_lines([found])
            return
        for field in ("number", "type", "issuer", "place", "date", "subject", "title", "status", "error", "pages", "url"):
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
        rows = list_documents(db, doc_type=doc_type, issuer=issuer, since=(parse_since(since) or "")[:10] or None,
                              until=parse_day(until), source=source, status=status)[:limit]
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


@app.command()
def facts(
    since: str = typer.Option("7d", "--since", help="First seen since this long ago (36h, 7d, 2w) or this day "
                              "(YYYY-MM-DD)."),
    kind: list[str] = typer.Option([], "--kind", help="figures, references or instructions (repeatable; default "
                                   "all); `directives`, the table of references, is accepted too."),
    relevant: bool = typer.Option(False, "--relevant", help="Only from articles on the digital-transformation topic."),
    text: Optional[str] = typer.Option(None, "--text", help="Extract from this text instead of listing the database "
                                       "('-' reads standard input); prints JSON, stores nothing."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per fact instead of tables."),
) -> None:
    """New figures, references (documents cited) and instructions: each fact once, with how many articles cite it."""
    from rich.text import Text

    from crawler.db.facts import new_facts
    from crawler.search import parse_since
    from pipelines.facts import article_facts
    from pipelines.kinds import by_name, kinds
    from pipelines.kinds import tables as kind_tables

    known = [k.__kind__ for k in kinds()]
    try:
        chosen = [by_name(k) for k in kind] or list(kinds())
    except KeyError:
        raise typer.BadParameter(f"use {', '.join(known[:-1])} or {known[-1]}", param_hint="--kind") from None
    tables = list(dict.fromkeys(k.table for k in chosen))  # the JSON keeps the table names (public, as the export)
    if text is not None:
        found = article_facts(None, sys.stdin.read() if text == "-" else text)
        typer.echo(json.dumps({k: found[k] for k in tables}, ensure_ascii=False, indent=1))
        return
    try:
        moment = parse_since(since)
    except ValueError as exc:
        raise usage_error(exc) from None
    found = new_facts(state.db(must_exist=True), kind_tables(), moment, only_relevant=relevant)
    for k in tables:
        if as_json:
            echo_json_lines({"table": k, **fact} for fact in found[k])
            continue
        name = by_name(k).__kind__
        table = Table("first seen", name, "articles", "first article", title=f"new {name} since {moment[:16]}")
        for fact in found[k]:
            first = fact["articles"][0]
            table.add_row(fact["first_seen"][:16].replace("T", " "), Text(by_name(k).describe(fact)),
                          str(fact["mentions"]), Text(f"{first['title'] or ''}\n{first['url']}"))
        table_console().print(table if found[k] else f"no new {name} since {moment[:16]}")
