"""The digest stays under its size budget whatever the week holds, documents come first, and every
topic article can still be reached: from the mail itself, or from the archive copy it links to."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from helpers import bodies, by_recipient, write_digest_config

from crawler import timeutil
from crawler.config import load_config
from crawler.db import open_db
from digests.render import BUDGET_BYTES
from digests.runner import send_digest
from pipelines.storage import save_article

DIGEST = """\
digests:
  - name: weekly
    max_age: 7d
    recipients: [lanh.dao@example.vn]
"""

PLACES = ["Thanh Hóa", "Đà Nẵng", "Lai Châu", "Tây Ninh", "Điện Biên", "Nghệ An", "Quảng Ninh", "Cà Mau"]
SUBJECTS = ["hồ sơ trực tuyến toàn trình", "tài khoản định danh điện tử mức độ 2", "doanh nghiệp công nghệ số",
            "giao dịch thanh toán không dùng tiền mặt", "thủ tục hành chính được số hóa kết quả",
            "tổ công nghệ số cộng đồng", "trạm phát sóng 5G", "bộ dữ liệu mở"]

WORDS = ("hạ tầng số dữ liệu dịch vụ công trực tuyến toàn trình sở ngành rà soát quy trình cắt giảm thủ tục nâng cao "
         "chất lượng phục vụ người dân doanh nghiệp nền tảng ứng dụng kết nối chia sẻ an toàn thông tin mạng kỹ năng "
         "học sinh giáo viên bệnh viện hồ sơ sức khỏe thanh toán điện tử chữ ký số camera giao thông đô thị thông minh "
         "nông nghiệp sản phẩm OCOP thương mại sàn tổ công nghệ cộng đồng thôn bản xã phường").split()


def busy_article(n: int, figures: int, documents: list[int]) -> dict:
    """One story of a busy week: a long title, a long lead, `figures` figures and some documents."""
    place = PLACES[n % len(PLACES)]
    day = (timeutil.now() - timedelta(days=n % 6)).strftime("%Y-%m-%d")
    facts = []
    for k in range(figures):
        subject = SUBJECTS[(n + k) % len(SUBJECTS)]
        value = 1000 + 37 * n + k
        raw = f"{value:,}".replace(",", ".")
        facts.append({"key": f"fig-{n}-{k}", "kind": "count", "value": float(value), "unit": subject.split()[0],
                      "subject": subject, "raw": raw, "period": "năm 2026",
                      "label": f"Đến nay, tỉnh {place} đã có {raw} {subject} được ghi nhận trong đợt rà soát số {k}",
                      "context": f"Đến nay, tỉnh {place} đã có {raw} {subject} được ghi nhận trong đợt rà soát số {k}."})
    directives = [{"key": f"{d}/QĐ-UBND ({place})", "number": f"{d}/QĐ-UBND", "type": "Quyết định",
                   "issuer": f"UBND tỉnh {place}", "year": 2026, "date": day,
                   "title": f"phê duyệt kế hoạch chuyển đổi số số {d} của tỉnh {place} về dữ liệu, hạ tầng và "
                            "dịch vụ công trực tuyến giai đoạn 2026 - 2030",
                   "raw": f"Quyết định số {d}/QĐ-UBND", "context": f"Quyết định số {d}/QĐ-UBND ngày {day}"}
                  for d in documents]
    return {
        "url": f"https://portal-{n % 8}.example.vn/tin-tuc/chuyen-doi-so/bai-viet-so-{n}-ve-chuyen-doi-so.html",
        "source": "thanhhoa", "level": "provincial", "province": place,
        "title": f"Tỉnh {place} đẩy mạnh chuyển đổi số, số hóa hồ sơ và phát triển dữ liệu số trong đợt {n}",
        "published": f"{day}T08:00:00+07:00",
        "text": f"Tỉnh {place} tiếp tục triển khai chuyển đổi số: " + " ".join(
            random.Random(n).choice(WORDS) for _ in range(90)) + ".",  # its own words: a story of its own
        "relevant": True, "keywords": ["chuyển đổi số"], "content_hash": f"busy-{n}",
        "figures": facts, "directives": directives,
    }


def archive_of(html: str) -> Path:
    """The archive copy the mail links to (a file next to the database)."""
    link = re.search(r'href="(file://[^"]+)"[^>]*>bản đầy đủ', html)
    assert link, "the mail links to its archive copy"
    return Path(unquote(urlparse(link.group(1)).path))


def test_a_busy_week_stays_under_budget_documents_first_and_nothing_unreachable(tmp_path, smtp):
    config = load_config(write_digest_config(tmp_path / "config", smtp.port, DIGEST))
    db = open_db(tmp_path / "data" / "dxwatch.db")
    articles = [busy_article(n, 7 + (n % 2) + (1 if n < 20 else 0), [1000 + n] if n < 30 else [])
                for n in range(40)]  # 40 stories, 320 figures, 30 documents
    for article in articles:
        save_article(db, article)
    send_digest(config, db, "weekly")
    text, html = bodies(by_recipient(smtp)["lanh.dao@example.vn"][0])

    assert len(html.encode("utf-8")) <= BUDGET_BYTES
    assert len(text.encode("utf-8")) <= BUDGET_BYTES
    assert text.index("== VĂN BẢN VÀ CHỈ ĐẠO MỚI ==") < text.index("== TIN NỔI BẬT ==") < text.index("== SỐ LIỆU MỚI ==")
    assert html.index(">Văn bản và chỉ đạo mới<") < html.index(">Số liệu mới<")
    shown = re.sub(r"<[^>]+>", "", html)
    assert all(f"{1000 + n}/QĐ-UBND" in shown for n in range(30))  # every new document is in the mail
    groups = re.findall(r'<div class="fs">', html)
    assert groups and all(len(block.split('class="fig"')) - 1 <= 3 for block in html.split('<div class="fs">')[1:])

    archive = archive_of(html).read_text(encoding="utf-8")
    assert archive_of(html).parent == tmp_path / "data" / "digests"
    for article in articles:  # in the mail, or in the archive copy the mail links to
        assert article["url"] in html or article["url"] in archive
        assert article["url"] in archive
    assert all(f["raw"] in archive for a in articles for f in a["figures"])


@pytest.mark.slow
def test_thousands_of_stored_articles_with_only_relevant_off_still_make_a_bounded_mail(tmp_path, smtp):
    digest = DIGEST.replace("max_age: 7d", "max_age: 7d\n    only_relevant: false")
    config = load_config(write_digest_config(tmp_path / "config", smtp.port, digest))
    db = open_db(tmp_path / "data" / "dxwatch.db")
    for n in range(1500):
        article = busy_article(n, 2, [])
        article["relevant"] = n % 10 == 0
        save_article(db, article)
    summary = send_digest(config, db, "weekly")
    message = by_recipient(smtp)["lanh.dao@example.vn"][0]
    text, html = bodies(message)
    assert len(html.encode("utf-8")) <= BUDGET_BYTES and len(message.as_bytes()) < 400_000
    assert len(text.encode("utf-8")) <= BUDGET_BYTES
    archive = archive_of(html)
    assert (tmp_path / "data" / summary["deliveries"][0]["archive"]) == archive
    assert archive.read_text(encoding="utf-8").count("bai-viet-so-") >= 1500
