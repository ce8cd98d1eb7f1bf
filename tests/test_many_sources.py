"""Many sources in one crawl: one Scrapy engine (or one per core) for all of them, under a low
`ulimit -n`, each source with its own `crawl_runs` row, a failing source stopping no other."""

from __future__ import annotations

import contextlib
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils

from servers import Page, PortalServer
from helpers import article_html, article_path, last_runs, listing_html, write_config

PORTALS = 60
PER_PORTAL = 3
FD_LIMIT = 256  # far below what one Scrapy crawler per source needed (9 descriptors each)
pytestmark = pytest.mark.slow


def host(i: int) -> str:
    return f"127.77.{i // 250}.{i % 250 + 1}"


@pytest.fixture
def portals():
    """PORTALS portals, each on its own loopback address, with PER_PORTAL articles on a listing page."""
    with contextlib.ExitStack() as stack:
        servers = []
        for i in range(PORTALS):
            ids = [i * PER_PORTAL + k for k in range(PER_PORTAL)]
            routes = {"/tin-tuc/": Page(listing_html([article_path(n) for n in ids]))}
            routes.update({article_path(n): Page(article_html(n)) for n in ids})
            servers.append(stack.enter_context(PortalServer(routes, host=host(i))))
        yield servers


def limited_crawl(config: Path, db: Path) -> subprocess.CompletedProcess:
    """`dxwatch crawl` in a child whose soft limit on open files is FD_LIMIT."""
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    result = subprocess.run([sys.executable, "-m", "crawler", "--config", str(config), "--db", str(db), "crawl"],
                            capture_output=True, text=True, timeout=900, preexec_fn=limit,
                            cwd=Path(__file__).resolve().parents[1])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result


def national_config(directory: Path, portals, processes: int, broken: bool = True) -> Path:
    sources = [{"name": f"xa-{i:02d}", "start_urls": [p.url("/tin-tuc/")]} for i, p in enumerate(portals)]
    if broken:  # nothing listens on this address: connection refused, for this source only
        sources.append({"name": "xa-mat-ket-noi", "start_urls": [f"http://{host(PORTALS + 5)}:{portals[0].port}/tin-tuc/"]})
    return write_config(directory, sources, crawl_processes=processes, concurrent_requests=16)


@pytest.mark.parametrize("processes", [1, 2])
def test_many_sources_one_crawl(portals, tmp_path, processes):
    config, db = national_config(tmp_path / "cfg", portals, processes), tmp_path / "dxwatch.db"
    result = limited_crawl(config, db)
    assert result.returncode == 1, result.stdout + result.stderr  # exit code 1: one source failed

    rows = list(sqlite_utils.Database(db).query("SELECT source, url FROM articles"))
    assert len(rows) == PORTALS * PER_PORTAL
    expected = {(f"xa-{i:02d}", p.url(article_path(i * PER_PORTAL + k)))
                for i, p in enumerate(portals) for k in range(PER_PORTAL)}
    assert {(r["source"], r["url"]) for r in rows} == expected
    runs = last_runs(db)
    assert len(runs) == PORTALS + 1
    assert all(runs[f"xa-{i:02d}"]["status"] == "ok" and runs[f"xa-{i:02d}"]["articles_new"] == PER_PORTAL
               for i in range(PORTALS))
    assert runs["xa-mat-ket-noi"]["status"] == "failed"
    assert "connection_refused" in runs["xa-mat-ket-noi"]["errors"]
    assert len({r["id"] for r in runs.values()}) == PORTALS + 1  # a row of its own for each source
    assert "xa-mat-ket-noi" in result.stdout and "failed" in result.stdout


def test_recrawl_of_many_unchanged_sources_asks_only_listing_pages(portals, tmp_path):
    config, db = national_config(tmp_path / "cfg", portals, processes=2, broken=False), tmp_path / "dxwatch.db"
    assert limited_crawl(config, db).returncode == 0
    for portal in portals:
        portal.log.clear()
    again = limited_crawl(config, db)
    assert again.returncode == 0, again.stdout + again.stderr
    asked = {r.path for p in portals for r in p.log}
    assert asked == {"/robots.txt", "/tin-tuc/"}
    assert all(p.requests_to("/tin-tuc/") == 1 for p in portals)
    runs = last_runs(db)
    assert all(r["status"] == "ok" and r["articles_new"] == 0 for r in runs.values())
    assert sqlite_utils.Database(db)["articles"].count == PORTALS * PER_PORTAL
