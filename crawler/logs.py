"""Log lines of the command line: `<time +07:00> <LEVEL> <logger>: <message>` on stderr.

Everything dxwatch logs goes through the `dxwatch` logger tree (`dxwatch.crawl`, `dxwatch.digests`,
...); this puts one handler on it for CLI commands, at the level of env DXWATCH_LOG_LEVEL (WARNING
by default), with times in Asia/Ho_Chi_Minh like every date dxwatch shows. The scheduler replaces it
with its JSON lines (scheduler/service.py).
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime

from crawler import timeutil


class VietnamTimeFormatter(logging.Formatter):
    def formatTime(self, record, datefmt=None):  # noqa: N802 (logging's name)
        return timeutil.iso(datetime.fromtimestamp(record.created, timeutil.VN))


def setup_cli_logging() -> None:
    # Scrapy's own lines ("[portal:x] WARNING") use its handler and logging's clock: Vietnam time there
    # too (its LOG_DATEFORMAT, crawler/settings.py, says +07:00)
    logging.Formatter.converter = staticmethod(timeutil.log_time)
    root = logging.getLogger("dxwatch")
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(VietnamTimeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(os.environ.get("DXWATCH_LOG_LEVEL", "WARNING").upper())
    root.propagate = False  # Scrapy's root handler would print the same line again
