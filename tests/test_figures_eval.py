"""The annotated evaluation set (tests/facts_eval/) meets the precision and recall targets."""

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import facts_eval  # noqa: E402


@pytest.fixture(scope="module")
def results():
    return facts_eval.evaluate()


def test_the_set_is_large_enough():
    figures = sum(len(e["figures"]) for name in ("figures.yaml", "figures_heldout.yaml") for e in facts_eval.load(name))
    directives = sum(len(e["directives"]) for name in ("directives.yaml", "directives_heldout.yaml")
                     for e in facts_eval.load(name))
    traps = sum(1 for e in facts_eval.load("figures.yaml") if not e["figures"])
    assert figures >= 200 and directives >= 80 and traps >= 30


@pytest.mark.parametrize("name", ["figures (all)", "figures (held-out)", "directives (all)", "directives (held-out)"])
def test_targets(results, name):
    precision, recall, _ = results[name].scores()
    assert precision >= 0.95, results[name].errors
    assert recall >= 0.92, results[name].errors


def test_every_kind_is_covered(results):
    assert {"percent", "change", "pp", "money", "count", "ratio", "rank", "multiplier", "target"} <= set(
        results["figures (all)"].tp)
    assert {"normative", "administrative", "official_letter", "party", "law", "named"} <= set(results["directives (all)"].tp)


def test_directive_fields_are_right_where_annotated():
    for field, (right, total) in facts_eval.field_accuracy().items():
        assert total and right / total >= 0.95, field


def test_real_portal_texts(shared_dir):
    tallies = facts_eval.seed_tallies(shared_dir / "seeds")
    if not tallies or not sum(t.scores()[2] for t in tallies.values()):
        pytest.skip("no seed texts")
    for name, tally in tallies.items():
        assert tally.scores()[:2] == (1.0, 1.0), (name, tally.errors)


@pytest.mark.parametrize("name, target", [("figure_labels.yaml", 0.95), ("figure_labels_heldout.yaml", 0.9)])
def test_figure_labels_read_right(name, target):
    """Each found figure's label has its number and unit as written, its subject and period words, its role."""
    tally = facts_eval.label_tally(name)
    assert tally.gold >= 40 and tally.found >= 0.95 * tally.gold
    assert tally.accuracy >= target, tally.errors
    assert tally.roles and tally.roles_right == tally.roles, tally.errors


def test_figure_labels_on_real_portal_texts(shared_dir):
    seeds = shared_dir / "seeds"
    if not seeds.is_dir():
        pytest.skip("no seed texts")
    tally = facts_eval.label_tally("seeds.yaml", seeds_dir=seeds)
    assert tally.found and tally.accuracy >= 0.9, tally.errors
