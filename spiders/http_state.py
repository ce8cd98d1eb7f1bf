"""What listing pages, feeds and sitemaps said last time, backed by the `http_state` table.

The validators sent with the next request, and what a 304 means, are the conditional-request
middleware's business (spiders/conditional.py); this module records what a 200 says. A page
counts as unchanged on a 304, or on a 200 whose content hash (of the links we act on, not
of the whole page with its visitor counter) equals the stored one. Updates are held until the run
ends cleanly: a crawl that was interrupted must see the same pages as changed next time, or the
pages it did not get to would be lost (what the pages read listed is owed in crawler/frontier.py). Article pages that held
no article are remembered here too, so that listing pages full of them do not cost a fetch each time.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Iterable

from crawler import timeutil
from crawler.db import http_state as store
from spiders.conditional import response_validators

# A page extraction rejected (no article on it) is not fetched again for this long.
REJECTED = "rejected"
REJECTED_RECHECK = timedelta(days=30)


def links_hash(urls: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(urls))).encode("utf-8")).hexdigest()


class HttpState:
    def __init__(self, db, source: str):
        self.db, self.source = db, source
        self.pending: dict[str, dict] = {}

    def row(self, url: str) -> dict | None:
        if self.db is None:
            return None
        return store.http_state_row(self.db, url)

    def unchanged(self, url: str, response, content_hash: str) -> bool:
        """Record what this 200 response to a request for `url` says; True when its content hash is the stored one."""
        row = self.row(url) or {}
        validators = response_validators(response)
        etag = validators["etag"]
        same_hash = row.get("content_hash") == content_hash
        unreliable = bool(row.get("validators_unreliable"))
        if etag and etag == row.get("etag") and row.get("content_hash") and not same_hash:
            unreliable = True  # same ETag, different content: never trust this URL's validators again
        self.pending[url] = {
            "url": url, "source": self.source, "etag": etag,
            "last_modified": validators["last_modified"], "content_hash": content_hash,
            "checked_at": timeutil.iso(), "lastmod": self.pending.get(url, row).get("lastmod"),
            "validators_unreliable": int(unreliable),
        }
        return same_hash

    def stored_lastmod(self, url: str) -> str | None:
        row = self.row(url)
        return row["lastmod"] if row else None

    def remember_lastmod(self, url: str, lastmod: str) -> None:
        entry = self.pending.setdefault(url, self.row(url) or {"url": url, "source": self.source,
                                                                 "validators_unreliable": 0})
        entry["lastmod"] = lastmod

    def remember_rejected(self, url: str, now: bool = False) -> None:
        """An article URL whose page holds no article (extraction rejected it, or it is gone: 404/410).
        Kept like a listing page's state, or written `now` when the run may not end cleanly."""
        self.pending[url] = {"url": url, "source": self.source, "etag": None, "last_modified": None,
                             "content_hash": REJECTED, "checked_at": timeutil.iso(), "lastmod": None,
                             "validators_unreliable": 0}
        if now and self.db is not None:
            store.save_http_states(self.db, [self.pending.pop(url)])

    def recently_rejected(self, urls: list[str]) -> set[str]:
        """Which of these URLs were rejected by extraction within REJECTED_RECHECK (asked again after)."""
        if self.db is None or not urls:
            return set()
        return store.urls_marked_since(self.db, REJECTED, timeutil.iso(timeutil.now() - REJECTED_RECHECK), urls)

    def save(self) -> int:
        if self.db is None or not self.pending:
            return 0
        store.save_http_states(self.db, list(self.pending.values()))
        return len(self.pending)
