"""Full-text search over stored titles and bodies (SQLite FTS5), diacritics-aware.

Each article is indexed twice in one contentless FTS5 table: as its matching key (NFC, lower-case,
tone placement unified: "hoà" = "hòa") and as that key with the diacritics removed ("chuyen doi
so"). A query part typed with diacritics matches the first copy, so "số" does not find "sở"; a
part typed without any matches the second, so "chuyen doi so" finds "chuyển đổi số". The text is
not stored a second time: snippets are cut from `articles.text`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from crawler.textnorm import match_key, normalize_text, tone_key

TITLE_WEIGHT = 4.0  # bm25 weight of a title hit against a body hit
_WORD = re.compile(r"[^\W_]")  # a letter or digit: what the FTS tokenizer keeps
_COMBINING = re.compile("[\u0300-\u036f]")


def fold(text: str) -> str:
    """Vietnamese without diacritics ("chuyển đổi số" -> "chuyen doi so"), one character per character.

    Same result as textnorm.strip_diacritics on Vietnamese, with the marks removed by one regex
    instead of a per-character loop: it runs on every stored body.
    """
    return _COMBINING.sub("", unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D")))


@dataclass(frozen=True)
class Phrase:
    """One comma-separated part of a query: its words must appear in this order, side by side."""

    text: str          # as it will be matched: the matching key, diacritics removed when typed without
    folded: bool       # typed without diacritics: match the diacritics-free copy

    def fts(self) -> str:
        columns = "{title_folded body_folded}" if self.folded else "{title body}"
        return f'{columns} : "{self.text.replace(chr(34), chr(34) * 2)}"'


def parse_query(query: str) -> list[Phrase]:
    """Split a query at commas into phrases; every phrase must match. Raises ValueError when empty."""
    phrases = []
    for part in query.split(","):
        key = match_key(part).strip()
        if not _WORD.search(key):
            continue
        folded = fold(key)
        phrases.append(Phrase(folded, True) if folded == key else Phrase(key, False))
    if not phrases:
        raise ValueError("the query has no words to search for")
    return phrases


def index_article(db, article_id: int, title: str | None, text: str | None) -> None:
    """Add one article to the index (the store calls it inside the article's transaction)."""
    title_key, body_key = match_key(title or ""), match_key(text or "")
    db.execute("INSERT INTO articles_fts (rowid, title, body, title_folded, body_folded) VALUES (?, ?, ?, ?, ?)",
               [article_id, title_key, body_key, fold(title_key), fold(body_key)])


def index_missing(db) -> int:
    """Index articles stored before the index existed (or written by other tools); returns how many."""
    last = db.execute("SELECT rowid FROM articles_fts ORDER BY rowid DESC LIMIT 1").fetchone()
    rows = db.execute("SELECT id, title, text FROM articles WHERE id > ? ORDER BY id",
                      [last[0] if last else 0]).fetchall()
    with db.conn:
        for article_id, title, text in rows:
            index_article(db, article_id, title, text)
    return len(rows)


def parse_day(value: str | None, name: str) -> str | None:
    """A YYYY-MM-DD option checked and returned as such (None passes through)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"{name} must be a date like 2025-10-31, not {value!r}") from None


def search(db, query: str, sources: Iterable[str] = (), since: str | None = None, until: str | None = None,
           limit: int = 20, newest: bool = False) -> list[dict[str, Any]]:
    """Articles matching every phrase of `query`, best first (or newest first), with a snippet.

    `since`/`until` (YYYY-MM-DD, inclusive) apply to the publication date, or to the day dxwatch
    stored the article when the page gave none.
    """
    phrases = parse_query(query)
    since, until = parse_day(since, "--since"), parse_day(until, "--until")
    index_missing(db)
    sources = list(sources)
    day = "substr(COALESCE(a.published, a.first_seen), 1, 10)"
    where = ["articles_fts MATCH ?"]
    params: list[Any] = [" AND ".join(p.fts() for p in phrases)]
    if sources:
        where.append(f"a.source IN ({','.join('?' * len(sources))})")
        params += sources
    if since:
        where.append(f"{day} >= ?")
        params.append(since)
    if until:
        where.append(f"{day} <= ?")
        params.append(until)
    order = f"{day} DESC, a.id DESC" if newest else "score, a.id DESC"
    rows = db.execute(
        f"SELECT a.id, a.source, a.level, a.province, a.url, a.title, a.published, a.first_seen, a.story_id, "
        f"a.text, bm25(articles_fts, {TITLE_WEIGHT}, 1.0, {TITLE_WEIGHT}, 1.0) AS score "
        f"FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?", [*params, limit]).fetchall()
    return [
        {"id": r[0], "source": r[1], "level": r[2], "province": r[3], "url": r[4], "title": r[5],
         "published": r[6], "first_seen": r[7], "story": r[8], "snippet": snippet(r[9] or "", phrases)}
        for r in rows
    ]


def snippet(text: str, phrases: list[Phrase], width: int = 200) -> str:
    """About `width` characters of the body around the first phrase found (the start when none is)."""
    text = normalize_text(text).replace("\n\n", " ")
    key = tone_key(text.lower())
    folded = fold(key)
    start = 0
    if len(key) == len(text) == len(folded):  # the keys keep character positions: find the phrase
        hits = [(folded if p.folded else key).find(p.text) for p in phrases]
        start = min((h for h in hits if h >= 0), default=0)
    begin = max(0, start - width // 3)
    if begin:
        begin = text.find(" ", begin) + 1 or begin
    end = min(len(text), begin + width)
    if end < len(text):
        end = text.rfind(" ", begin, end) if text.rfind(" ", begin, end) > begin else end
    return ("…" if begin else "") + text[begin:end].strip() + ("…" if end < len(text) else "")
