"""References: documents cited in the text ("Quyết định số 2971/QĐ-UBND", "Đề án 06").

Stored in the table `directives` and exported under that name (a public interface); in digests
they are the section "documents" ("văn bản"). The extractor is `pipelines/references.py`; this
kind makes a local number local: "2971/QĐ-UBND" of two provinces is two documents.
"""

from __future__ import annotations

from pipelines.references import extract_references
from pipelines.kinds import FactKind

# Issuers whose numbering is per province: "2971/QĐ-UBND", "55/2025/NQ-HĐND" or "05-NQ/TU" of two
# provinces are two documents. Sở (department) codes start with S: STTTT, SKHCN, SNV.
LOCAL_ISSUERS = {"UBND", "HĐND", "TU", "HU", "ĐU", "QU", "BCĐ", "VP"}


def _local(issuer: str | None) -> bool:
    return bool(issuer) and (issuer in LOCAL_ISSUERS or (issuer.startswith("S") and issuer.isupper() and len(issuer) > 2))


class References(FactKind):
    __kind__ = "references"
    order = 2
    table = "directives"
    columns = ("key", "number", "type", "issuer", "year", "date", "title", "kind", "raw", "context")
    in_documents = True
    digest_section = "documents"
    digest_label = "văn bản"
    ledger_item = "document"
    alert_item = "directives"
    description = "documents cited in the text: numbered decisions, plans, Party documents and named programmes"

    def extract(self, title, text, province):
        found = [d for part in (title, text) if part for d in extract_references(part)]
        if province:
            for d in found:
                if d["kind"] not in {"law", "named"} and _local(d.get("issuer")):
                    d["key"] = f"{d['key']} ({province})"
        return found

    def describe(self, fact):
        parts = [fact.get("number"), fact.get("type") if fact.get("type") not in (fact.get("number") or "") else None,
                 fact.get("date"), fact.get("title")]
        return " · ".join(str(p) for p in parts if p)
