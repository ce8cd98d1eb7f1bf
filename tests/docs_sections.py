"""Find a `<!-- section:NAME -->` block wherever it lives: the README or a page of `docs/`.

The README was split into `docs/*.md`; a test that checks a section names the section, not the file,
so moving a section between pages does not break it.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC_FILES = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))


def docs_section(name: str) -> str:
    """The text between `<!-- section:NAME -->` and `<!-- /section:NAME -->`, in whichever file holds it."""
    start, end = f"<!-- section:{name} -->", f"<!-- /section:{name} -->"
    found = [text for text in (path.read_text(encoding="utf-8") for path in DOC_FILES) if start in text]
    assert len(found) == 1, f"section {name!r} is in {len(found)} files of README.md and docs/ (expected one)"
    text = found[0]
    return text[text.index(start):text.index(end)]
