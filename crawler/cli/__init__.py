"""The `dxwatch` command line (typer): presentation only, one module per command group.

Each command parses its options, calls the library module that does the job and prints the result.
Imports of stage modules happen inside the commands so `dxwatch --help` stays fast. The command
modules are imported here in the order `dxwatch --help` lists them.
"""

from __future__ import annotations

import sys

# isort: off
from crawler.cli import crawl, export, demo, query, digest, schedule, worker, sources  # noqa: F401  (registers, in help order)
# isort: on
from crawler.cli.common import app, err_console, labelled, state
from crawler.config import ConfigError

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point: config errors become one line each and exit code 2, database faults one line
    and exit code 1, never a traceback."""
    from crawler.db import database_errors
    from crawler.db.dialect import shown
    from crawler.db.faults import DatabaseFault, describe
    from crawler.logs import setup_cli_logging
    from crawler.settings import BrokenModule

    setup_cli_logging()
    try:
        app()
    except ConfigError as exc:
        for problem in exc.problems:  # Text, not markup: "[a-z]" in a message is kept as written
            err_console.print(labelled("config error:", "bold red", problem), soft_wrap=True)
        sys.exit(2)
    except (DatabaseFault, *database_errors()) as exc:  # disk full, lock timeout, a damaged file: one line
        kind, line = describe(exc)
        err_console.print(labelled(f"database error ({kind}):", "bold red", f"{shown(state.db_target)}: {line}"),
                          soft_wrap=True)
        sys.exit(1)
    except BrokenModule as exc:  # a stage of the crawl does not import: never crawl without it
        err_console.print(labelled("error:", "bold red", str(exc)), soft_wrap=True)
        sys.exit(1)
