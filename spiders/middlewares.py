"""Downloader middlewares for gov.vn portals: retry backoff that honours Retry-After, and charset repair."""

from __future__ import annotations

import asyncio
import logging
import time
from email.utils import parsedate_to_datetime

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import HtmlResponse
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding

from crawler.charset import repaired_encoding

logger = logging.getLogger(__name__)

RETRY_DELAY_META = "dxwatch_retry_delay"


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """Seconds asked by a Retry-After header (delta-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries (5xx, 429, timeouts) with a pause before each retry.

    The pause is Retry-After when the server gives one (capped by DXWATCH_RETRY_AFTER_MAX), otherwise
    DXWATCH_RETRY_BACKOFF x 2^(attempt-1). The request waits in `process_request`, not in a slot.
    """

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff = settings.getfloat("DXWATCH_RETRY_BACKOFF", 2.0)
        self.retry_after_max = settings.getfloat("DXWATCH_RETRY_AFTER_MAX", 120.0)

    def _with_delay(self, retry, asked: float | None):
        if retry is None or not hasattr(retry, "meta"):
            return retry
        attempt = retry.meta.get("retry_times", 1)
        delay = min(asked, self.retry_after_max) if asked is not None else self.backoff * 2 ** (attempt - 1)
        retry.meta[RETRY_DELAY_META] = delay
        return retry

    def process_response(self, request, response):
        result = super().process_response(request, response)
        if result is response:
            return response
        asked = retry_after_seconds(response.headers.get("Retry-After")) if response.status in (429, 503) else None
        return self._with_delay(result, asked)

    def process_exception(self, request, exception):
        return self._with_delay(super().process_exception(request, exception), None)


class RetryDelayMiddleware:
    """Sleeps (without blocking the reactor) before sending a request that carries a retry delay."""

    async def process_request(self, request):
        delay = request.meta.pop(RETRY_DELAY_META, None)
        if delay:
            logger.debug("waiting %.1fs before retrying %s", delay, request.url)
            await asyncio.sleep(delay)
        return None


class CharsetRepairMiddleware:
    """Re-reads HTML responses whose declared charset does not match their bytes."""

    def process_response(self, request, response):
        if not isinstance(response, HtmlResponse) or not response.body:
            return response
        declared = http_content_type_encoding(response.headers.get("Content-Type", b"").decode("latin-1")) \
            or html_body_declared_encoding(response.body)
        encoding = repaired_encoding(response.body, declared)
        if encoding:
            logger.debug("charset of %s read as %s (declared %s)", response.url, encoding, declared)
            return response.replace(encoding=encoding)
        return response
