"""What every command group shares: the typer apps, the consoles, the global options and output helpers.

Command modules register their commands on these apps; `crawler.cli` imports them in help order.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich import table as rich_table
from typer import core as typer_core
from rich.console import Console
from rich.text import Text

from crawler.config import Config, load_config

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
    db_target: str = "data/dxwatch.db"  # a file path (SQLite) or a postgresql:// URL

    def config(self, need_digests: bool = False) -> Config:
        return load_config(self.config_dir, need_digests=need_digests)

    def db(self, must_exist: bool = False):
        """The database; `must_exist` for commands that only read it: a mistyped --db is an error,
        not a new empty database that reports every source NOT CRAWLED."""
        from crawler.db import open_db
        from crawler.db.dialect import exists, shown

        if must_exist and not exists(self.db_target):
            raise usage_error(f"no database at {shown(self.db_target)}: run `dxwatch crawl` first, or point --db "
                              "(or DXWATCH_DB) at the database file")
        return open_db(self.db_target)

    @property
    def data_dir(self) -> Path:
        """The folder for files that go with the database (logs, lock, digest archives)."""
        from crawler.db.dialect import local_folder

        return local_folder(self.db_target)


state = State()


def echo_json_lines(rows) -> None:
    """`--json` output: one JSON object per line, Vietnamese kept readable."""
    for row in rows:
        typer.echo(json.dumps(row, ensure_ascii=False))


def usage_error(exc: Exception | str) -> typer.Exit:
    """A bad option value the command itself found: one line on stderr, exit code 2. A library
    error that names the argument it refused (`exc.param`, as crawler.search.BadMoment) is shown
    under the option of that name: "--since takes a duration ..."."""
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    param = getattr(exc, "param", None)
    if param:
        text = f"--{param.replace('_', '-')} {text}"
    err_console.print(f"error: {text}", highlight=False, markup=False)
    return typer.Exit(2)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"dxwatch {version('dxwatch')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            typer.echo("dxwatch (not installed)")
        raise typer.Exit()


@app.callback()
def _global(
    config: Path = typer.Option(Path("config"), "--config", envvar="DXWATCH_CONFIG", show_envvar=True,
                                metavar="DIR", help="Config folder with sources.yaml and digests.yaml (or one of "
                                "those files)."),
    db: str = typer.Option("data/dxwatch.db", "--db", envvar="DXWATCH_DB", show_envvar=True, metavar="FILE|URL",
                           help="SQLite database file, or a PostgreSQL URL (postgresql://user@host/dbname)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    state.config_dir, state.db_target = config, db


_PLAIN_TYPES = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "path": "PATH", "file": "FILE",
                "directory": "DIR", "bool": None}


def _plain_type(self, ctx) -> str | None:
    """What `--help` prints after an option: click's plain word (TEXT, INTEGER, PATH, the choices),
    nothing for a flag. Typer prints its internal annotation instead (`<list[str]>`, `<bool>`), which
    means nothing to an admin; this replaces its method for every option and argument.

    Why a replaced method: typer (0.29) has no setting for it. A `metavar=` fixes one option at a
    time (each new option would need it) and cannot reach typer's own `--help` flag, which would
    still print `<bool>`. tests/test_cli_plain.py fails if a typer release renames the method."""
    if getattr(self, "is_flag", False):
        return None
    if self.metavar is not None:
        return None if isinstance(self, typer_core.TyperArgument) else self.metavar  # an argument shows its name
    label = self.display_type(ctx).strip("<>")
    inner = (label[5:-1] if label.startswith("list[") else label).removesuffix(" range")
    return _PLAIN_TYPES.get(inner, inner.upper() if "|" not in inner else inner)


typer_core.TyperOption.display_type_rich = _plain_type
typer_core.TyperArgument.display_type_rich = _plain_type


class Table(rich_table.Table):
    """Rich's table with every str cell taken as plain text, never markup: a portal title
    "[minh họa] Lai Châu", a URL or an error message keeps its square brackets."""

    def add_row(self, *cells, **kwargs) -> None:
        super().add_row(*(Text(c) if isinstance(c, str) else c for c in cells), **kwargs)


def labelled(label: str, style: str, message: object) -> Text:
    """"label message" with a coloured label and the message as plain text (brackets kept)."""
    return Text.assemble((label, style), " ", str(message))


def table_console() -> Console:
    """The terminal console, or one wide enough that piped tables keep whole URLs on one line."""
    return console if console.is_terminal else Console(width=1000)


def short_time(iso: str | None, planned: bool = False) -> str:
    if not iso:
        return "-"
    return iso[:19].replace("T", " ") + (" *" if planned else "")
