"""Figures and directives read from an attached document reach the digest through the article that
links the file, and the directives section links the document itself."""

from __future__ import annotations

from datetime import timedelta

import pytest

import docgen

from crawler import timeutil
from crawler.config import load_config
from crawler.db import open_db
from pipelines.storage import save_article
from digests.runner import send_digest
from crawler.db.documents import record_links
from pipelines.documents import read_document, store_document
from crawler.db.facts import new_facts
from pipelines.kinds import tables
from pipelines.facts import article_facts
from helpers import bodies, by_recipient, write_digest_config

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`

ARTICLE = "http://127.0.0.1:9/tin-tuc/thanh-hoa-phe-duyet-ke-hoach-chuyen-doi-so-4321.html"
DOCUMENT = "http://127.0.0.1:9/uploads/van-ban/2971-qd-ubnd.pdf"
DIGEST = """\
digests:
  - name: weekly
    recipients: [lanh.dao@example.vn]
"""


def test_document_facts_and_link_reach_the_digest(tmp_path, smtp):
    config = load_config(write_digest_config(tmp_path / "config", smtp.port, DIGEST))
    db = open_db(tmp_path / "data" / "dxwatch.db")
    text = ("UBND tỉnh Thanh Hóa vừa phê duyệt kế hoạch chuyển đổi số giai đoạn 2023 - 2025 "
            "(toàn văn đính kèm). Sở Khoa học và Công nghệ được giao theo dõi việc triển khai.")
    save_article(db, {"url": ARTICLE, "source": "thanhhoa", "level": "provincial", "province": "Thanh Hóa",
                      "title": "Thanh Hóa phê duyệt kế hoạch chuyển đổi số", "text": text, "relevant": True,
                      **article_facts(None, text, "Thanh Hóa")})
    item = {"item_type": "document", "source": "thanhhoa", "province": "Thanh Hóa", "url": DOCUMENT, "aliases": [],
            "body": docgen.pdf_bytes(docgen.DECISION), "content_type": "application/pdf", "cited_by": ARTICLE,
            "crawl_run_id": None}
    record_links(db, [(DOCUMENT, ARTICLE)])
    store_document(db, item, read_document(item))

    facts = new_facts(db, tables(), "2000-01-01", only_relevant=True)
    from_document = [f for f in facts["figures"] if f.get("document")]
    assert from_document and all(f["articles"][0]["url"] == ARTICLE for f in from_document)
    assert {f["value"] for f in from_document} >= {80.0, 1250.0}

    summary = send_digest(config, db, "weekly")
    plain, html = bodies(by_recipient(smtp)["lanh.dao@example.vn"][0])
    assert "80%" in plain and "2971/QĐ-UBND" in plain  # the mail: the article's 3 most informative figures
    archive = (tmp_path / "data" / summary["deliveries"][0]["archive"]).read_text(encoding="utf-8")
    assert "1.250" in archive and "7.400" in archive  # the archive copy: all of them
    assert f'href="{DOCUMENT}"' in html and "Toàn văn" in html
    assert f"Toàn văn: {DOCUMENT}" in plain


def test_a_local_number_cited_nationally_and_provincially_is_one_document(tmp_path, smtp):
    config = load_config(write_digest_config(tmp_path / "config", smtp.port, DIGEST))
    db = open_db(tmp_path / "data" / "dxwatch.db")
    issued = (timeutil.now() - timedelta(days=3)).strftime("%d/%m/%Y")  # a new document, not one recalled
    text = (f"Thực hiện chuyển đổi số, UBND tỉnh Thanh Hóa ban hành Quyết định số 2971/QĐ-UBND ngày {issued} "
            "phê duyệt kế hoạch chuyển đổi số của tỉnh, giao các sở, ngành triển khai trong năm nay.")
    for n, (source, level, province) in enumerate([("chinhphu", "national", None),
                                                   ("thanhhoa", "provincial", "Thanh Hóa")]):
        body = text + f" Bản tin số {n}."
        save_article(db, {"url": f"http://127.0.0.1:9/tin-tuc/quyet-dinh-2971-{n}.html", "source": source,
                          "level": level, "province": province, "title": f"Thanh Hóa phê duyệt kế hoạch ({n})",
                          "text": body, "relevant": True, **article_facts(None, body, province)})

    send_digest(config, db, "weekly")
    plain, _ = bodies(by_recipient(smtp)["lanh.dao@example.vn"][0])
    assert plain.count("* Quyết định 2971/QĐ-UBND") == 1 and "1 văn bản" in plain
    # both keys went to the ledger: the bare number does not come back in the next digest
    save_article(db, {"url": "http://127.0.0.1:9/tin-tuc/tin-moi.html", "source": "thanhhoa", "level": "provincial",
                      "province": "Thanh Hóa", "title": "Tin mới về chuyển đổi số", "relevant": True,
                      "text": "Tỉnh Thanh Hóa tiếp tục đẩy mạnh chuyển đổi số trong các cơ quan nhà nước."})
    send_digest(config, db, "weekly", run_key="lan-hai")
    second = by_recipient(smtp)["lanh.dao@example.vn"]
    assert len(second) == 2 and "2971/QĐ-UBND" not in bodies(second[1])[0]
