"""One engine, many sources: each source's run row is finished when that source's crawl is done,
not when the whole engine ends, so `sources status` shows a fast portal's result while a slow one
is still being read."""

from __future__ import annotations

import threading

from helpers import (article_html, article_path, count, crawl, last_runs, listing_html, run_dxwatch, start_dxwatch,
                     wait_for, write_config)
from servers import Page, PortalServer


def test_fast_source_finished_while_slow_source_still_runs(tmp_path):
    release = threading.Event()

    def held(_request):  # the slow portal answers its article only when the test says so
        release.wait(timeout=90)
        return Page(article_html(9))

    fast_routes = {"/tin-tuc/": Page(listing_html([article_path(1), article_path(2)]))}
    fast_routes.update({article_path(i): Page(article_html(i)) for i in (1, 2)})
    slow_routes = {"/tin-tuc/": Page(listing_html([article_path(9)])), article_path(9): held}
    with PortalServer(fast_routes, host="127.0.0.31") as fast, PortalServer(slow_routes, host="127.0.0.32") as slow:
        config = write_config(tmp_path / "cfg", [{"name": "nhanh", "start_urls": [fast.url("/tin-tuc/")]},
                                                 {"name": "cham", "start_urls": [slow.url("/tin-tuc/")]}],
                              download_timeout=120, crawl_processes=1)
        db = tmp_path / "dxwatch.db"
        child = start_dxwatch(config, db, "crawl")
        try:
            wait_for(lambda: count(db, "SELECT count(*) FROM crawl_runs WHERE source = 'nhanh' "
                                       "AND status != 'running'") == 1, timeout=90)
            runs = last_runs(db)
            assert slow.requests_to(article_path(9)) == 1  # the engine is still waiting on the slow portal
            assert child.poll() is None
            assert runs["cham"]["status"] == "running" and runs["cham"]["finished"] is None
            assert runs["nhanh"]["status"] == "ok" and runs["nhanh"]["articles_new"] == 2
            assert runs["nhanh"]["finished"] is not None
            status = run_dxwatch(config, db, "sources", "status")
            line = {ln.split()[1]: ln for ln in status.stdout.splitlines() if len(ln.split()) > 1}
            assert "ok" in line["nhanh"] and "running" not in line["nhanh"], status.stdout
        finally:
            release.set()
            out, err = child.communicate(timeout=120)
        assert child.returncode == 0, out + err
        runs = last_runs(db)
        assert runs["cham"]["status"] == "ok" and runs["cham"]["articles_new"] == 1
        assert runs["nhanh"]["articles_new"] == 2  # finished once, with its own numbers, not overwritten

        again = crawl(config, db)  # the state saved at the early finish: the re-crawl asks no article
        assert again.returncode == 0, again.stdout + again.stderr
        assert fast.requests_to(article_path(1)) == 1 and fast.requests_to(article_path(2)) == 1
        assert last_runs(db)["nhanh"]["status"] == "ok"
