"""Full-text search over stored titles and bodies (SQLite FTS5), diacritics-aware.

Each article is indexed twice in one contentless FTS5 table: as its matching key (NFC, lower-case,
tone placement unified: "hoà" = "hòa") and as that key with the diacritics removed ("chuyen doi
so"). A query part typed with diacritics matches the first copy, so "số" does not find "sở"; a
part typed without any matches the second, so "chuyen doi so" finds "chuyển đổi số". The text is
not stored a second time: snippets are cut from `articles.text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable

from crawler import timeutil
from crawler.db import fulltext
from crawler.textnorm import fold, match_key, normalize_text, tone_key

_WORD = re.compile(r"[^\W_]")  # a letter or digit: what the FTS tokenizer keeps


@dataclass(frozen=True)
class Phrase:
    """One comma-separated part of a query: its words must appear in this order, side by side."""

    text: str          # as it will be matched: the matching key, diacritics removed when typed without
    folded: bool       # typed without diacritics: match the diacritics-free copy


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


class BadMoment(ValueError):
    """A `since` or `until` value that is neither a duration nor a day. `param` names the argument
    refused, so each caller names it its own way (the CLI as its option: `--since takes ...`)."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


def parse_day(value: str | None, param: str = "until") -> str | None:
    """A YYYY-MM-DD value checked and returned as such (None passes through); BadMoment(param) otherwise."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise BadMoment(param, f"must be a date like 2025-10-31, not {value!r}") from None


def parse_since(value: str | None, param: str = "since") -> str | None:
    """A `since` value, as an ISO moment in +07:00: a duration back from now in the config's grammar
    ("36h", "7d", "2 weeks", "mỗi 6 giờ" aside) or a day ("2025-10-31", from 00:00); BadMoment(param)
    otherwise."""
    from crawler.config import parse_duration_seconds

    if value is None:
        return None
    try:
        return timeutil.ago(parse_duration_seconds(value))
    except ValueError:
        pass
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise BadMoment(param, f"takes a duration (36h, 7d, 2w, 7 days) or a day (2025-10-31), not {value!r}") from None
    return timeutil.iso(datetime(day.year, day.month, day.day, tzinfo=timeutil.VN))


def search(db, query: str, sources: Iterable[str] = (), since: str | None = None, until: str | None = None,
           limit: int = 20, newest: bool = False) -> list[dict[str, Any]]:
    """Articles matching every phrase of `query`, best first (or newest first), with a snippet.

    `since` (a duration or a day, `parse_since`) and `until` (YYYY-MM-DD, inclusive) apply to the
    publication day, or to the day dxwatch stored the article when the page gave none.
    """
    phrases = parse_query(query)
    since, until = parse_since(since), parse_day(until)
    since = since[:10] if since else None
    rows = fulltext.search_articles(db, [(p.text, p.folded) for p in phrases], list(sources), since, until,
                                    limit, newest)
    return [{**{k: v for k, v in row.items() if k != "text"}, "snippet": snippet(row["text"] or "", phrases)}
            for row in rows]


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
