"""The docs stay true: generated blocks match the code, links between pages resolve."""

from __future__ import annotations

import re

import pytest

from cogapp import Cog

from docs_sections import DOC_FILES, REPO

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`


def test_generated_blocks_match_the_code(capsys):
    """`make docs` (cog) regenerates the CLI reference from `--help`; a stale page fails here."""
    status = Cog().main(["cog", "--check", "--check-fail-msg=run `make docs`", *map(str, DOC_FILES)])
    assert status == 0, capsys.readouterr().out


def test_the_cli_reference_covers_every_command():
    import click
    import typer

    from crawler.cli import app

    def paths(group, prefix=()):
        for name, command in group.commands.items():
            yield (*prefix, name)
            if isinstance(command, click.Group):
                yield from paths(command, (*prefix, name))

    reference = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = [p for p in paths(typer.main.get_command(app)) if f"## `dxwatch {' '.join(p)}`" not in reference]
    assert not missing, f"docs/cli.md lacks: {missing}"


def test_links_between_pages_resolve():
    broken = []
    for path in DOC_FILES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            if "://" not in target and not (path.parent / target).exists():
                broken.append(f"{path.relative_to(REPO)} -> {target}")
    assert not broken, broken


def test_the_readme_is_short_and_keeps_its_two_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    quick_start = readme[readme.index("## Quick start"):].split("```")[1]
    assert [line.split()[:2] for line in quick_start.strip().splitlines()[1:]] == [["make", "demo"], ["make", "test"]]
