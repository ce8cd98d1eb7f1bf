"""A sitemap index that chains to endless new sitemaps is cut at a bounded depth and recorded as an
error; the crawl finishes instead of running into its time limit every time."""

from __future__ import annotations

import json

from servers import Page
from helpers import article_html, article_path, crawl, last_runs, write_config


def index(n: int, portal) -> str:
    return ("<?xml version='1.0' encoding='UTF-8'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
            f"<sitemap><loc>{portal.url(f'/sm/{n + 1}.xml')}</loc></sitemap>"
            f"<sitemap><loc>{portal.url(f'/bai/{n}.xml')}</loc></sitemap></sitemapindex>")


def urlset(n: int, portal) -> str:
    return ("<?xml version='1.0' encoding='UTF-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
            f"<url><loc>{portal.url(article_path(n))}</loc></url></urlset>")


def test_an_endless_sitemap_index_chain_is_cut_and_recorded(portal, tmp_path, db_path):
    for n in range(60):
        portal.routes[f"/sm/{n}.xml"] = Page(index(n, portal), content_type="application/xml")
        portal.routes[f"/bai/{n}.xml"] = Page(urlset(n, portal), content_type="application/xml")
        portal.routes[article_path(n)] = Page(article_html(n))
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "sitemaps": [portal.url("/sm/0.xml")]}])
    assert crawl(cfg, db_path).returncode == 0
    run = last_runs(db_path)["tinh"]
    assert run["status"] == "ok"
    assert json.loads(run["errors"]).get("sitemap_chain_cut") == 1
    read = [r.path for r in portal.log if r.path.startswith("/sm/")]
    assert 3 <= len(read) <= 6 and len(read) == len(set(read))  # a few levels, each once
    assert 0 < run["articles_new"] <= 6
