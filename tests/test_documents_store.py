"""Documents in the real SQLite store: once per file, changes read again, linked to citing articles."""

from __future__ import annotations

import pytest

import docgen
from crawler.db import open_db
from pipelines.storage import save_article
from crawler.db.documents import TOO_LARGE, citing_articles, record_links, stored_documents
from pipelines.documents import document_for_number, list_documents, read_document, store_document
from pipelines.facts import article_facts

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`

BASE = "http://127.0.0.1:8000"


def _item(url: str, body: bytes, **extra) -> dict:
    return {"item_type": "document", "source": "thanhhoa", "province": "Thanh Hóa", "url": url, "aliases": [],
            "body": body,
            "content_type": "application/pdf", "cited_by": None, "crawl_run_id": None, **extra}


def _store(db, url: str, body: bytes, **extra):
    item = _item(url, body, **extra)
    return store_document(db, item, read_document(item))


def _article(db, url: str, text: str) -> int:
    item = {"url": url, "source": "thanhhoa", "level": "provincial", "province": "Thanh Hóa",
            "title": text[:60], "text": text, **article_facts(None, text, "Thanh Hóa")}
    return save_article(db, item)[0]


def document(db, document_id: int) -> dict:
    return list(db.query("SELECT * FROM documents WHERE id = ?", [document_id]))[0]


@pytest.fixture
def db(db_target):
    database = open_db(db_target)
    yield database
    database.conn.close()


def test_document_is_stored_with_its_header_and_its_own_facts(db):
    document_id, outcome = _store(db, f"{BASE}/files/qd-2971.pdf", docgen.pdf_bytes(docgen.DECISION))
    assert outcome == "new"
    row = document(db, document_id)
    assert (row["status"], row["format"], row["number"], row["key"], row["type"], row["issuer_code"], row["date"]) == \
        ("ok", "pdf", "2971/QĐ-UBND", "2971/QĐ-UBND (Thanh Hóa)", "Quyết định", "UBND", "2023-08-22")
    assert row["subject"].startswith("Về việc phê duyệt Kế hoạch chuyển đổi số")
    own = db.execute("SELECT date, title, article_id FROM directives WHERE document_id = ? AND key = ?",
                     [document_id, "2971/QĐ-UBND (Thanh Hóa)"]).fetchall()
    assert own == [("2023-08-22", row["subject"], None)]  # the header's date, which running text lacks
    cited = {r[0] for r in db.execute("SELECT key FROM directives WHERE document_id = ?", [document_id])}
    assert {"30/2020/NĐ-CP", "749/QĐ-TTg"} <= cited
    figures = db.execute("SELECT value, unit FROM figures WHERE document_id = ? AND article_id IS NULL",
                         [document_id]).fetchall()
    assert (1250.0, "tổ") in figures and (80.0, "%") in figures


def test_same_url_same_bytes_is_stored_once_and_changed_bytes_are_read_again(db):
    url = f"{BASE}/files/qd-2971.pdf"
    first, _ = _store(db, url, docgen.pdf_bytes(docgen.DECISION))
    facts_before = db.execute("SELECT COUNT(*) FROM figures WHERE document_id = ?", [first]).fetchone()[0]
    assert _store(db, url, docgen.pdf_bytes(docgen.DECISION)) == (first, "unchanged")
    assert db.execute("SELECT COUNT(*) FROM figures WHERE document_id = ?", [first]).fetchone()[0] == facts_before

    amended = docgen.OfficialDocument(**{**docgen.DECISION.__dict__,
                                         "body": [*docgen.DECISION.body, "Toàn tỉnh có 559 xã hoàn thành số hóa."]})
    assert _store(db, url, docgen.pdf_bytes(amended)) == (first, "changed")
    values = [r[0] for r in db.execute("SELECT value FROM figures WHERE document_id = ?", [first])]
    assert values.count(559.0) == 1 and values.count(1250.0) == 1  # new figure added, none repeated
    assert db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 1


def test_same_file_under_another_url_is_an_alias(db):
    body = docgen.docx_bytes(docgen.LETTER)
    first, _ = _store(db, f"{BASE}/a/cv-1234.docx", body)
    assert _store(db, f"{BASE}/DownloadFile.aspx?id=77", body) == (first, "alias")
    assert set(stored_documents(db, [f"{BASE}/a/cv-1234.docx", f"{BASE}/DownloadFile.aspx?id=77",
                                     f"{BASE}/other.pdf"])) == {f"{BASE}/a/cv-1234.docx",
                                                                f"{BASE}/DownloadFile.aspx?id=77"}


def test_unreadable_files_are_recorded_without_facts(db):
    scanned, _ = _store(db, f"{BASE}/scan.pdf", docgen.scanned_pdf_bytes())
    broken, _ = _store(db, f"{BASE}/broken.pdf", docgen.corrupt_pdf_bytes())
    huge, _ = _store(db, f"{BASE}/huge.pdf", b"", status=TOO_LARGE, error="expected size 30000000 > 20000000")
    statuses = {r["id"]: (r["status"], r["text"], r["content_hash"]) for r in db.query("SELECT * FROM documents")}
    assert statuses[scanned][:2] == ("scanned_no_text", None)
    assert statuses[broken][0] == "corrupt"
    assert statuses[huge] == (TOO_LARGE, None, None)
    assert db.execute("SELECT COUNT(*) FROM figures WHERE document_id IS NOT NULL").fetchone()[0] == 0


def test_document_for_number_and_the_articles_that_cite_it(db):
    url = f"{BASE}/files/qd-2971.pdf"
    linking = f"{BASE}/tin-tuc/ke-hoach-cds-123.html"
    record_links(db, [(url, linking)])  # the spider records the link before the file arrives
    document_id, _ = _store(db, url, docgen.pdf_bytes(docgen.DECISION))
    _article(db, linking, "Tỉnh công bố kế hoạch chuyển đổi số mới, toàn văn đính kèm.")
    citing_id = _article(db, f"{BASE}/tin-tuc/trien-khai-456.html",
                         "UBND tỉnh đã ban hành Quyết định số 2971/QĐ-UBND ngày 22/8/2023 về chuyển đổi số.")
    _article(db, f"{BASE}/tin-tuc/khac-789.html", "Hội nghị bàn về Quyết định số 300/QĐ-UBND.")

    for asked in ("2971/QĐ-UBND", "2971/QD-UBND", "2971 /QĐ-UBND", "2971/QĐ-UBND (Thanh Hóa)"):
        found = document_for_number(db, asked)
        assert found is not None and found["id"] == document_id and found["url"] == url
    assert document_for_number(db, "300/QĐ-UBND") is None

    # another province's decision with the same number is another document
    other = docgen.OfficialDocument(**{**docgen.DECISION.__dict__, "issuer_lines": ["ỦY BAN NHÂN DÂN", "TỈNH NGHỆ AN"],
                                       "place_date": "Nghệ An, ngày 02 tháng 10 năm 2023"})
    other_id, outcome = _store(db, f"{BASE}/nghean/qd-2971.pdf", docgen.pdf_bytes(other), province="Nghệ An")
    assert outcome == "new" and document(db, other_id)["key"] == "2971/QĐ-UBND (Nghệ An)"
    assert document_for_number(db, "2971/QĐ-UBND", province="Nghệ An")["id"] == other_id
    assert document_for_number(db, "2971/QĐ-UBND (Thanh Hóa)")["id"] == document_id

    citing = citing_articles(db, document_id)
    assert [(c["url"], c["how"]) for c in citing] == [(linking, "link"), (f"{BASE}/tin-tuc/trien-khai-456.html",
                                                                          "number")]
    assert citing[1]["id"] == citing_id


def test_list_documents_filters(db):
    _store(db, f"{BASE}/qd.pdf", docgen.pdf_bytes(docgen.DECISION))
    _store(db, f"{BASE}/cv.docx", docgen.docx_bytes(docgen.LETTER))
    _store(db, f"{BASE}/ctr.pdf", docgen.pdf_bytes(docgen.PARTY_PROGRAMME))
    _store(db, f"{BASE}/scan.pdf", docgen.scanned_pdf_bytes())

    assert [d["number"] for d in list_documents(db)] == ["1234/STTTT-CĐS", "2971/QĐ-UBND", "257-CTr/TU", None]
    assert [d["number"] for d in list_documents(db, doc_type="quyet dinh")] == ["2971/QĐ-UBND"]
    assert [d["number"] for d in list_documents(db, doc_type="Công văn")] == ["1234/STTTT-CĐS"]
    assert [d["number"] for d in list_documents(db, doc_type="qd")] == ["2971/QĐ-UBND"]
    assert [d["number"] for d in list_documents(db, doc_type="CTr")] == ["257-CTr/TU"]
    assert [d["number"] for d in list_documents(db, issuer="Thanh Hoá")] == ["2971/QĐ-UBND", "257-CTr/TU"]
    assert [d["number"] for d in list_documents(db, issuer="stttt")] == ["1234/STTTT-CĐS"]
    assert [d["number"] for d in list_documents(db, since="2022-01-01")] == ["1234/STTTT-CĐS", "2971/QĐ-UBND"]
    assert [d["number"] for d in list_documents(db, since="2021-01-01", until="2023-12-31")] == \
        ["2971/QĐ-UBND", "257-CTr/TU"]
    assert [d["url"] for d in list_documents(db, status="scanned_no_text")] == [f"{BASE}/scan.pdf"]


def test_documents_finds_a_document_known_only_from_the_articles_citing_it(tmp_path):
    """No file was downloaded for 215/KH-UBND, but an article cites it: `documents NUMBER` shows it
    as cited, with the citing article, instead of 'no stored document'."""
    import json

    from crawler.db import open_db
    from helpers import REPO, danang_article, run_dxwatch
    from pipelines.storage import save_article

    db_path = tmp_path / "cited.db"
    save_article(open_db(db_path), danang_article())
    shown = run_dxwatch(REPO / "config", db_path, "documents", "215/KH-UBND", "--json")
    assert shown.returncode == 0, shown.stderr
    found = json.loads(shown.stdout)
    assert (found["number"], found["type"]) == ("215/KH-UBND", "Kế hoạch")
    assert [(a["url"], a["how"]) for a in found["articles"]] == [(danang_article()["url"], "number")]
    missing = run_dxwatch(REPO / "config", db_path, "documents", "999/KH-UBND")
    assert missing.returncode == 1 and "no stored or cited document numbered '999/KH-UBND'" in missing.stderr
