"""Precision and recall of figure, directive and instruction extraction on the annotated set.

`python bench/facts_eval.py` prints a table per kind; `tests/test_facts_eval.py` checks the targets
(precision >= 0.95 and recall >= 0.92 for figures and document references) with `evaluate()`.
The set is in tests/facts_eval/ (sentences written for dxwatch, annotated by hand).
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.textnorm import match_key  # noqa: E402
from pipelines.references import extract_references  # noqa: E402
from pipelines.instructions import extract_instructions  # noqa: E402
from pipelines.figures import extract_figures  # noqa: E402

EVAL_DIR = ROOT / "tests" / "facts_eval"


def load(name: str) -> list[dict]:
    return yaml.safe_load((EVAL_DIR / name).read_text(encoding="utf-8"))


def _gold_figure(spec: str) -> dict:
    """"kind value [value2]", optionally followed by "| shown | word, word [| role]": the number with its
    unit as written and the words its label must contain (figure_labels*.yaml, seeds.yaml)."""
    head, *label = [part.strip() for part in spec.split("|")]
    kind, *values = head.split()
    gold = {"kind": kind, "value": float(values[0]), "value2": float(values[1]) if len(values) > 1 else None}
    if label:
        gold["shown"] = label[0]
        gold["words"] = [w.strip() for w in label[1].split(",") if w.strip()] if len(label) > 1 else []
        gold["role"] = label[2] if len(label) > 2 else None
    return gold


def label_errors(gold: dict, got: dict) -> list[str]:
    """What the label of a found figure lacks: its number and unit as written, a word of its subject
    or period, the right role. Empty when the label reads right."""
    label = got.get("label") or ""
    errors = [] if gold["shown"] in label else [f"number+unit {gold['shown']!r}"]
    errors += [f"word {w!r}" for w in gold["words"] if match_key(w) not in match_key(label)]
    if gold["role"] != got.get("role"):
        errors.append(f"role {got.get('role')!r} (gold {gold['role']!r})")
    return errors


class LabelTally:
    """Of the labelled gold figures that were found (by value), how many labels read right."""

    def __init__(self) -> None:
        self.right = self.found = self.gold = 0
        self.roles_right = self.roles = 0
        self.errors: list[str] = []

    def add(self, text: str, gold: list[dict], got: list[dict]) -> None:
        unmatched = list(got)
        for g in (g for g in gold if "shown" in g):
            self.gold += 1
            hit = next((p for p in unmatched if _figure_matches(g, p)), None)
            if hit is None:
                self.errors.append(f"NOT FOUND {g['kind']} {g['shown']} in: {text[:90]}")
                continue
            unmatched.remove(hit)
            self.found += 1
            errors = label_errors(g, hit)
            self.right += not errors
            if g["role"] or hit.get("role"):
                self.roles += 1
                self.roles_right += g["role"] == hit.get("role")
            if errors:
                self.errors.append(f"LABEL {g['shown']}: {hit.get('label')!r} lacks {', '.join(errors)}")

    @property
    def accuracy(self) -> float:
        return self.right / self.found if self.found else 1.0


def label_tally(*names: str, seeds_dir: Path | None = None) -> LabelTally:
    """Label accuracy on annotated sets (and on the real seed texts, when `seeds_dir` is given)."""
    tally = LabelTally()
    for name in names:
        for entry in load(name):
            if "seed" in entry:
                path = (seeds_dir or SEEDS) / entry["seed"]
                if not path.is_file():
                    continue
                text = path.read_text(encoding="utf-8")
            else:
                text = entry["text"]
            tally.add(text if "seed" not in entry else entry["seed"],
                      [_gold_figure(s) for s in entry["figures"]], extract_figures(text))
    return tally


def _same_number(a: float | None, b: float | None) -> bool:
    return a is None or (b is not None and math.isclose(a, b, rel_tol=1e-9))


def _figure_matches(gold: dict, got: dict) -> bool:
    return (gold["kind"] == got["kind"] and _same_number(gold["value"], got["value"])
            and _same_number(gold["value2"], got.get("value2")))


def _directive_matches(gold: dict, got: dict) -> bool:
    return gold["key"] == got["key"] and gold.get("kind", got["kind"]) == got["kind"]


def _instruction_matches(gold: dict, got: dict) -> bool:
    if gold["verb"] != got["verb"] or match_key(gold["director"]) not in match_key(got["director"] or ""):
        return False
    return "directed" not in gold or match_key(gold["directed"] or "") == match_key(got["directed"] or "")


class Tally:
    """True positives, false positives and false negatives per kind, with the misses kept for reading."""

    def __init__(self) -> None:
        self.tp, self.fp, self.fn = Counter(), Counter(), Counter()
        self.errors: list[str] = []

    def add(self, text: str, gold: list[dict], got: list[dict], matches, kind_of) -> None:
        unmatched = list(got)
        for g in gold:
            hit = next((p for p in unmatched if matches(g, p)), None)
            if hit is not None:
                unmatched.remove(hit)
                self.tp[kind_of(g)] += 1
            else:
                self.fn[kind_of(g)] += 1
                self.errors.append(f"MISSED {g} in: {text}")
        for p in unmatched:
            self.fp[kind_of(p)] += 1
            self.errors.append(f"EXTRA {_brief(p)} in: {text}")

    def scores(self, kinds=None) -> tuple[float, float, int]:
        kinds = kinds or set(self.tp) | set(self.fp) | set(self.fn)
        tp = sum(self.tp[k] for k in kinds)
        fp = sum(self.fp[k] for k in kinds)
        fn = sum(self.fn[k] for k in kinds)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        return precision, recall, tp + fn

    def rows(self) -> list[tuple[str, float, float, int]]:
        kinds = sorted(set(self.tp) | set(self.fp) | set(self.fn))
        return [(k, *self.scores({k})) for k in kinds] + [("ALL", *self.scores())]


def _brief(fact: dict) -> str:
    fields = ("kind", "value", "value2", "unit", "key", "director", "verb", "directed")
    return str({k: fact[k] for k in fields if fact.get(k) is not None})


def _figures_tally(*names: str) -> Tally:
    tally = Tally()
    for name in names:
        for entry in load(name):
            tally.add(entry["text"], [_gold_figure(s) for s in entry["figures"]], extract_figures(entry["text"]),
                      _figure_matches, lambda f: f["kind"])
    return tally


def _directives_tally(*names: str) -> Tally:
    tally = Tally()
    for name in names:
        for entry in load(name):
            tally.add(entry["text"], entry["directives"], extract_references(entry["text"]),
                      _directive_matches, lambda d: d["kind"])
    return tally


def evaluate() -> dict[str, Tally]:
    """Tallies for each whole set, and for the held-out parts (written after tuning) on their own."""
    figures, directives, instructions = _figures_tally("figures.yaml", "figures_heldout.yaml"), Tally(), Tally()
    directives = _directives_tally("directives.yaml", "directives_heldout.yaml")
    for entry in load("instructions.yaml"):
        instructions.add(entry["text"], entry["instructions"], extract_instructions(entry["text"]),
                         _instruction_matches, lambda i: i["verb"])
    return {"figures (all)": figures, "figures (held-out)": _figures_tally("figures_heldout.yaml"),
            "directives (all)": directives, "directives (held-out)": _directives_tally("directives_heldout.yaml"),
            "instructions": instructions}


def field_accuracy() -> dict[str, tuple[int, int]]:
    """For facts found: how often the annotated fields agree (directives: date, issuer, type, title;
    instructions: deadline)."""
    right, total = Counter(), Counter()
    for entry in load("directives.yaml") + load("directives_heldout.yaml"):
        got = extract_references(entry["text"])
        for g in entry["directives"]:
            hit = next((p for p in got if _directive_matches(g, p)), None)
            if hit is None:
                continue
            for field in ("date", "issuer", "type", "title"):
                if field in g:
                    total[field] += 1
                    right[field] += str(g[field]) == str(hit.get(field))
    for entry in load("instructions.yaml"):
        got = extract_instructions(entry["text"])
        for g in entry["instructions"]:
            hit = next((p for p in got if _instruction_matches(g, p)), None)
            if hit is not None and "deadline" in g:
                total["deadline"] += 1
                right["deadline"] += g["deadline"] == hit["deadline"]
    return {f: (right[f], total[f]) for f in total}


SEEDS = ROOT.parent / "shared" / "seeds"


def seed_tallies(seeds_dir: Path = SEEDS) -> dict[str, Tally] | None:
    """Figures and references on the real portal texts of ../shared/seeds (None when they are absent)."""
    if not seeds_dir.is_dir():
        return None
    figures, directives = Tally(), Tally()
    for entry in load("seeds.yaml"):
        path = seeds_dir / entry["seed"]
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        figures.add(entry["seed"], [_gold_figure(s) for s in entry["figures"]], extract_figures(text),
                    _figure_matches, lambda f: f["kind"])
        directives.add(entry["seed"], entry["directives"], extract_references(text), _directive_matches,
                       lambda d: d["kind"])
    return {"figures (seeds)": figures, "directives (seeds)": directives}


def relevance_scores() -> tuple[float, float, int, list[str]]:
    """Precision and recall of `relevant` on tests/facts_eval/relevance.yaml, with the articles it got wrong."""
    from pipelines.relevance import score_relevance

    tp = fp = fn = 0
    wrong = []
    entries = load("relevance.yaml")
    for e in entries:
        relevant, score, keywords = score_relevance(e["title"], e["text"], e["url"])
        tp += relevant and e["relevant"]
        fp += relevant and not e["relevant"]
        fn += e["relevant"] and not relevant
        if relevant != e["relevant"]:
            wrong.append(f"{'EXTRA' if relevant else 'MISSED'} score {score} {keywords}: {e['title']}")
    return tp / ((tp + fp) or 1), tp / ((tp + fn) or 1), len(entries), wrong


def speed(rounds: int = 5) -> dict[str, float]:
    """Seconds per article for facts and relevance, against trafilatura extraction of the same article.

    Articles are the evaluation sentences joined 20 at a time (about 2-3 KB each, like a portal news
    item); the best of `rounds` runs is kept for each stage.
    """
    import html
    import time

    import trafilatura

    from pipelines.facts import article_facts
    from pipelines.relevance import score_relevance

    sentences = [e["text"] for name in ("figures.yaml", "figures_heldout.yaml", "directives.yaml",
                                        "instructions.yaml") for e in load(name)]
    articles = [" ".join(sentences[i:i + 20]) for i in range(0, len(sentences), 20)]
    pages = ["<html><body><nav>Trang chủ | Tin tức</nav><article><h1>Tin chuyển đổi số</h1>"
             + "".join(f"<p>{html.escape(s)}</p>" for s in sentences[i:i + 20])
             + "</article><footer>Cổng thông tin điện tử</footer></body></html>" for i in range(0, len(sentences), 20)]

    def best(work) -> float:
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
        return min(times) / len(articles)

    extraction = best(lambda: [trafilatura.extract(p) for p in pages])
    facts = best(lambda: [article_facts("Tin chuyển đổi số", a, "Thanh Hóa") for a in articles])
    relevance = best(lambda: [score_relevance("Tin chuyển đổi số", a, "https://x.gov.vn/chuyen-doi-so/1") for a in articles])
    normal_per_kb = facts / (sum(map(len, articles)) / len(articles) / 1000)
    hostile = {
        "one 20,000-digit number": "1" * 20000,
        "'1.' x 20,000": "1." * 20000,
        "endless document symbol": "12/QĐ-" + "A-" * 20000,
        "'5% ' x 20,000 (one sentence)": "5% " * 20000,
        "seed-like article x 20": " ".join(articles) * 4,
    }
    per_kb = {}
    for name, text in hostile.items():
        start = time.perf_counter()
        article_facts(None, text)
        per_kb[name] = (time.perf_counter() - start) / (len(text) / 1000)
    return {"articles": len(articles), "chars": sum(map(len, articles)) / len(articles),
            "extraction": extraction, "facts": facts, "relevance": relevance,
            "normal_per_kb": normal_per_kb, "hostile_per_kb": per_kb}


LABEL_SETS = {"labels (tuning)": ("figure_labels.yaml",), "labels (held-out)": ("figure_labels_heldout.yaml",),
              "labels (real seed texts)": ("seeds.yaml",)}


def main() -> None:
    show_errors = "-v" in sys.argv
    results = evaluate()
    for name, tally in results.items():
        print(f"\n{name}")
        print(f"  {'kind':<16}{'precision':>10}{'recall':>10}{'gold':>8}")
        for kind, p, r, n in tally.rows():
            print(f"  {kind:<16}{p:>10.3f}{r:>10.3f}{n:>8}")
        if show_errors:
            for line in tally.errors:
                print("   ", line)
    print("\nfields of facts found (right/annotated):",
          ", ".join(f"{f} {r}/{t}" for f, (r, t) in sorted(field_accuracy().items())))
    for name, tally in (seed_tallies() or {}).items():
        precision, recall, n = tally.scores()
        print(f"\n{name}: precision {precision:.3f}, recall {recall:.3f}, gold {n}")
        if show_errors:
            for line in tally.errors:
                print("   ", line)
    print("\nfigure labels: number+unit as written, subject and period words, role (found figures only)")
    for name, files in LABEL_SETS.items():
        if not all((EVAL_DIR / f).is_file() for f in files):
            continue
        tally = label_tally(*files)
        print(f"  {name:<26} labels right {tally.right}/{tally.found} = {tally.accuracy:.3f}"
              f"  (roles {tally.roles_right}/{tally.roles}; gold {tally.gold}, found {tally.found})")
        if show_errors:
            for line in tally.errors:
                print("   ", line)
    precision, recall, n, wrong = relevance_scores()
    print(f"\nrelevance ({n} articles): precision {precision:.3f}, recall {recall:.3f}")
    if show_errors:
        for line in wrong:
            print("   ", line)
    s = speed()
    print(f"\nspeed per article ({s['articles']} articles of {s['chars']:.0f} characters, best of 5):")
    print(f"  trafilatura extraction (baseline) {s['extraction'] * 1000:7.2f} ms")
    for stage in ("facts", "relevance"):
        print(f"  {stage:<33}{s[stage] * 1000:7.2f} ms  = {s[stage] / s['extraction']:.2f} x extraction")
    print(f"\nfacts on hostile text, per KB, against the articles above ({s['normal_per_kb'] * 1000:.2f} ms/KB):")
    for name, per_kb in s["hostile_per_kb"].items():
        print(f"  {name:<33}{per_kb * 1000:7.2f} ms/KB = {per_kb / s['normal_per_kb']:.1f} x")


if __name__ == "__main__":
    main()
