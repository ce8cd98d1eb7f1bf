"""Instructions: a leader or body directing someone ("Chủ tịch UBND tỉnh yêu cầu Sở TT&TT ...").

The extractor is `pipelines/instructions.py`; instructions are read from the body only.
"""

from __future__ import annotations

from pipelines.instructions import extract_instructions
from pipelines.kinds import FactKind


class Instructions(FactKind):
    __kind__ = "instructions"
    order = 3
    table = "instructions"
    columns = ("key", "director", "verb", "directed", "action", "deadline", "context")
    digest_section = "instructions"
    digest_label = "chỉ đạo"
    ledger_item = "instruction"
    alert_item = "directives"
    description = "a leader or body directing someone: who, the verb, whom, what, by when"

    def extract(self, title, text, province):
        return extract_instructions(text or "")

    def describe(self, fact):
        parts = [fact.get("director"), fact.get("verb"), fact.get("directed"), fact.get("action"), fact.get("deadline")]
        return " · ".join(str(p) for p in parts if p)
