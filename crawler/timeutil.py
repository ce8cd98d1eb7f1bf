"""Time in dxwatch is Asia/Ho_Chi_Minh (+07:00), stored as ISO 8601 text."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def now() -> datetime:
    return datetime.now(VN)


def iso(moment: datetime | None = None) -> str:
    """ISO 8601 in +07:00, to the second; naive datetimes are taken as Vietnam time."""
    moment = moment or now()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VN)
    return moment.astimezone(VN).isoformat(timespec="seconds")


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=VN)


LOG_DATEFORMAT = "%Y-%m-%d %H:%M:%S+07:00"


def log_time(seconds: float | None = None) -> time.struct_time:
    """`logging.Formatter.converter` for Vietnam time, so log lines read like the tables (+07:00)."""
    return datetime.fromtimestamp(time.time() if seconds is None else seconds, VN).timetuple()


def ago(seconds: float) -> str:
    return iso(now() - timedelta(seconds=seconds))


__all__ = ["VN", "now", "iso", "parse_iso", "ago", "timezone", "LOG_DATEFORMAT", "log_time"]
