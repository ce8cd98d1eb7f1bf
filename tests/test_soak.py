"""Soak variants (`make soak`): many crawl rounds against a portal that fails at random.

Invariants after every round: the database is intact, no article is stored twice; once the
faults stop, every article is stored exactly once.
"""

from __future__ import annotations

import random

import pytest
import sqlite_utils

from servers import Page
from helpers import article_html, article_path, crawl, listing_html, write_config

pytestmark = pytest.mark.soak

ARTICLES, PER_PAGE, ROUNDS = 120, 12, 8


def unreliable(page: Page, rng: random.Random, state: dict):
    def route(_request):
        if not state["faulty"]:
            return page
        roll = rng.random()
        if roll < 0.10:
            return Page("lỗi", status=500)
        if roll < 0.15:
            return Page("chậm lại", status=429, headers={"Retry-After": "1"})
        if roll < 0.22:
            return Page(page.body, reset_after=200)
        if roll < 0.25:
            return Page(page.body, drip=0.2)
        return page
    return route


def test_random_faults_over_many_rounds(portal, tmp_path, db_path):
    rng, state = random.Random(20261122), {"faulty": True}
    pages = [list(range(ARTICLES))[i: i + PER_PAGE] for i in range(0, ARTICLES, PER_PAGE)]
    for n, ids in enumerate(pages, start=1):
        path = "/tin-tuc" if n == 1 else f"/tin-tuc?page={n}"
        nxt = f"/tin-tuc?page={n + 1}" if n < len(pages) else None
        portal.routes[path] = unreliable(Page(listing_html([article_path(i) for i in ids], nxt)), rng, state)
    for i in range(ARTICLES):
        portal.routes[article_path(i)] = unreliable(Page(article_html(i)), rng, state)
    cfg = write_config(tmp_path / "cfg", [{"name": "chap-chon", "start_urls": [portal.url("/tin-tuc")],
                                           "max_pages": len(pages)}], download_timeout=2, retry_times=1)
    for round_ in range(ROUNDS + 1):
        state["faulty"] = round_ < ROUNDS
        crawl(cfg, db_path)
        db = sqlite_utils.Database(db_path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        urls = [r[0] for r in db.execute("SELECT url FROM articles")]
        assert len(urls) == len(set(urls))
    assert len(urls) == ARTICLES
