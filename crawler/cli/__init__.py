"""The `dxwatch` command line (typer): presentation only, one module per command group.

Each command parses its options, calls the library module that does the job and prints the result.
Imports of stage modules happen inside the commands so `dxwatch --help` stays fast. The command
modules are imported here in the order `dxwatch --help` lists them.
"""

from __future__ import annotations

import sys

# isort: off
from crawler.cli import crawl, export, demo, query, digest, schedule, sources  # noqa: F401  (registers, in help order)
# isort: on
from crawler.cli.common import app, err_console, state
from crawler.config import ConfigError

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point: config errors become one line and exit code 2, database faults one line and
    exit code 1, never a traceback."""
    import sqlite3

    from rich.markup import escape

    from crawler.db.faults import DatabaseFault, describe

    try:
        app()
    except ConfigError as exc:
        err_console.print(f"[bold red]config error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (DatabaseFault, sqlite3.Error) as exc:  # disk full, lock timeout, a damaged file: one line
        kind, line = describe(exc)
        err_console.print(f"[bold red]database error ({kind}):[/] {escape(f'{state.db_path}: {line}')}",
                          highlight=False, soft_wrap=True)
        sys.exit(1)
