"""Digest benchmarks, each a ratio against a baseline measured in the same run.

1. Delivery: the outbox sender (one SMTP connection reused, claims and outcomes written to SQLite)
   against the plain baseline of `aiosmtplib.send()` opening a connection per message, both to
   aiosmtpd on loopback, without TLS and with STARTTLS (where a new connection costs a handshake).
2. Building one recipient's digest (selection + rendering within the size budget) for a week of
   1,000 new articles against a week of 250: how the cost grows with the volume.
3. The rate limit: messages per minute actually sent against `rate_per_minute`.
4. Size: the mail's HTML (bounded) against the archive copy of the same digest rendered in full.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiosmtplib
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler import timeutil  # noqa: E402
from crawler.config import Digest, Recipient, SMTPSettings  # noqa: E402
from crawler.db import open_db  # noqa: E402
from pipelines.storage import save_article  # noqa: E402
from digests import delivery  # noqa: E402
from digests.render import render  # noqa: E402
from crawler.db.runs import start_digest_run  # noqa: E402
from digests.selection import Scope, select  # noqa: E402
from tests.servers import free_port, self_signed  # noqa: E402

MESSAGES = 100
REPEATS = 3
WORDS = ("chuyển đổi số nền tảng dữ liệu dịch vụ công trực tuyến toàn trình chính quyền điện tử hạ tầng "
         "băng rộng định danh thanh toán không dùng tiền mặt kinh tế số xã hội số công dân kỹ năng an toàn "
         "thông tin hồ sơ thủ tục hành chính doanh nghiệp nông nghiệp y tế giáo dục du lịch giao thông "
         "đô thị thông minh trung tâm điều hành camera cảm biến điện toán đám mây phần mềm ứng dụng").split()
PROVINCES = ["Đà Nẵng", "Thanh Hóa", "Lai Châu", "Điện Biên", "Tây Ninh", "Cần Thơ", "Huế", "Hải Phòng"]


class Counter:
    def __init__(self):
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        return "250 OK"


def article(n: int) -> dict:
    province = PROVINCES[n % len(PROVINCES)]
    return {
        "url": f"https://tinh{n % len(PROVINCES)}.example.vn/tin/bai-{n}.html",
        "source": f"tinh{n % len(PROVINCES)}", "level": "provincial", "province": province,
        "title": f"{province} đẩy mạnh chuyển đổi số trong lĩnh vực số {n}",
        "published": "2026-11-20T08:00:00+07:00",
        "text": f"Bài số {n} về {province}: " + " ".join(random.Random(n).choices(WORDS, k=220)),
        "relevant": True, "keywords": ["chuyển đổi số"], "content_hash": f"bench-{n}",
        "figures": [{"key": f"fig-{n}", "value": n * 37 % 900 + 100, "unit": "thủ tục",
                     "raw": f"{n * 37 % 900 + 100} thủ tục", "subject": "thủ tục trực tuyến toàn trình",
                     "context": f"{n * 37 % 900 + 100} thủ tục hành chính được cung cấp trực tuyến"}],
        "directives": [{"key": f"{n}/KH-UBND", "number": f"{n}/KH-UBND", "type": "Kế hoạch",
                        "issuer": f"UBND {province}", "raw": f"Kế hoạch số {n}/KH-UBND"}],
    }


def build_digest_ms(articles: int, workdir: Path) -> float:
    db = open_db(workdir / f"select-{articles}.db")
    for n in range(articles):
        save_article(db, article(n))
    digest = Digest(name="bench", recipients=["a@example.vn"])
    scope = Scope(ledger_name="bench", filters=[digest], max_age="14d", recipient="a@example.vn")
    timings = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        selection = select(None, db, scope)
        render(selection, title=digest.title)
        timings.append((time.perf_counter() - start) * 1000)
    assert len(selection.stories) == articles
    return statistics.median(timings)


def sizes(workdir: Path, weeks=(20, 50, 200, 1000)) -> list[tuple[int, int, int, int]]:
    """(articles, mail HTML bytes, mail text bytes, archive HTML bytes) for weeks of growing volume."""
    out = []
    for articles in weeks:
        db = open_db(workdir / f"size-{articles}.db")
        for n in range(articles):
            save_article(db, article(n))
        selection = select(None, db, Scope(ledger_name="size", filters=[], max_age="14d"))
        mail = render(selection, title="Bản tin", archive_url="https://intranet.example.vn/dxwatch/digests/x.html")
        full = render(selection, title="Bản tin", full=True)
        out.append((articles, len(mail.html.encode()), len(mail.text.encode()), len(full.html.encode())))
    return out


def delivery_seconds(workdir: Path, security: str) -> tuple[float, float]:
    """Seconds to deliver MESSAGES digests: (baseline, dxwatch)."""
    counter, port = Counter(), free_port()
    tls = {}
    if security == "starttls":
        cert_file, context = self_signed(workdir)
        os.environ["SSL_CERT_FILE"] = str(cert_file)
        tls = {"tls_context": context, "require_starttls": True}
    controller = Controller(counter, hostname="127.0.0.1", port=port, **tls)
    controller.start()
    try:
        return _deliver_both(workdir / f"outbox-{security}.db", port, security, counter)
    finally:
        controller.stop()


def _deliver_both(db_path: Path, port: int, security: str, counter: Counter) -> tuple[float, float]:
    smtp = SMTPSettings(host="127.0.0.1", port=port, security=security, sender="bantin@example.vn",
                        rate_per_minute=1_000_000)
    db = open_db(db_path)
    for n in range(20):
        save_article(db, article(n))
    digest = Digest(name="bench", recipients=["a@example.vn"])
    rendered = render(select(None, db, Scope(ledger_name="bench", filters=[digest], max_age="14d")), title="Bản tin")
    messages = []
    for i in range(MESSAGES):
        recipient = Recipient(email=f"nguoi{i}@example.vn")
        messages.append(delivery.build_message(smtp, recipient, rendered, f"<bench.{i}@example.vn>", timeutil.now()))

    async def baseline():
        for message in messages:
            await aiosmtplib.send(message, hostname="127.0.0.1", port=port, start_tls=security == "starttls")

    def outbox(round_no: int) -> None:
        run = start_digest_run(db, "bench", "digest", f"bench-run-{round_no}")
        with db.conn:
            for i, message in enumerate(messages):
                delivery.enqueue(db, run["id"], "bench", f"nguoi{i}@example.vn", message=message, counts={},
                                 items=[])
        assert delivery.deliver_outstanding(smtp, db, "bench")["sent"] == MESSAGES

    base, ours = [], []
    for round_no in range(REPEATS):  # alternated, so a busy moment on the shared machine hits both
        base.append(timed(lambda: asyncio.run(baseline())))
        ours.append(timed(lambda n=round_no: outbox(n)))
    assert counter.received == 2 * REPEATS * MESSAGES
    return statistics.median(base), statistics.median(ours)


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def rate_limited_per_minute(workdir: Path, limit: int = 600, messages: int = 30) -> float:
    """Messages per minute actually sent with `rate_per_minute: limit` (small messages, one connection)."""
    counter, port = Counter(), free_port()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = SMTPSettings(host="127.0.0.1", port=port, sender="bantin@example.vn", rate_per_minute=limit)
        db = open_db(workdir / "rate.db")
        empty = render(select(None, db, Scope(ledger_name="rate", filters=[], max_age="1d")), title="Bản tin")
        run = start_digest_run(db, "rate", "digest", "rate-run")
        with db.conn:
            for i in range(messages):
                message = delivery.build_message(smtp, Recipient(email=f"n{i}@example.vn"), empty,
                                                 f"<rate.{i}@example.vn>", timeutil.now())
                delivery.enqueue(db, run["id"], "rate", f"n{i}@example.vn", message=message, counts={}, items=[])
        seconds = timed(lambda: delivery.deliver_outstanding(smtp, db, "rate"))
    finally:
        controller.stop()
    assert counter.received == messages
    return (messages - 1) * 60 / seconds  # the first message waits for nothing


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        delivery_times = {security: delivery_seconds(workdir, security) for security in ("none", "starttls")}
        small, large = build_digest_ms(250, workdir), build_digest_ms(1000, workdir)
        achieved = rate_limited_per_minute(workdir)
        size_rows = sizes(workdir)
    print(f"delivery of {MESSAGES} digests (20 stories each) to aiosmtpd on loopback, median of {REPEATS}:")
    for security, (base, ours) in delivery_times.items():
        print(f"  security {security}: baseline (a connection per message) {MESSAGES / base:.0f} messages/s; "
              f"dxwatch outbox (one connection) {MESSAGES / ours:.0f} messages/s = {base / ours:.2f}x the baseline")
    print("one recipient's digest (selection + rendering within the size budget), median of 3:")
    print(f"  250 new articles: {small:.0f} ms; 1,000 new articles: {large:.0f} ms "
          f"({large / small:.2f}x for 4x the articles)")
    print(f"rate limit: rate_per_minute 600 gave {achieved:.0f} messages/min ({achieved / 600:.2f}x the limit)")
    print("size (each article: 1 story, 1 figure, 1 document): mail HTML / text, against the full archive copy:")
    for articles, html, text, full in size_rows:
        print(f"  {articles:>5} articles: mail {html / 1000:.0f} KB HTML, {text / 1000:.0f} KB text; "
              f"archive {full / 1000:.0f} KB ({html / full:.2f}x)")


if __name__ == "__main__":
    main()
