"""Source health for admins: an OK / STALE / BROKEN verdict per source from its crawl runs.

BROKEN: the last run failed (nothing answered), or it read listing pages but got no article from
them (the portal's layout changed). STALE: no new article for `stale_after_days`. A verdict
always comes with the reason, so the admin knows what to look at. The revisit interval adapts a
source's crawl frequency to how often it publishes, never more often than its schedule.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from crawler import timeutil
from crawler.config import Config, Source, parse_schedule
from crawler.db.articles import newest_article_seen, source_articles_since
from crawler.db.runs import crawl_running, last_crawl_run

OK, STALE, BROKEN, NEVER, DISABLED = "OK", "STALE", "BROKEN", "NOT CRAWLED", "DISABLED"
INCOMPLETE = "INCOMPLETE"  # the last run was interrupted: what it did not get to is owed to the next one


def verdict(source: Source, last: dict | None, last_ok: dict | None, newest_article: str | None,
            now: datetime) -> tuple[str, str]:
    """`(verdict, reason)` for one source from its last finished run, last good run and newest article."""
    if last is None:
        return (DISABLED, "disabled in sources.yaml") if not source.enabled else (NEVER, "no crawl recorded yet")
    errors = json.loads(last["errors"] or "{}")
    found = last["articles_new"] + last["articles_known"]
    if last["status"] == "failed":
        return BROKEN, f"last run failed: {last['last_error'] or ', '.join(errors) or 'no entry point answered'}"
    if last["status"] == "interrupted":
        why = f" ({last['last_error']})" if last["last_error"] else ""
        return INCOMPLETE, f"last run was interrupted{why}; the next crawl resumes where it stopped"
    if last["listing_pages"] and not found:
        if (last["last_error"] or "").startswith("unverified_listing"):
            return BROKEN, last["last_error"].removeprefix("unverified_listing: ")
        if last["articles_rejected"]:
            return BROKEN, (f"{last['articles_rejected']} pages taken as articles were rejected by extraction "
                            "and none stored: the article layout changed?")
        return BROKEN, ("listing pages were read but held no article links (no list of headlines: the layout changed?); "
                        "set `article_pattern` (a regex for the source's article URLs) in sources.yaml")
    stale_after = timedelta(days=source.stale_after_days)
    since = newest_article or (last_ok or {}).get("started")
    if since and now - timeutil.parse_iso(since) > stale_after:
        return STALE, f"no new article since {since[:10]} (stale_after_days: {source.stale_after_days})"
    if last_ok and now - timeutil.parse_iso(last_ok["finished"] or last_ok["started"]) > stale_after:
        return STALE, f"no successful crawl since {last_ok['started'][:10]}"
    return OK, "last run ok" + (f" with errors: {', '.join(f'{k} {v}' for k, v in errors.items())}" if errors else "")


# ---------------------------------------------------------------- revisit intervals

RHYTHM_WINDOW = timedelta(days=60)
MIN_ARTICLES_FOR_RHYTHM = 3
MAX_REVISIT = timedelta(days=1)  # however quiet a portal is, look at least daily (unless configured rarer)
VISITS_PER_ARTICLE = 4           # poll about four times per typical gap between two articles


def revisit_interval(db, source: Source, now: datetime | None = None) -> tuple[int, str]:
    """`(seconds, why)` worth waiting between crawls of `source`.

    The configured schedule is the most frequent it is ever crawled; a source that publishes
    rarely (from its articles' dates over the last 60 days) is visited less often, up to daily.
    Cron schedules are kept as they are.
    """
    kind, value = parse_schedule(source.effective_schedule)
    if kind != "interval":
        return 0, "cron schedule: crawled as scheduled"
    now = now or timeutil.now()
    since = timeutil.iso(now - RHYTHM_WINDOW)
    count, oldest = source_articles_since(db, source.name, since)
    if count < MIN_ARTICLES_FOR_RHYTHM:
        return value, f"configured ({source.effective_schedule}); too few articles to learn a rhythm"
    gap = (now - timeutil.parse_iso(oldest)).total_seconds() / count
    adaptive = min(gap / VISITS_PER_ARTICLE, MAX_REVISIT.total_seconds())
    if adaptive <= value:
        return value, f"configured ({source.effective_schedule})"
    return int(adaptive), f"publishes about every {_human(gap)} ({count} articles in 60 days)"


def crawl_due(db, source: Source, now: datetime | None = None) -> tuple[bool, str]:
    """Whether a scheduled crawl of `source` is worth running now, given its revisit interval."""
    now = now or timeutil.now()
    seconds, why = revisit_interval(db, source, now)
    last = last_crawl_run(db, source.name, "ok")
    if not seconds or last is None:
        return True, why
    waited = (now - timeutil.parse_iso(last["started"])).total_seconds()
    if waited >= seconds * 0.95:  # a scheduler tick a little early still counts
        return True, why
    return False, f"next crawl useful in {_human(seconds - waited)}: {why}"


def split_due(db, sources: list[Source], now: datetime | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """`crawl --if-due`: the names of the sources worth crawling now, and (name, why not) for the others."""
    due, skipped = [], []
    for source in sources:
        ok, why = crawl_due(db, source, now)
        if ok:
            due.append(source.name)
        else:
            skipped.append((source.name, why))
    return due, skipped


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def source_status(db, config: Config, now: datetime | None = None) -> list[dict]:
    """One row per configured source: verdict, reason, last success and the last run's numbers."""
    from crawler.frontier import owed_counts

    now = now or timeutil.now()
    owed = owed_counts(db)
    rows = []
    for source in config.sources:
        last = last_crawl_run(db, source.name)
        last_ok = last_crawl_run(db, source.name, "ok")
        running = crawl_running(db, source.name)
        newest_article = newest_article_seen(db, source.name)
        state, reason = verdict(source, last, last_ok, newest_article, now)
        if not source.enabled and last is not None:
            state, reason = DISABLED, f"disabled in sources.yaml (was {state})"
        if owed.get(source.name):
            reason += f"; {owed[source.name]} articles owed from the last crawl"
        revisit, revisit_why = revisit_interval(db, source, now)
        rows.append({
            "source": source.name, "verdict": state, "reason": reason, "running": bool(running),
            "revisit": _human(revisit) if revisit else "cron", "revisit_reason": revisit_why,
            "last_success": last_ok["finished"] if last_ok else None,
            "last_run": last["started"] if last else None,
            "newest_article": newest_article, "owed": owed.get(source.name, 0),
            **{k: (last or {}).get(k) for k in ("status", "pages", "listing_pages", "articles_new",
                                                 "articles_known", "articles_rejected", "last_error")},
            "errors": json.loads((last or {}).get("errors") or "{}"),
        })
    return rows
