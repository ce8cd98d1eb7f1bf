"""The outbox and the SMTP sender: each message is written to SQLite before anything is sent.

An outbox row (`deliveries`) holds the exact bytes of one message and a stable Message-ID, and
the items it carries (`delivered_items`). Sending claims a row (`pending` -> `sending`), sends it
over one reused aiosmtplib connection at the configured rate, and records the outcome:
`sent`, `failed` (permanent: 5xx, refused address; its items become new again) or back to
`pending` (transient: 4xx, timeouts, disconnects; retried with backoff now and on the next run).
A timeout after DATA is ambiguous (the server may have kept the message): the retry resends
the same bytes with the same Message-ID, so mail clients show one message.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import aiosmtplib

from crawler import timeutil
from crawler.config import Recipient, SMTPSettings
from crawler.db import deliveries as outbox
from digests.render import Rendered

MAX_ATTEMPTS = 10            # transient failures across runs before a row is given up as failed
SENDING_LEASE_SECONDS = 900  # a row left in `sending` this long belonged to a sender that died
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


class SMTPUnavailable(Exception):
    """The server cannot be reached or refuses us (connect, TLS, login): nothing can be sent now."""


def header_safe(value: str | None) -> str:
    """One line, no control characters: config or portal text can never add a header."""
    return " ".join(_HEADER_UNSAFE.sub(" ", value or "").split())


def message_id_for(ledger_name: str, run_key: str, recipient: str, sender: str) -> str:
    """Stable for one (digest, run, recipient): a resend carries the same Message-ID."""
    token = hashlib.sha256(f"{ledger_name}\n{run_key}\n{recipient.lower()}".encode()).hexdigest()[:32]
    return f"<dxwatch.{token}@{sender.rsplit('@', 1)[1]}>"


def build_message(smtp: SMTPSettings, recipient: Recipient, rendered: Rendered, message_id: str,
                  moment: datetime) -> EmailMessage:
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = header_safe(rendered.subject)
    msg["From"] = Address(display_name=header_safe(smtp.sender_name), addr_spec=smtp.sender)
    msg["To"] = Address(display_name=header_safe(recipient.name), addr_spec=recipient.email)
    msg["Date"] = format_datetime(moment.astimezone(timeutil.VN))
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    if smtp.unsubscribe:
        msg["List-Unsubscribe"] = f"<mailto:{smtp.unsubscribe}?subject=unsubscribe>"
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    msg["Content-Language"] = "vi"  # after the bodies: set_content() drops Content-* headers
    return msg


# ---------------------------------------------------------------- the outbox


def enqueue(db, run_id: int, ledger_name: str, recipient: str, *, message: EmailMessage | None,
            counts: dict, items: list[tuple[str, str]], html: str | None = None) -> int:
    """Write one outbox row and its ledger (inside the caller's transaction). No message: `empty`.

    `html`, the message's HTML, is archived under `digests/` at once, so the archive shows what
    each outbox row holds whatever becomes of it (`digest history` tells sent from failed).
    """
    row = {
        "run_id": run_id, "digest": ledger_name, "recipient": recipient.lower(),
        "status": "pending" if message is not None else "empty",
        "message_id": message["Message-ID"] if message is not None else None,
        "subject": message["Subject"] if message is not None else None,
        "message": message.as_bytes() if message is not None else None,
        "counts": counts, "created": timeutil.iso(),
    }
    delivery_id = outbox.insert_delivery(db, row, items)
    if html is not None:
        outbox.set_archive(db, delivery_id,
                           _archive(db, f"{ledger_name.replace(':', '-')}-run{run_id}-{delivery_id}.html", html))
    return delivery_id


def outstanding(db, ledger_name: str) -> list[int]:
    """Rows of this digest still to send: pending, or `sending` past its lease (a dead sender)."""
    return outbox.outstanding(db, ledger_name, timeutil.ago(SENDING_LEASE_SECONDS))


def _claim(db, delivery_id: int) -> dict | None:
    return outbox.claim(db, delivery_id, timeutil.iso(), timeutil.ago(SENDING_LEASE_SECONDS))


def _record(db, delivery_id: int, status: str, error: str | None = None, **extra) -> None:
    outbox.record_attempt(db, delivery_id, status=status, last_error=error, **extra)


def archive_dir(db) -> Path | None:
    """`digests/` next to the database file (None for an in-memory database)."""
    folder = outbox.database_folder(db)
    return folder / "digests" if folder else None


def _archive(db, name: str, html: str) -> str | None:
    folder = archive_dir(db)
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(html, encoding="utf-8")
    return f"digests/{name}"  # relative to the database's folder


# ---------------------------------------------------------------- sending


def _classify(exc: BaseException) -> str:
    """`permanent` (5xx, refused address) or `transient` (4xx, timeouts, disconnects)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        return "permanent" if codes and all(c >= 500 for c in codes) else "transient"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return "permanent" if 500 <= exc.code < 600 else "transient"
    return "transient"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r.code} {r.message}" for r in exc.recipients) or "recipient refused"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Sender:
    """One SMTP connection reused across messages, reconnecting when the server drops it."""

    def __init__(self, smtp: SMTPSettings):
        self.settings = smtp
        self.client: aiosmtplib.SMTP | None = None
        self.interval = 60.0 / smtp.rate_per_minute
        self.last_send = 0.0

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(hostname=s.host, port=s.port, timeout=s.timeout, use_tls=s.security == "tls",
                                 start_tls=True if s.security == "starttls" else False)
        try:
            await client.connect()
            if s.username:
                password = s.password()
                if password is None:
                    raise SMTPUnavailable(f"environment variable {s.password_env} (smtp.password_env) is not set")
                await client.login(s.username, password)
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            raise SMTPUnavailable(f"login refused: {_describe(exc)}") from None
        except aiosmtplib.SMTPResponseException as exc:  # refused greeting, EHLO or STARTTLS
            client.close()
            raise SMTPUnavailable(f"server refused the session: {_describe(exc)}") from None
        except SMTPUnavailable:
            client.close()
            raise
        return client

    async def send(self, recipient: str, data: bytes) -> None:
        if self.client is None or not self.client.is_connected:
            self.client = None
            self.client = await self._connect()
        wait = self.last_send + self.interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self.last_send = time.monotonic()
        try:
            await self.client.sendmail(self.settings.sender, [recipient], data)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError):
            self.drop()
            raise

    def drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    async def close(self) -> None:
        if self.client is not None and self.client.is_connected:
            try:
                await self.client.quit()
            except (aiosmtplib.SMTPException, OSError):
                self.client.close()
        self.client = None


async def _send_one(sender: Sender, smtp: SMTPSettings, db, row: dict) -> tuple[str, str | None]:
    """Send one claimed row, retrying transient errors; record and return `(status, run-stopping error)`."""
    attempts = row["attempts"]
    for retry in range(smtp.retries + 1):
        try:
            await sender.send(row["recipient"], row["message"])
        except SMTPUnavailable as exc:
            _record(db, row["id"], "pending", str(exc))
            return "pending", str(exc)
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
            attempts += 1
            error = _describe(exc)
            if _classify(exc) == "permanent":
                _record(db, row["id"], "failed", error)
                return "failed", None
            if attempts >= MAX_ATTEMPTS:
                _record(db, row["id"], "failed", f"gave up after {attempts} attempts: {error}")
                return "failed", None
            if retry == smtp.retries:
                _record(db, row["id"], "pending", error)
                return "pending", error if sender.client is None else None  # cannot even connect: stop
            outbox.record_attempt(db, row["id"], last_error=error)
            await asyncio.sleep(smtp.retry_backoff * (2**retry))
        else:
            _record(db, row["id"], "sent", None, sent_at=timeutil.iso())
            return "sent", None
    raise AssertionError("unreachable: the last retry always returns")


async def _deliver(smtp: SMTPSettings, db, ids: list[int]) -> dict:
    sender = Sender(smtp)
    summary = {"sent": 0, "failed": 0, "pending": 0, "error": None}
    try:
        for delivery_id in ids:
            if summary["error"]:  # the server is unavailable: leave the rest for the next run
                summary["pending"] += 1
                continue
            row = _claim(db, delivery_id)
            if row is not None:
                status, summary["error"] = await _send_one(sender, smtp, db, row)
                summary[status] += 1
    finally:
        await sender.close()
    return summary


def deliver_outstanding(smtp: SMTPSettings, db, ledger_name: str) -> dict:
    """Send every pending row of this digest (this run's and any earlier run's)."""
    ids = outstanding(db, ledger_name)
    if not ids:
        return {"sent": 0, "failed": 0, "pending": 0, "error": None}
    return asyncio.run(_deliver(smtp, db, ids))
