"""The architecture, checked: no import cycles between our modules, and no SQL outside `crawler/db/`.

Both are read from the source with `ast` (nothing is imported), at module level and inside
functions alike: a late import inside a function hides a cycle from Python, not from this test.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "spiders", "pipelines", "scheduler", "digests")
DATA_PACKAGE = "crawler.db"

# Calls that talk to the database (sqlite3 and sqlite-utils), and SQL text in string literals.
SQL_METHODS = {"execute", "executemany", "executescript", "query", "commit", "rollback"}
SQL_TEXT = re.compile(r"^\s*(SELECT\s.*\sFROM\s|INSERT\s+(OR\s+\w+\s+)?INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|"
                      r"(CREATE|DROP)\s+(TABLE|INDEX|UNIQUE|VIRTUAL|TRIGGER|VIEW)\s|ALTER\s+TABLE\s|PRAGMA\s|BEGIN\b)",
                      re.I | re.S)


def modules() -> dict[str, Path]:
    """Dotted name -> file of every module of our packages (a package is its __init__)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Our modules that `name` imports anywhere in its file (`from a import b` counts a.b when
    that is a module, else a)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                out.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in out if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def sql_sites(path: Path) -> list[str]:
    """`line: what` for every database call or SQL literal in a file."""
    sites = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_METHODS:
            sites.append(f"{node.lineno}: .{node.func.attr}(")
        elif isinstance(node, ast.Subscript) and isinstance(node.value, (ast.Name, ast.Attribute)) \
                and (getattr(node.value, "id", None) or getattr(node.value, "attr", None)) == "db":
            sites.append(f"{node.lineno}: db[...]")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.match(node.value):
            sites.append(f"{node.lineno}: {node.value.strip()[:40]!r}")
    return sorted(sites, key=lambda site: int(site.split(":")[0]))


def test_the_graph_walker_sees_function_level_and_relative_imports(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("def f():\n    from pkg import b\n")
    (tmp_path / "pkg" / "b.py").write_text("from . import a\nimport pkg.c\n")
    (tmp_path / "pkg" / "c.py").write_text("from .a import f\n")
    known = {"pkg", "pkg.a", "pkg.b", "pkg.c"}
    graph = {m: imports(m, tmp_path / (m.replace(".", "/") + ("/__init__.py" if m == "pkg" else ".py")), known)
             for m in known}
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.a", "pkg.c"} and graph["pkg.c"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_our_modules_import_each_other_without_cycles():
    found = cycles(import_graph())
    assert not found, f"import cycles: {found}"


def test_no_sql_is_issued_outside_the_data_package():
    outside = {}
    for name, path in modules().items():
        if name == DATA_PACKAGE or name.startswith(DATA_PACKAGE + "."):
            continue
        if sites := sql_sites(path):
            outside[name] = sites
    assert not outside, f"SQL outside {DATA_PACKAGE}: {outside}"


def test_every_transaction_goes_through_write_transaction():
    """`with db.conn` commits whatever sqlite-utils left open and begins lazily (no write lock
    before the first read): every write transaction is `crawler.db.write_transaction` instead."""
    sites = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.With, ast.AsyncWith)):
                sites += [f"{name}:{node.lineno}" for item in node.items
                          if isinstance(item.context_expr, ast.Attribute) and item.context_expr.attr in ("conn", "_conn")]
    assert not sites, f"`with <connection>` transactions: {sites}"


def test_the_sql_finder_sees_calls_subscripts_and_literals(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('def f(db):\n    db.execute("x")\n    db["articles"].insert({})\n    s = "SELECT a FROM b"\n'
                    '    t = "Drop a paragraph; select the best; update the plan"\n')
    assert sql_sites(path) == ["2: .execute(", "3: db[...]", "4: 'SELECT a FROM b'"]


# Who may import the spiders: the orchestration that starts a crawl, the CLI and the demo, and the
# config loader for the presets (data shipped beside the spiders). Pipelines, digests, the
# scheduler and the data layer sit below or beside the spiders and never reach into them.
MAY_IMPORT_SPIDERS = ("spiders", "crawler.crawl", "crawler.config", "crawler.cli", "crawler.demo")


def test_only_the_orchestration_imports_the_spiders():
    graph = import_graph()
    inverted = sorted(f"{name} -> {target}" for name, targets in graph.items() for target in targets
                      if (target == "spiders" or target.startswith("spiders."))
                      and not any(name == allowed or name.startswith(allowed + ".") for allowed in MAY_IMPORT_SPIDERS))
    assert not inverted, f"layering inversions: {inverted}"
