"""Every `$ dxwatch ...` example of README.md and docs/ runs against the demo data and prints what the page shows.

The way sqlite-utils keeps its docs true with cog, done for console sessions: each ```text or
```console block is read as commands (`$ ...`) and their output. The commands run in document order
(README.md first, then the pages of DOC_ORDER) in a directory holding the demo's config, after a
real `dxwatch demo` run, with the demo portals still served. Output is compared after the volatile
parts are normalised: times, ports, message file names, column padding. A block that cannot run
here says why in an HTML comment right above it: `<!-- not run: REASON -->`.

`DXWATCH_UPDATE_DOCS=1 pytest tests/test_docs_examples.py` writes the actual outputs into the pages.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from crawler import demo
from crawler.config import load_config
from helpers import demo_config, demo_ports, dxwatch

REPO = Path(__file__).resolve().parents[1]
DOC_ORDER = ["README.md", "docs/configuration.md", "docs/how-it-works.md", "docs/database.md", "docs/operations.md"]
PROGRAMS = {"dxwatch", ".venv/bin/dxwatch"}
BLOCK = re.compile(r"(?:<!-- (?:not run: (?P<why>.+?)|(?P<unordered>lines in any order)) -->\n)?"
                   r"```(?:text|console)\n(?P<body>.*?)```", re.S)


@dataclass
class Example:
    page: str
    line: int
    command: str
    expected: str
    span: tuple[int, int]  # where `expected` sits in the page
    unordered: bool = False  # the output's order varies (the crawl's order): each line must be there


def examples(page: str) -> tuple[list[Example], list[str]]:
    """The page's runnable examples, and the commands of blocks that say why they are not run."""
    text = (REPO / page).read_text(encoding="utf-8")
    found, excused = [], []
    for block in BLOCK.finditer(text):
        body, start = block.group("body"), block.start("body")
        sessions = list(re.finditer(r"^\$ (.*)\n((?:(?!\$ ).*\n)*)", body, re.M))
        commands = [s for s in sessions if s.group(1).split()[0] in PROGRAMS]
        if block.group("why"):
            excused += [s.group(1) for s in commands]
            continue
        for s in commands:
            found.append(Example(page, text.count("\n", 0, start + s.start()) + 1, s.group(1), s.group(2),
                                 (start + s.start(2), start + s.end(2)), bool(block.group("unordered"))))
    return found, excused


def argv(command: str, ports: dict[str, str] | None = None) -> list[str]:
    """The command's arguments after `dxwatch`; the demo's documented ports become the ports it is served on."""
    served = {shipped: port for port, shipped in (ports or {}).items()}
    command = re.sub(r"(?<=127\.0\.0\.1:)\d+", lambda m: served.get(m.group(0), m.group(0)), command)
    words = shlex.split(command, comments=True)
    assert words[0] in PROGRAMS, command
    return words[1:]


VOLATILE = [  # what changes from run to run: the demo dates its articles relative to the day it runs
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)?"), "<time>"),
    (re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b"), "<day>"),
    (re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b"), "<day>"),
    (re.compile(r"\b\d{8}-\d{6}-\d{3}-[0-9a-f]{12}\.eml\b"), "<message>.eml"),
    (re.compile(r"-\d{18}\.htm\b"), "-<timestamp-id>.htm"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),  # tests serve the demo on free ports
    (re.compile(r"\btuần \d+(?:[–-]\d+)?/\d{4}"), "tuần <week>"),
    (re.compile(r"\b(?:pid|port) \d+"), "<number>"),
    (re.compile(r"next crawl useful in \d+[smhd]"), "next crawl useful in <duration>"),
    (re.compile(r"(?<=│ )\d+[smhd](?= +│ last run)"), "<duration>"),  # revisit, from the hour of the day
    # ids follow the order in which the crawl stored articles, which varies
    (re.compile(r'"(id|story|story_id|article_id)": \d+'), r'"\1": <id>'),
    (re.compile(r"^story \d+:"), "story <id>:"),
    (re.compile(r"^│ \d+(?= +│)"), "│ <id>"),
    # two manual sends within one second share a run (its key is the second), so numbers vary
    (re.compile(r"^│ #\d+(?= \S+ \()"), "│ #<run>"),
]


def normalise(output: str) -> list[str]:
    """Lines without what changes between runs: times, ports, file names; column padding collapsed."""
    lines = []
    for line in output.splitlines():
        for pattern, replacement in VOLATILE:
            line = pattern.sub(replacement, line)
        line = re.sub(r"([─━═]){2,}", r"\1", line)  # table rules: their width follows the widest cell
        line = re.sub(r" {2,}", " ", line).rstrip()
        if line:
            lines.append(line)
    return lines


def matches(documented: str, actual: str, unordered: bool = False) -> bool:
    """The documented lines, in order. The page may shorten the output: a line starting with `...` stands for any lines,
    and `...` inside a line for any text."""
    if unordered:
        wanted, have = Counter(line for line in normalise(documented) if not line.strip().startswith("...")), \
            Counter(normalise(actual))
        return not wanted - have
    pattern = []
    for line in normalise(documented):
        if line.strip().startswith("..."):
            pattern.append(r"(?:.*\n)*?")
        else:
            pattern.append(r".*?".join(re.escape(part) for part in line.split("...")) + r"\n")
    return re.fullmatch("".join(pattern), "".join(line + "\n" for line in normalise(actual))) is not None


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A directory like a checkout after `make demo`: config/ (ports moved to free ones), data/ filled."""
    root = tmp_path_factory.mktemp("docs")
    demo_config(root)
    (root / "tests").symlink_to(REPO / "tests")  # examples name files of the checkout
    result = dxwatch(*argv("dxwatch --config config --db data/dxwatch.db demo"), cwd=root, timeout=300, env=env())
    assert result.returncode == 0, result.stdout + result.stderr
    config = load_config(root / "config")
    anchor = date.fromisoformat((root / "data" / demo.ANCHOR_FILE).read_text().strip())
    with demo.serve_portals(config, anchor):
        yield root, result.stdout, demo_ports(root / "config")


def env() -> dict:
    return {"COLUMNS": "250", "NO_COLOR": "1", "DXWATCH_CONFIG": "config", "DXWATCH_DB": "data/dxwatch.db"}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_command_example_runs_and_prints_what_the_page_shows(workdir):
    root, demo_output, ports = workdir
    update = os.environ.get("DXWATCH_UPDATE_DOCS") == "1"
    failures, ran = [], 0
    for page in DOC_ORDER:
        found, _ = examples(page)
        rewritten = (REPO / page).read_text(encoding="utf-8")
        outputs = []
        for example in found:
            if example.command.split()[-1] == "demo" and "--serve" not in example.command:
                stdout = demo_output  # the fixture's own run: a second one would find nothing new
            else:
                result = dxwatch(*argv(example.command, ports), cwd=root, timeout=300, env=env())
                stdout = result.stdout + result.stderr
            ran += 1
            outputs.append(stdout)
            if not matches(example.expected, stdout, example.unordered):
                diff = difflib.unified_diff(normalise(example.expected), normalise(stdout), "page", "actual", lineterm="")
                failures.append(f"{example.page}:{example.line}: $ {example.command}\n" + "\n".join(diff))
        if update:
            for example, stdout in reversed(list(zip(found, outputs))):
                if matches(example.expected, stdout, example.unordered):
                    continue
                stdout = re.sub(r"(?<=127\.0\.0\.1:)\d+", lambda m: ports.get(m.group(0), m.group(0)), stdout)
                a, b = example.span
                rewritten = rewritten[:a] + stdout.rstrip("\n") + "\n" + rewritten[b:]
            (REPO / page).write_text(rewritten, encoding="utf-8")
    assert ran >= 10
    assert not failures or update, "\n\n".join(failures)


def test_every_command_example_is_run_or_says_why_not():
    """A console block of the docs either runs in the test above or carries `<!-- not run: REASON -->`."""
    pages = [p.relative_to(REPO).as_posix() for p in (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))]
    assert set(DOC_ORDER) <= set(pages)
    stray = [(page, e.command) for page in set(pages) - set(DOC_ORDER) for e in examples(page)[0]]
    assert not stray, f"examples on pages the runner does not read: {stray}"
