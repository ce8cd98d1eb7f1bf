"""What one crawl failed to fetch, the next crawl fetches, even where nothing would lead there
again: the rest of a pagination chain cut by a failing listing page (page 1 is unchanged next
time), and an article whose download failed before newer news pushed it off the pages read."""

from __future__ import annotations

from servers import Page
from helpers import article_html, article_path, crawl, listing_html, stored_urls, write_config


def broken_once(page: Page):
    calls = {"n": 0}

    def route(_request):
        calls["n"] += 1
        return Page("lỗi máy chủ", status=500) if calls["n"] <= 2 else page  # first request and its retry
    return route


def urls(portal, ids) -> list[str]:
    return sorted(portal.url(article_path(i)) for i in ids)


def test_pagination_cut_by_a_failing_listing_page_resumes_there(portal, tmp_path, db_path):
    portal.routes["/tin-tuc"] = Page(listing_html([article_path(i) for i in (0, 1)], "/tin-tuc?page=2"))
    portal.routes["/tin-tuc?page=2"] = broken_once(Page(listing_html([article_path(i) for i in (2, 3)])))
    for i in range(4):
        portal.routes[article_path(i)] = Page(article_html(i))
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [portal.url("/tin-tuc")]}], retry_times=1)

    crawl(cfg, db_path)
    assert sorted(stored_urls(db_path)) == urls(portal, (0, 1))
    crawl(cfg, db_path)  # page 1 is unchanged; page 2 is asked for directly
    assert sorted(stored_urls(db_path)) == urls(portal, range(4))
    del portal.log[:]
    crawl(cfg, db_path)  # nothing left to resume
    assert portal.requests_to("/tin-tuc?page=2") == 0


def test_an_article_that_failed_is_fetched_after_it_left_the_pages_read(portal, tmp_path, db_path):
    portal.routes["/tin-tuc"] = Page(listing_html([article_path(i) for i in (0, 1)]))
    for i in range(4):
        portal.routes[article_path(i)] = Page(article_html(i))
    portal.routes[article_path(1)] = broken_once(Page(article_html(1)))
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [portal.url("/tin-tuc")], "max_pages": 1}],
                       retry_times=1)

    crawl(cfg, db_path)
    assert stored_urls(db_path) == [portal.url(article_path(0))]
    portal.routes["/tin-tuc"] = Page(listing_html([article_path(i) for i in (2, 3)], "/tin-tuc?page=2"))
    crawl(cfg, db_path)
    assert sorted(stored_urls(db_path)) == urls(portal, range(4))
    del portal.log[:]
    crawl(cfg, db_path)
    assert portal.requests_to(article_path(1)) == 0
