"""`dxwatch export` and `dxwatch extract`: stored articles out, and what extraction makes of a page."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from crawler.cli.common import app, state, usage_error
from crawler.config import ConfigError


def _open_output(out: Path, format: str):
    """The --out file, its folder created; a CSV starts with a BOM so Excel reads it as UTF-8."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return open(out, "w", encoding="utf-8-sig" if format == "csv" else "utf-8", newline="")
    except OSError as exc:
        raise usage_error(f"cannot write --out {out}: {exc.strerror or exc}") from None


@app.command()
def export(
    format: str = typer.Option("jsonl", "--format", help="jsonl or csv."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output file, its folder created if missing (default: "
                                       "standard output); a CSV file starts with a BOM for Excel."),
) -> None:
    """Every stored article with its figures and directives (JSON Lines or CSV)."""
    from crawler.export import FORMATS, write_export

    if format not in FORMATS:
        raise typer.BadParameter("use jsonl or csv", param_hint="--format")
    db = state.db(must_exist=True)
    if out is None:
        write_export(db, sys.stdout, format)
        return
    with _open_output(out, format) as handle:
        write_export(db, handle, format)


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
        config = state.config()
        try:
            selectors = config.source(source).selectors
        except ConfigError:
            raise typer.BadParameter(f"no source named {source!r}", param_hint="--source") from None
    failed = False
    for row in extract_inputs(inputs, selectors, page_url=url):
        failed |= "error" in row
        typer.echo(json.dumps(row, ensure_ascii=False))
    raise typer.Exit(1 if failed else 0)
