"""Digest runs: preview one, or send one run to every recipient exactly once.

A run is identified by `(digest, run_key)`; the scheduler passes the scheduled fire time as the
key, so a run fired twice (two schedulers, a restart) finds its outbox rows and sends nothing
twice. Each recipient's selection and outbox row are written in one IMMEDIATE transaction, so
two runs at once cannot both take the same items.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from crawler import timeutil
from crawler.config import Config, ConfigError, Digest, Filters, Recipient
from crawler.db import deliveries as outbox
from crawler.db import open_db, runs, write_transaction
from digests import delivery
from digests.render import render
from digests.selection import SECTIONS, Scope, select


def as_db(db):
    """Callers may pass an open sqlite-utils Database or the path of the database file."""
    return open_db(db) if isinstance(db, (str, Path)) else db


def run_key_text(run_key: str | datetime | None, now: datetime) -> str:
    if run_key is None:
        return f"manual:{timeutil.iso(now)}"
    return timeutil.iso(run_key) if isinstance(run_key, datetime) else str(run_key)


def archive_name(ledger_name: str, run: dict, recipient: str) -> str:
    """The archive copy's file name under `digests/`, known before the outbox row is written."""
    token = hashlib.sha256(f"{ledger_name}\n{run['run_key']}\n{recipient.lower()}".encode()).hexdigest()[:12]
    return f"{ledger_name.replace(':', '-')}-run{run['id']}-{token}.html"


def archive_link(config: Config, folder: Path | None, name: str) -> str | None:
    """Where a reader opens the archive copy: `archive_url` + name when the folder is published
    (digests.yaml), else the file itself next to the database."""
    base = config.digests_file.archive_url if config.digests_file else None
    if base:
        return f"{base.rstrip('/')}/{name}"
    return (folder / name).resolve().as_uri() if folder is not None else None


def write_archive(folder: Path | None, name: str, html: str) -> str | None:
    """Write the full digest under `digests/` next to the database; the path relative to its folder."""
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(html, encoding="utf-8")
    return f"digests/{name}"


def queue_recipient(config: Config, db, run: dict, *, ledger_name: str, title: str, filters: list[Filters],
                    recipient: Recipient, max_age: str, only_relevant: bool, sections=SECTIONS,
                    send_when_empty: bool = False, alert_title: str | None = None) -> str | None:
    """Select, render and write one recipient's outbox row (once per run); returns its status.

    The mail is bounded (digests.render); the archive copy of the same selection, rendered in full,
    is written next to the database and recorded in the row's `archive`, and the mail links to it.
    """
    smtp = config.require_smtp("a digest or alert")
    # the recipient's key is taken before reading: two runs of this digest at once see each other's outbox row
    with write_transaction(db, [f"outbox {ledger_name} {recipient.email.lower()}"]):
        existing = outbox.delivery_status(db, run["id"], recipient.email.lower())
        if existing:
            return existing
        now = timeutil.now()
        scope = Scope(ledger_name=ledger_name, filters=[*filters, recipient], max_age=max_age,
                      only_relevant=only_relevant, sections=sections, recipient=recipient.email,
                      with_health=recipient.admin, with_recalled=alert_title is None)
        selection = select(config, db, scope, now)
        if selection.is_empty and not send_when_empty:
            if alert_title:
                return None  # an alert with nothing new leaves no trace
            delivery.enqueue(db, run["id"], ledger_name, recipient.email, message=None,
                             counts=selection.counts, items=[])
            return "empty"
        folder = delivery.archive_dir(db)
        name = archive_name(ledger_name, run, recipient.email)
        common = {"title": title, "moment": now, "alert_title": alert_title, "recipient_name": recipient.name,
                  "unsubscribe": smtp.unsubscribe}
        archived = write_archive(folder, name, render(selection, full=True, **common).html)
        rendered = render(selection, archive_url=archive_link(config, folder, name) if archived else None, **common)
        message_id = delivery.message_id_for(ledger_name, run["run_key"], recipient.email, smtp.sender)
        message = delivery.build_message(smtp, recipient, rendered, message_id, now)
        delivery_id = delivery.enqueue(db, run["id"], ledger_name, recipient.email, message=message,
                                       counts=selection.counts, items=selection.ledger_items())
        outbox.set_archive(db, delivery_id, archived)
        return "pending"


def send_outstanding(config: Config, db, ledger_name: str) -> tuple[dict, list[int]]:
    """Send every outstanding row of this digest; also returns the ids of the rows it tried, so the
    summary shows what this run sent for earlier runs (a retry of a failed run's mail)."""
    tried = delivery.outstanding(db, ledger_name)
    return delivery.deliver_outstanding(config.require_smtp("a digest or alert"), db, ledger_name), tried


def run_summary(db, run: dict, sent: dict, tried: list[int] = ()) -> dict:
    """This run's rows, plus the earlier runs' rows it sent or retried (marked with their run), and the
    status of each run touched: an earlier run whose last mail went out now is done, not incomplete."""
    rows = outbox.deliveries_of_run(db, run["id"])
    own = {r["id"] for r in rows}
    earlier = [r for r in outbox.deliveries_by_id(db, list(tried)) if r["id"] not in own]
    for run_id in sorted({r["run_id"] for r in earlier}):
        runs.finish_digest_run(db, run_id)
    return {"digest": run["digest"], "run_id": run["id"], "run_key": run["run_key"],
            "status": runs.finish_digest_run(db, run["id"]), "sent": sent["sent"], "failed": sent["failed"],
            "pending": sent["pending"], "unconfirmed": sent.get("unconfirmed", 0), "overdue": sent.get("overdue", 0),
            "error": sent["error"],
            "empty": sum(1 for r in rows if r["status"] == "empty"), "deliveries": rows + earlier}


def send_digest(config: Config, db, name: str, run_key: str | datetime | None = None) -> dict:
    """Build this run's outbox rows (once per recipient), then send everything outstanding for the digest."""
    db = as_db(db)
    digest: Digest = config.digest(name)
    config.require_smtp(f"digest send {name}")  # before a run is recorded
    now = timeutil.now()
    run = runs.start_digest_run(db, name, "digest", run_key_text(run_key, now))
    for recipient in digest.recipients:
        queue_recipient(config, db, run, ledger_name=name, title=digest.title, filters=[digest],
                        recipient=recipient, max_age=digest.max_age, only_relevant=digest.only_relevant,
                        send_when_empty=digest.when_empty == "send")
    sent, tried = send_outstanding(config, db, name)
    return run_summary(db, run, sent, tried)


def preview_digest(config: Config, db, name: str, out_path: str | Path, recipient: str | None = None) -> Path:
    """Write the digest as HTML without sending or recording anything (and its full archive copy
    beside it, `<out>-day-du.html`, which the preview links to as the mail would).

    Without `recipient`: the digest's own filters over its whole `max_age` window, with the
    admin footer. With `recipient` (an email in the digest): exactly what that person would get next.
    """
    db = as_db(db)
    digest: Digest = config.digest(name)
    person = None
    if recipient:
        person = next((r for r in digest.recipients if r.email.lower() == recipient.lower()), None)
        if person is None:
            raise ConfigError(config.directory / "digests.yaml", None, f"{name}.recipients",
                              f"{recipient!r} is not a recipient of digest {name!r}")
    scope = Scope(ledger_name=name, filters=[digest, *([person] if person else [])], max_age=digest.max_age,
                  only_relevant=digest.only_relevant, recipient=person.email if person else None,
                  with_health=person.admin if person else True)
    now = timeutil.now()
    selection = select(config, db, scope, now)
    common = {"title": digest.title, "moment": now, "recipient_name": person.name if person else None,
              "unsubscribe": config.smtp.unsubscribe if config.smtp else None}
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    full = out.with_name(f"{out.stem}-day-du{out.suffix or '.html'}")  # the archive copy, as `send` writes it
    full.write_text(render(selection, full=True, **common).html, encoding="utf-8")
    out.write_text(render(selection, archive_url=full.resolve().as_uri(), **common).html, encoding="utf-8")
    return out


def history(db, limit: int = 20) -> list[dict]:
    """The latest runs, newest first, each with its deliveries."""
    db = as_db(db)
    latest = runs.latest_digest_runs(db, limit)
    for run in latest:
        run["deliveries"] = outbox.deliveries_of_run(db, run["id"], outbox.HISTORY_COLUMNS)
    return latest
