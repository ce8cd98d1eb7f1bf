"""Instant alerts: after each crawl, one email per (rule, recipient) with the new matching items.

An alert rule is a small digest: its own filters, the sections named in `items`, and a short
`max_age` so a new rule or recipient is not flooded with older items. It shares the outbox and
the ledger with digests under the name "alert:<rule>", so each item reaches each recipient of
a rule at most once, and an alert that could not be sent is retried on the next check.
"""

from __future__ import annotations

from crawler import timeutil
from crawler.config import Config
from crawler.db.deliveries import count_deliveries
from crawler.db.runs import delete_digest_run, start_digest_run
from digests import delivery
from digests.runner import as_db, queue_recipient, run_summary, send_outstanding
from pipelines.kinds import kinds

def item_sections() -> dict[str, tuple[str, ...]]:
    """The digest sections each `items:` value of a rule asks for: articles are stories, and each
    fact kind names the item that brings it (`directives`: the documents cited and instructions)."""
    sections: dict[str, tuple[str, ...]] = {"articles": ("stories",)}
    for kind in kinds():
        sections[kind.alert_item] = (*sections.get(kind.alert_item, ()), kind.digest_section)
    return sections


def ledger_name(rule_name: str) -> str:
    return f"alert:{rule_name}"


def run_alerts(config: Config, db) -> dict:
    """Check every alert rule now; returns `{rule: summary}` (rules with nothing to do are left out)."""
    db = as_db(db)
    rules = config.digests_file.alerts if config.digests_file else []
    results, unavailable = {}, None
    for rule in rules:
        name = ledger_name(rule.name)
        sections = tuple(dict.fromkeys(s for item in rule.items for s in item_sections()[item]))
        run = start_digest_run(db, name, "alert", timeutil.now().isoformat())  # microseconds: one run per check
        for recipient in rule.recipients:
            queue_recipient(config, db, run, ledger_name=name, title=rule.name, filters=[rule], recipient=recipient,
                            max_age=rule.max_age, only_relevant=rule.only_relevant, sections=sections,
                            alert_title=rule.title or f"Cảnh báo {rule.name}")
        queued = count_deliveries(db, run["id"])
        if not queued:  # nothing new: a check that found nothing leaves no run behind
            delete_digest_run(db, run["id"])
        tried: list[int] = []
        if unavailable:  # the server was unreachable for an earlier rule: do not wait on it again
            left = len(delivery.outstanding(db, name))
            sent = {"sent": 0, "failed": 0, "pending": left, "error": unavailable}
        else:  # this check's alerts and any earlier ones left pending
            sent, tried = send_outstanding(config, db, name)
            unavailable = sent["error"]
        if queued or any(sent[k] for k in ("sent", "failed", "pending")):
            results[rule.name] = run_summary(db, run, sent, tried) if queued else {"digest": name, **sent}
    return results
