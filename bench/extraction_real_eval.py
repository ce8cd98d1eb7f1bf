"""Extraction on real pages nobody here wrote: dxwatch against plain trafilatura, in one run.

1. WCXB development split, article pages (`../shared/benchmarks/wcxb-dev/`, about 790 pages from
   about 700 sites, mostly English). Scored as the benchmark scores (its README: the ScrapingHub
   method): word 4-gram shingles of `\\w+` tokens; per page the precision and recall of the shingle
   multisets; precision averaged over pages that returned text, recall over pages with gold text;
   F1 from the two means. Pages are split deterministically by a hash of the file id into a tuning
   part (2/3: the only part anyone may look at while changing the extractor) and a held-out part
   (1/3), reported separately. Speed: ms per page of dxwatch, of plain trafilatura
   (`trafilatura.extract(html, include_comments=False)`, as the benchmark runs it) and of
   trafilatura with its metadata, timed page by page, interleaved, in the same run.
2. Real Vietnamese news pages (`../shared/real-pages/`), per field: title, date-time (to the
   minute), byline, lead (sapo), first and last paragraph exact, and no furniture string from the
   gold's `body_must_not_contain` in the text.

Run: `.venv/bin/python bench/extraction_real_eval.py` (`--split tuning|heldout|all`, `--markdown`
for the BENCHMARKS.md tables, `--worst N` to list the tuning pages dxwatch scores worst on, which
is how the tuning split is meant to be used). Exits 1 when dxwatch's held-out F1 is below
trafilatura's or it returns nothing on a page where trafilatura finds text.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

import trafilatura

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.textnorm import normalize_text  # noqa: E402
from pipelines.extraction import extract_article  # noqa: E402

SHARED = REPO.parent / "shared"
WCXB = SHARED / "benchmarks" / "wcxb-dev"
REAL = SHARED / "real-pages"
HELDOUT_EVERY = 3  # one page in three is held out
_TOKEN = re.compile(r"\w+")


# ---------------------------------------------------------------- the benchmark's metric


def shingles(text: str, n: int = 4) -> Counter:
    """Word n-gram shingles of `\\w+` tokens; a text shorter than n tokens is one shorter shingle."""
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i:i + n])


def page_counts(found: str, gold: str) -> tuple[int, int, int]:
    """(true positive, false positive, false negative) shingles of one page."""
    got, want = shingles(found), shingles(gold)
    tp = sum((got & want).values())
    return tp, sum(got.values()) - tp, sum(want.values()) - tp


def page_precision(tp: int, fp: int, fn: int) -> float | None:
    """None when the page returned no text: the benchmark leaves such pages out of precision."""
    if tp + fp == 0:
        return None if fn else 1.0
    return tp / (tp + fp)


def page_recall(tp: int, fp: int, fn: int) -> float | None:
    if tp + fn == 0:
        return None if fp else 1.0
    return tp / (tp + fn)


def prf(counts: list[tuple[int, int, int]]) -> dict:
    ps = [p for c in counts if (p := page_precision(*c)) is not None]
    rs = [r for c in counts if (r := page_recall(*c)) is not None]
    precision = sum(ps) / len(ps) if ps else 0.0
    recall = sum(rs) / len(rs) if rs else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pages": len(counts),
            "empty": sum(1 for tp, fp, _ in counts if tp + fp == 0)}


# ---------------------------------------------------------------- extractors under test


def dxwatch_text(html: str, url: str | None) -> str:
    art = extract_article(html, url)
    return art["text"] if art else ""


def trafilatura_text(html: str, url: str | None) -> str:
    """Plain trafilatura as a user (and the benchmark's own runner) calls it."""
    return trafilatura.extract(html, include_comments=False) or ""


def trafilatura_with_metadata(html: str, url: str | None) -> str:
    """The same with title, date and author: the work dxwatch does, for the speed comparison."""
    doc = trafilatura.bare_extraction(html, url=url, include_comments=False, with_metadata=True)
    return (doc.text or "") if doc is not None else ""


EXTRACTORS = {"dxwatch": dxwatch_text, "trafilatura": trafilatura_text,
              "trafilatura with metadata": trafilatura_with_metadata}
SCORED = ("dxwatch", "trafilatura")


# ---------------------------------------------------------------- WCXB


def split_of(file_id: str) -> str:
    """Deterministic: the same page is in the same part on every machine and every run."""
    digest = hashlib.sha256(f"wcxb-dev:{file_id}".encode()).digest()
    return "heldout" if int.from_bytes(digest[:4], "big") % HELDOUT_EVERY == 0 else "tuning"


def wcxb_pages(split: str = "all") -> list[dict]:
    """The article pages of the chosen part, with html, url and gold text."""
    pages = []
    for path in sorted((WCXB / "ground-truth").glob("*.json")):
        gold = json.loads(path.read_text(encoding="utf-8"))
        if gold["_internal"]["page_type"]["primary"] != "article" or not gold["ground_truth"].get("main_content"):
            continue  # one article page has no gold text: nothing to score it against
        part = split_of(path.stem)
        if split != "all" and part != split:
            continue
        html = gzip.decompress((WCXB / "html" / f"{path.stem}.html.gz").read_bytes()).decode("utf-8", "replace")
        pages.append({"id": path.stem, "split": part, "url": gold.get("url"), "html": html,
                      "gold": gold["ground_truth"]["main_content"]})
    return pages


def run_pages(pages: list[dict]) -> tuple[dict[str, list[str]], dict[str, float]]:
    """Every extractor on every page, interleaved page by page (load from other jobs falls on all
    alike), after a warm-up: the texts and the mean ms per page."""
    for page in pages[:3]:
        for run in EXTRACTORS.values():
            run(page["html"], page["url"])
    texts = {name: [] for name in EXTRACTORS}
    totals = dict.fromkeys(EXTRACTORS, 0.0)
    for page in pages:
        for name, run in EXTRACTORS.items():
            started = time.perf_counter()
            texts[name].append(run(page["html"], page["url"]))
            totals[name] += time.perf_counter() - started
    return texts, {name: 1000 * total / max(1, len(pages)) for name, total in totals.items()}


def evaluate_wcxb(split: str = "all") -> dict:
    pages = wcxb_pages(split)
    texts, speed = run_pages(pages)
    report = {"speed": speed, "parts": {}, "pages": {}}
    counts = {name: [page_counts(t, p["gold"]) for t, p in zip(texts[name], pages)] for name in SCORED}
    for part in sorted({p["split"] for p in pages}) + (["all"] if split == "all" else []):
        chosen = [i for i, p in enumerate(pages) if part == "all" or p["split"] == part]
        report["parts"][part] = {name: prf([counts[name][i] for i in chosen]) for name in SCORED}
        report["parts"][part]["lost"] = sum(1 for i in chosen if not texts["dxwatch"][i].strip()
                                            and texts["trafilatura"][i].strip())
    for i, page in enumerate(pages):
        report["pages"][page["id"]] = {"split": page["split"], **{
            name: round(prf([counts[name][i]])["f1"], 4) for name in SCORED}}
    return report


# ---------------------------------------------------------------- real Vietnamese pages

FIELDS = ("title", "published", "author", "lead", "first_paragraph", "last_paragraph", "no_furniture")
_DATELINE = re.compile(r"^\([^()]{2,30}\)\s*[-–—]\s*")


def _same(a, b) -> bool:
    return normalize_text(a or "").casefold() == normalize_text(b or "").casefold()


def real_articles() -> list[dict]:
    rows = [json.loads(line) for line in (REAL / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line]
    for row in rows:
        row["html"] = (REAL / "pages" / row["file"]).read_bytes()
    return [row for row in rows if row.get("kind") == "article"]


def field_checks(out: dict, gold: dict) -> dict[str, bool]:
    """Which fields of one extracted article equal the gold (spaces normalised; the date to the
    minute; any of the author's fair spellings; the lead as printed or without its dateline)."""
    paragraphs = [p for p in (out.get("text") or "").split("\n\n") if p.strip()]
    authors = [gold.get("author"), *gold.get("author_alternatives", [])]
    published = out.get("published") or ""
    lead = gold.get("lead")
    body_lead = _DATELINE.sub("", normalize_text(lead or ""))
    return {
        "title": _same(out.get("title"), gold["title"]),
        "published": published[:16] == (gold.get("published") or "")[:16] and bool(published) == bool(gold.get("published")),
        "author": any(_same(out.get("author"), a) if a else out.get("author") is None for a in authors),
        "lead": _same(out.get("lead"), lead) if lead else not out.get("lead"),
        "first_paragraph": bool(paragraphs) and (
            _same(paragraphs[0], gold["first_paragraph"])
            or (len(paragraphs) > 1 and _same(paragraphs[0], body_lead) and _same(paragraphs[1], gold["first_paragraph"]))),
        "last_paragraph": bool(paragraphs) and _same(paragraphs[-1], gold["last_paragraph"]),
        "no_furniture": not any(s.casefold() in (out.get("text") or "").casefold()
                                for s in gold.get("body_must_not_contain", [])),
    }


def trafilatura_article(html: bytes, url: str | None) -> dict:
    doc = trafilatura.bare_extraction(html, url=url, include_comments=False, with_metadata=True)
    if doc is None:
        return {}
    text = "\n\n".join(p for p in (doc.text or "").split("\n") if p.strip())
    return {"title": doc.title, "published": doc.date, "author": doc.author, "lead": doc.description, "text": text}


def evaluate_real() -> dict:
    rows = real_articles()
    report = {}
    for name, run in (("dxwatch", lambda h, u: extract_article(h, u) or {}), ("trafilatura", trafilatura_article)):
        per_page = {row["file"]: field_checks(run(row["html"], row["url"]), row) for row in rows}
        report[name] = {"pages": len(rows), "fields": {f: sum(c[f] for c in per_page.values()) for f in FIELDS},
                        "misses": {file: [f for f, ok in c.items() if not ok] for file, c in per_page.items()
                                   if not all(c.values())}}
    return report


# ---------------------------------------------------------------- output


def markdown(wcxb: dict | None, real: dict | None) -> str:
    lines = []
    if wcxb:
        lines += ["WCXB development split, article pages (4-gram shingles, the benchmark's own scoring):", "",
                  "| part | pages | extractor | P | R | F1 | pages with no text | lost (trafilatura found text) |",
                  "|---|---|---|---|---|---|---|---|"]
        for part, report in wcxb["parts"].items():
            for name in SCORED:
                r = report[name]
                lost = report["lost"] if name == "dxwatch" else "-"
                lines.append(f"| {part} | {r['pages']} | {name} | {r['precision']:.4f} | {r['recall']:.4f} | "
                             f"{r['f1']:.4f} | {r['empty']} | {lost} |")
        speed = wcxb["speed"]
        base = speed["trafilatura with metadata"]
        lines += ["", "Speed on the same pages, same run (ms per page, interleaved):", "",
                  "| extractor | ms/page | ratio to trafilatura with metadata |", "|---|---|---|"]
        lines += [f"| {name} | {ms:.1f} | {ms / base:.2f}x |" for name, ms in speed.items()]
    if real:
        n = real["dxwatch"]["pages"]
        lines += ["", f"Real Vietnamese news pages (`../shared/real-pages/`, {n} articles), fields exact:", "",
                  "| extractor | " + " | ".join(FIELDS) + " |", "|---|" + "---|" * len(FIELDS)]
        for name, r in real.items():
            lines.append(f"| {name} | " + " | ".join(f"{r['fields'][f]}/{n}" for f in FIELDS) + " |")
    return "\n".join(lines)


def failures(wcxb: dict | None) -> list[str]:
    if not wcxb or "heldout" not in wcxb["parts"]:
        return []
    held = wcxb["parts"]["heldout"]
    out = []
    if held["dxwatch"]["f1"] <= held["trafilatura"]["f1"]:
        out.append(f"held-out F1 {held['dxwatch']['f1']:.4f} not above trafilatura {held['trafilatura']['f1']:.4f}")
    if held["lost"]:
        out.append(f"{held['lost']} held-out pages with no text where trafilatura finds an article")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("tuning", "heldout", "all"), default="all")
    parser.add_argument("--markdown", action="store_true", help="print the BENCHMARKS.md tables only")
    parser.add_argument("--worst", type=int, default=0, help="list the N tuning pages with the largest F1 loss")
    args = parser.parse_args()
    if not WCXB.is_dir() and not REAL.is_dir():
        print("../shared/benchmarks/wcxb-dev and ../shared/real-pages are not present: nothing to evaluate")
        return 0
    wcxb = evaluate_wcxb(args.split) if WCXB.is_dir() else None
    real = evaluate_real() if REAL.is_dir() else None
    print(markdown(wcxb, real))
    if not args.markdown and real:
        for name, r in real.items():
            for file, missed in r["misses"].items():
                print(f"real-pages miss ({name}): {file}: {', '.join(missed)}")
    if wcxb and args.worst:
        tuning = [(v["dxwatch"] - v["trafilatura"], k, v) for k, v in wcxb["pages"].items() if v["split"] == "tuning"]
        for loss, key, v in sorted(tuning)[:args.worst]:
            print(f"tuning page {key}: dxwatch {v['dxwatch']:.3f} trafilatura {v['trafilatura']:.3f} ({loss:+.3f})")
    missed = failures(wcxb)
    for line in missed:
        print("TARGET MISSED:", line)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
