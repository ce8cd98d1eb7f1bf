"""The outbox and the SMTP sender: each message is written to SQLite before anything is sent.

An outbox row (`deliveries`) holds the exact bytes of one message and a stable Message-ID, and
the items it carries (`delivered_items`). Sending claims a row (`pending` -> `sending`), sends it
over one reused aiosmtplib connection at the configured rate, and records the outcome:

- `sent`;
- `failed`: only a permanent 5xx answer (a refused address, a rejected message). Its items stay
  with it: they never come back under another Message-ID;
- back to `pending`: 4xx answers, timeouts before the message was handed over, disconnects, a
  server that cannot be reached. Retried with backoff within the run and again by every later
  run, never given up; a row pending for more than PENDING_WARN_AFTER is reported (log, summary,
  `digest history`) so the admin looks at the server;
- a timeout or disconnect after the message was handed over (DATA) is *ambiguous*: the server may
  have kept it. It is counted in `ambiguous` and resent once, at once, with the same bytes and
  Message-ID; a second ambiguous outcome ends the row as `unconfirmed` (probably delivered, never
  sent again). So a recipient gets at most two copies of a digest, under one Message-ID.

Every row is tried in every run, one bounded try each (at most `retries` + 1 attempts of at most
`timeout` seconds, connecting within CONNECT_TIMEOUT): one slow or unreachable recipient never
keeps the others from their mail.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from datetime import datetime, timedelta
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

SENDING_LEASE_SECONDS = 900  # a row left in `sending` this long belonged to a sender that died
CONNECT_TIMEOUT = 10.0       # seconds to reach the server, whatever smtp.timeout allows a slow reply
PENDING_WARN_AFTER = timedelta(days=7)  # a row pending this long is reported to the admin
AMBIGUOUS_RESENDS = 1        # a message the server may have kept is sent again at most this often
logger = logging.getLogger("dxwatch.digests")
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


class SMTPUnavailable(Exception):
    """The server cannot be reached or refuses us (connect, TLS, login): nothing can be sent now."""


class AmbiguousDelivery(Exception):
    """The connection timed out or dropped after the message was handed over (DATA): the server may
    have kept it."""


def header_safe(value: str | None) -> str:
    """One line, no control characters: config or portal text can never add a header."""
    return " ".join(_HEADER_UNSAFE.sub(" ", value or "").split())


def message_id_for(ledger_name: str, run_key: str, recipient: str, sender: str) -> str:
    """Stable for one (digest, run, recipient): a resend carries the same Message-ID."""
    token = hashlib.sha256(f"{ledger_name}\n{run_key}\n{recipient.lower()}".encode()).hexdigest()[:32]
    return f"<dxwatch.{token}@{sender.rsplit('@', 1)[1]}>"


# Python's header folder drops the space between two Vietnamese words when a fold falls there
# ("4 văn bản" arrives as "4 vănbản"): the space lands between two encoded words, where readers
# ignore it. Headers are folded only past RFC 5322's 998-character line limit instead.
MESSAGE_POLICY = policy.SMTP.clone(max_line_length=998)


def build_message(smtp: SMTPSettings, recipient: Recipient, rendered: Rendered, message_id: str,
                  moment: datetime) -> EmailMessage:
    msg = EmailMessage(policy=MESSAGE_POLICY)
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
            await client.connect(timeout=min(s.timeout, CONNECT_TIMEOUT))
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
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:  # refused, unreachable, TLS
            client.close()
            raise SMTPUnavailable(f"cannot reach {s.host}:{s.port}: {_describe(exc)}") from None
        return client

    async def send(self, recipient: str, data: bytes) -> None:
        if self.client is None or not self.client.is_connected:
            self.client = None
            self.client = await self._connect()
        wait = self.last_send + self.interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self.last_send = time.monotonic()
        client = self.client
        try:
            try:  # the envelope: a failure here is definite, the message was not handed over
                await client.mail(self.settings.sender)
                await client.rcpt(recipient)
            except aiosmtplib.SMTPResponseException:
                await self._reset()
                raise
            try:
                await client.data(data)
            except aiosmtplib.SMTPResponseException:  # an answer to DATA: definite (kept or refused)
                await self._reset()
                raise
            except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError,
                    asyncio.TimeoutError) as exc:
                raise AmbiguousDelivery(f"no answer after the message was handed over: {_describe(exc)}") from None
        except (AmbiguousDelivery, aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError,
                asyncio.TimeoutError):
            self.drop()
            raise

    async def _reset(self) -> None:
        """RSET after a refused envelope, so the next message starts clean (a failing RSET drops the link)."""
        try:
            await self.client.rset()
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
            self.drop()

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
    """One bounded try at a claimed row; records the outcome and returns `(status, unavailability)`."""
    ambiguous = row["ambiguous"] or 0
    if row["claimed_from"] == "sending":  # claimed by a sender that died: it may have handed the message over
        ambiguous += 1
    tries = 0
    while True:
        if ambiguous > AMBIGUOUS_RESENDS:
            _record(db, row["id"], "unconfirmed", f"{row['last_error'] or 'no answer after DATA'}; the server may "
                                                  "have it: not sent again", ambiguous=ambiguous)
            logger.warning("%s to %s: unconfirmed after %d sends without an answer; not sent again",
                           row["digest"], row["recipient"], ambiguous)
            return "unconfirmed", None
        try:
            await sender.send(row["recipient"], row["message"])
        except SMTPUnavailable as exc:
            return _left_pending(db, row, str(exc), ambiguous), str(exc)
        except AmbiguousDelivery as exc:
            ambiguous += 1
            row["last_error"] = str(exc)
            outbox.record_attempt(db, row["id"], last_error=str(exc), ambiguous=ambiguous)
            logger.warning("%s to %s: %s (Message-ID %s)", row["digest"], row["recipient"], exc, row["message_id"])
            continue  # resent at once, same bytes and Message-ID (or ended as unconfirmed above)
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
            error = _describe(exc)
            if _classify(exc) == "permanent":
                _record(db, row["id"], "failed", error, ambiguous=ambiguous)
                logger.warning("%s to %s: failed for good: %s", row["digest"], row["recipient"], error)
                return "failed", None
            tries += 1
            if tries > smtp.retries:
                return _left_pending(db, row, error, ambiguous), None
            outbox.record_attempt(db, row["id"], last_error=error, ambiguous=ambiguous)
            await asyncio.sleep(smtp.retry_backoff * (2 ** (tries - 1)))
        else:
            _record(db, row["id"], "sent", None, sent_at=timeutil.iso(), ambiguous=ambiguous)
            logger.info("%s to %s: sent (Message-ID %s)", row["digest"], row["recipient"], row["message_id"])
            return "sent", None


def _left_pending(db, row: dict, error: str, ambiguous: int) -> str:
    """Back to pending for the next run; past PENDING_WARN_AFTER the error says since when, loudly."""
    since = timeutil.parse_iso(row["created"])
    if timeutil.now() - since > PENDING_WARN_AFTER:
        error = f"pending since {row['created'][:10]} ({(timeutil.now() - since).days} days): {error}"
        logger.error("%s to %s: %s: check the SMTP server and smtp settings", row["digest"], row["recipient"], error)
    else:
        logger.warning("%s to %s: left pending for the next run: %s", row["digest"], row["recipient"], error)
    _record(db, row["id"], "pending", error, ambiguous=ambiguous)
    return "pending"


async def _deliver(smtp: SMTPSettings, db, ids: list[int]) -> dict:
    """Every row gets its own bounded try, even after the server failed for an earlier one."""
    sender = Sender(smtp)
    summary = {"sent": 0, "failed": 0, "pending": 0, "unconfirmed": 0, "error": None, "overdue": 0}
    try:
        for delivery_id in ids:
            row = _claim(db, delivery_id)
            if row is not None:
                status, error = await _send_one(sender, smtp, db, row)
                summary[status] += 1
                summary["error"] = error or summary["error"]
                if status == "pending" and timeutil.now() - timeutil.parse_iso(row["created"]) > PENDING_WARN_AFTER:
                    summary["overdue"] += 1
    finally:
        await sender.close()
    return summary


def deliver_outstanding(smtp: SMTPSettings, db, ledger_name: str) -> dict:
    """Send every pending row of this digest (this run's and any earlier run's)."""
    ids = outstanding(db, ledger_name)
    if not ids:
        return {"sent": 0, "failed": 0, "pending": 0, "unconfirmed": 0, "error": None, "overdue": 0}
    return asyncio.run(_deliver(smtp, db, ids))
