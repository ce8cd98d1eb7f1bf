"""A stage that does not import stops the crawl with one line, before anything is fetched: a crawl
without its facts stage would store articles without figures, never to be processed again."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlite_utils

from servers import Page
from helpers import REPO, article_html, article_path, crawl, listing_html, write_config

# a child `dxwatch` in which one module cannot be imported (sys.modules[name] = None: ImportError)
BROKEN = "import sys; sys.modules[{name!r}] = None; from crawler.cli import main; sys.argv = ['dxwatch', *sys.argv[1:]]; main()"


@pytest.mark.slow
def test_a_broken_pipeline_module_stops_the_crawl_with_one_line(portal, tmp_path, db_path):
    portal.routes["/tin-tuc"] = Page(listing_html([article_path(i) for i in range(3)]))
    for i in range(3):
        portal.routes[article_path(i)] = Page(article_html(i))
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [portal.url("/tin-tuc")]}])
    for module in ("pipelines.facts", "pipelines.attachments"):
        result = subprocess.run([sys.executable, "-c", BROKEN.format(name=module), "--config", str(cfg),
                                 "--db", str(db_path), "crawl"], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and module.split(".")[-1] in lines[0], result.stderr
        assert [r for r in portal.log if r.path != "/robots.txt"] == []
    assert crawl(cfg, db_path).returncode == 0  # the installation repaired: a normal crawl
    assert sqlite_utils.Database(db_path).execute("SELECT count(*) FROM articles").fetchone()[0] == 3
