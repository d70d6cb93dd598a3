"""The Registry API on SQLite and PostgreSQL: what other modules rely on."""

from __future__ import annotations

import random

import numpy as np
import pytest

from evoenv.hashing import code_sha256
from evoenv.registry import RegistryError, UnknownEnvironment, UnknownRun
from evoenv.stages import StageResult


def env_code(tag: str, body: str = "return 1") -> str:
    return (f"class Env_{tag}:\n    name = 'env_{tag}'\n    description = 'counts {tag}'\n"
            f"    max_difficulty = 10\n    def sample(self, seed, difficulty):\n        {body}\n")


def add(reg, tag: str, **kw):
    kw.setdefault("name", f"env_{tag}")
    kw.setdefault("description", f"an environment about {tag}")
    kw.setdefault("max_difficulty", 10)
    return reg.add_candidate(env_code(tag), **kw)


def passing(*stages: str) -> list[StageResult]:
    return [StageResult(stage, True, reason="ok", score=1.0, details={"seeds": [1, 2]}, duration_s=0.01)
            for stage in stages]


def test_add_candidate_stores_everything_and_is_idempotent_on_hash(reg):
    run = reg.start_run("grow", {"k": 4})
    parent = add(reg, "parent", origin="seed", tags=["seed", "dp"])
    child = add(reg, "child", generation=1, parents=[(parent.id, "mutation")], run_id=run,
                proposal={"prompt": "write one", "completion": "```python ...```", "prompt_tokens": 10,
                          "completion_tokens": 200, "cost": 0.002}, tags=["dp"])
    assert child.status == "candidate" and child.origin == "generated" and child.generation == 1
    assert child.code_sha256 == code_sha256(env_code("child")) and child.run_id == run
    assert parent.tags == ("dp", "seed")
    # The same program, saved with different line endings and trailing blanks, is the same environment.
    again = reg.add_candidate(env_code("child").replace("\n", "  \r\n") + "\n\n", name="renamed",
                              description="x", max_difficulty=3,
                              proposal={"prompt": "p2", "completion": "c2"})
    assert again.id == child.id and again.name == "env_child"
    assert reg.count_envs() == 2
    assert [p["prompt"] for p in reg.proposals(child.id)] == ["write one", "p2"]
    assert reg.proposals(child.id)[0]["completion_tokens"] == 200
    assert reg.lineage(child.id) == {"parents": [{"id": parent.id, "name": "env_parent", "status": "candidate",
                                                  "generation": 0, "relation": "mutation"}], "children": []}
    assert reg.lineage(parent.id)["children"][0]["id"] == child.id
    assert reg.lineage_many([child.id, parent.id, 999]) == {
        child.id: reg.lineage(child.id), parent.id: reg.lineage(parent.id), 999: {"parents": [], "children": []}}
    assert reg.lineage_many([]) == {}
    assert reg.by_hash(child.code_sha256) == reg.get(child.id)
    assert reg.by_hash("0" * 64) is None


@pytest.mark.parametrize("kwargs, fragment", [
    ({"name": ""}, "name"),
    ({"max_difficulty": 0}, "max_difficulty"),
    ({"origin": "alien"}, "origin must be one of seed, generated, imported"),
    ({"parents": [(1, "cloning")]}, "relation one of mutation"),
    ({"parents": [(999, "mutation")]}, "parent environment 999 does not exist"),
    ({"run_id": 999}, "no run with id 999"),
    ({"proposal": {"prompt": "p"}}, "proposal lacks completion"),
    ({"proposal": {"prompt": "p", "completion": "c", "prompt_tokens": "12"}}, "prompt_tokens must be an int"),
])
def test_add_candidate_rejects_bad_input_clearly_and_stores_nothing(reg, kwargs, fragment):
    with pytest.raises(RegistryError, match=fragment):
        add(reg, "bad", **kwargs)
    assert reg.count_envs() == 0


def test_stage_results_append_and_never_overwrite(reg):
    env = add(reg, "s")
    reg.record_stage(env.id, "L2", passed=False, reason="sample() raised", details={"error": "boom"})
    reg.record_stage(env.id, "L2", passed=True, score=1.0, reason="fixed", duration_s=0.5,
                     details={"n": np.int64(3), "x": np.float32(0.5)})
    reg.record_stage(env.id, "review", passed=None, reason="not run: no policy")
    rows = reg.stage_results(env.id)
    assert [(r.stage, r.passed, r.reason) for r in rows] == [
        ("L2", False, "sample() raised"), ("L2", True, "fixed"), ("review", None, "not run: no policy")]
    assert rows[1].details == {"n": 3, "x": 0.5} and rows[1].duration_s == 0.5
    assert rows[0].created_at.tzinfo is not None


@pytest.mark.parametrize("call, fragment", [
    (lambda reg, i: reg.record_stage(i, "L9", passed=True), "unknown stage 'L9'"),
    (lambda reg, i: reg.record_stage(i, "L1", passed=True, score=float("nan")), "must be finite"),
    (lambda reg, i: reg.record_stage(i, "L1", passed=True, details={"f": object()}), "not JSON data"),
    (lambda reg, i: reg.record_stage(i + 100, "L1", passed=True), "no environment with id"),
    (lambda reg, i: reg.record_calibration(i, checkpoint="c", difficulty=11, n=4, passes=1), "outside 1..10"),
    (lambda reg, i: reg.record_calibration(i, checkpoint="c", difficulty=1, n=4, passes=5), "passes <= n"),
    (lambda reg, i: reg.record_embedding(i, "m", [1.0, float("inf")]), "NaN or infinite"),
    (lambda reg, i: reg.list_envs(sort="weird"), "sort must be one of"),
    (lambda reg, i: reg.list_envs(status="pending"), "status must be one of"),
])
def test_bad_records_are_refused_with_the_reason(reg, call, fragment):
    env = add(reg, "r")
    with pytest.raises(RegistryError, match=fragment):
        call(reg, env.id)
    assert reg.stage_results(env.id) == []


def test_admit_is_one_decision_with_stages_embedding_fingerprint_and_pool(reg):
    run = reg.start_run("grow", {})
    env = add(reg, "a", run_id=run)
    record = reg.admit(env.id, stages=passing("L1", "L2", "L3"), embedding=("minilm", np.arange(4) / 4),
                       fingerprint="fp-a", reward=0.7)
    assert record.status == "admitted" and record.fingerprint == "fp-a" and record.reward == pytest.approx(0.7)
    assert record.decided_at is not None
    assert [r.stage for r in reg.stage_results(env.id)] == ["L1", "L2", "L3"]
    assert {r.run_id for r in reg.stage_results(env.id)} == {run}  # the proposing run, by default
    ids, matrix = reg.admitted_embeddings("minilm")
    assert ids == [env.id] and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, [[0.0, 0.25, 0.5, 0.75]])
    assert reg.pool() == [(env.id, "generated", 0)]
    assert reg.find_fingerprint("fp-a").id == env.id and reg.find_fingerprint("fp-b") is None
    # A second decision (a racing grower) adds its stage rows but does not change the verdict.
    again = reg.reject(env.id, stages=passing("L1"), reason="late")
    assert again.status == "admitted" and len(reg.stage_results(env.id)) == 4


def test_reject_keeps_the_reason_and_the_stages(reg):
    env = add(reg, "r")
    record = reg.reject(env.id, stages=[StageResult("L1", True), StageResult("L2", False, "sample raised")],
                        reason="L2: sample raised", reward=0.0)
    assert record.status == "rejected" and record.status_reason == "L2: sample raised"
    assert [r.passed for r in reg.stage_results(env.id)] == [True, False]
    assert reg.admit(env.id).status == "rejected"
    assert reg.find_fingerprint("anything") is None and reg.pool() == []
    with pytest.raises(RegistryError, match="was rejected"):
        reg.retire(env.id)
    with pytest.raises(RegistryError, match="needs a reason"):
        reg.reject(env.id, reason=" ")


def test_admitted_embeddings_matrix(reg):
    rng = np.random.default_rng(0)
    vectors = {}
    for i in range(5):
        env = add(reg, f"e{i}")
        vectors[env.id] = rng.standard_normal(384).astype(np.float32)
        if i == 4:  # a candidate's embedding is not among the admitted ones
            reg.record_embedding(env.id, "minilm", vectors[env.id])
            continue
        reg.admit(env.id, embedding=("minilm", vectors[env.id]))
    reg.retire(1)
    ids, matrix = reg.admitted_embeddings("minilm")
    assert ids == [1, 2, 3, 4] and matrix.shape == (4, 384)
    np.testing.assert_array_equal(matrix, np.stack([vectors[i] for i in ids]))
    assert reg.admitted_embeddings("minilm", include_retired=False)[0] == [2, 3, 4]
    assert reg.admitted_embeddings("other-model")[1].shape == (0, 0)


def test_get_by_id_or_name_and_errors(reg):
    old = add(reg, "x", name="same_name")
    new = reg.add_candidate(env_code("y"), name="same_name", description="", max_difficulty=5)
    assert reg.get(str(old.id)).id == old.id and reg.get(old.id).id == old.id
    assert reg.get("same_name").id == new.id  # newest when none is admitted
    reg.admit(old.id)
    assert reg.get("same_name").id == old.id  # the admitted one wins
    with pytest.raises(UnknownEnvironment, match="no environment with id or name 'nope'"):
        reg.get("nope")
    with pytest.raises(UnknownEnvironment):
        reg.get(12345)


def test_list_filters_search_sort_and_paging(reg):
    seed = reg.add_candidate(env_code("k"), name="knapsack", description="Pick items under a weight budget.",
                             max_difficulty=10, origin="seed", tags=["seed", "dp"])
    graph = reg.add_candidate(env_code("g", "return shortest_path_len"), name="graph_walk",
                              description="Walk a graph.", max_difficulty=8, generation=2, tags=["graph"])
    sat = reg.add_candidate(env_code("s"), name="sat_solver", description="Satisfy a CNF formula.",
                            max_difficulty=6, generation=1, origin="imported")
    reg.admit(seed.id, reward=0.9)
    reg.admit(graph.id, reward=0.1)
    reg.reject(sat.id, reason="too easy")

    ids = lambda records: [r.id for r in records]  # noqa: E731
    assert ids(reg.list_envs()) == [sat.id, graph.id, seed.id]  # newest first
    assert ids(reg.list_envs(status="admitted")) == [graph.id, seed.id]
    assert ids(reg.list_envs(origin="seed")) == [seed.id]
    assert ids(reg.list_envs(status="admitted", origin="imported")) == []
    assert ids(reg.list_envs(tag="dp")) == [seed.id]
    assert ids(reg.list_envs(search="weight budget")) == [seed.id]  # description words
    assert ids(reg.list_envs(search="knap")) == [seed.id]  # a word's beginning
    assert ids(reg.list_envs(search="shortest_path_len")) == [graph.id]  # words in the code
    assert ids(reg.list_envs(search="CNF", status="rejected")) == [sat.id]
    assert ids(reg.list_envs(search="no such words anywhere")) == []
    assert ids(reg.list_envs(sort="name")) == [graph.id, seed.id, sat.id]
    assert ids(reg.list_envs(sort="reward")) == [seed.id, graph.id, sat.id]  # unscored last
    assert ids(reg.list_envs(sort="generation")) == [graph.id, sat.id, seed.id]
    assert ids(reg.list_envs(sort="id", limit=2, offset=1)) == [graph.id, sat.id]
    assert reg.count_envs(status="admitted") == 2 and reg.count_envs(search="walk") == 1
    assert reg.status_counts() == {"candidate": 0, "admitted": 2, "rejected": 1, "retired": 0}


def test_calibration_curve_adds_up_records(reg):
    env = add(reg, "c")
    reg.record_calibration(env.id, checkpoint="step-0", difficulty=1, n=8, passes=6)
    reg.record_calibration(env.id, checkpoint="step-0", difficulty=1, n=8, passes=2)
    reg.record_calibration(env.id, checkpoint="step-0", difficulty=5, n=8, passes=1)
    reg.record_calibration(env.id, checkpoint="step-100", difficulty=5, n=4, passes=4)
    assert reg.calibration_curve(env.id) == {
        "step-0": [(1, 16, 8, 0.5), (5, 8, 1, 0.125)],
        "step-100": [(5, 4, 4, 1.0)],
    }


def test_reviews_keep_raw_text(reg):
    env = add(reg, "rv")
    reg.record_review(env.id, reviewer="policy#1", text="The scorer accepts any permutation.\nreject",
                      verdict="reject", details={"checks": {"scorer": False}})
    reg.record_review(env.id, reviewer="policy#2", text="fine", verdict="accept")
    reviews = reg.reviews(env.id)
    assert [(r.reviewer, r.verdict) for r in reviews] == [("policy#1", "reject"), ("policy#2", "accept")]
    assert reviews[0].text.endswith("\nreject") and reviews[0].details == {"checks": {"scorer": False}}


def test_sample_pool_keeps_the_seed_floor(reg):
    seeds = [add(reg, f"seed{i}", origin="seed") for i in range(2)]
    generated = [add(reg, f"gen{i}") for i in range(18)]
    for env in seeds + generated:
        reg.admit(env.id)
    seed_ids = {s.id for s in seeds}
    for rng in (random.Random(1), np.random.default_rng(1)):
        picks = reg.sample_pool(50, rng, seed_floor=0.2)
        assert len(picks) == 50
        # Uniform sampling would give 2/20 = 10% seeds; the floor guarantees at least 20%.
        assert sum(p.id in seed_ids for p in picks) >= 10
    assert len({p.id for p in reg.sample_pool(200, random.Random(2), seed_floor=0.0)}) == 20
    assert all(p.origin == "seed" for p in reg.sample_pool(10, random.Random(3), seed_floor=1.0))
    assert reg.sample_pool(0, random.Random(0)) == []


def test_advance_pool_epoch_retires_generated_not_seeds(reg):
    seed = add(reg, "seed", origin="seed")
    first = add(reg, "first")
    reg.admit(seed.id)
    reg.admit(first.id)
    assert reg.advance_pool_epoch(2) == []
    later = add(reg, "later")
    reg.admit(later.id)
    assert reg.advance_pool_epoch(2) == [first.id]
    assert reg.get(first.id).status == "retired" and "2 pool epochs" in reg.get(first.id).status_reason
    assert reg.advance_pool_epoch(2) == [later.id]
    assert reg.advance_pool_epoch(2) == []
    assert reg.pool() == [(seed.id, "seed", 4)]
    assert {p.id for p in reg.sample_pool(5, random.Random(0))} == {seed.id}


def test_retire_removes_from_pool(reg):
    env = add(reg, "t")
    reg.admit(env.id)
    assert reg.retire(env.id).status == "retired"
    assert reg.pool() == [] and reg.sample_pool(3, random.Random(0)) == []
    assert reg.retire(env.id).status == "retired"  # retiring twice is harmless


def test_runs_usage_and_funnel(reg):
    run = reg.start_run("grow", {"candidates": 3, "policy": "replay:x"})
    other = reg.start_run("grow", {})
    a, b, c = (add(reg, t, run_id=run) for t in "abc")
    reg.admit(a.id, stages=passing("L1", "L2", "review"))
    reg.reject(b.id, stages=passing("L1") + [StageResult("L2", False, "raised")], reason="L2")
    reg.reject(c.id, stages=[StageResult("L1", False, "syntax error")], reason="L1")
    d = add(reg, "d", run_id=other)
    reg.admit(d.id, stages=passing("L1") + [StageResult("review", None, "not run: no policy")])
    assert reg.funnel(run) == {"L1": {"entered": 3, "passed": 2, "not_run": 0},
                               "L2": {"entered": 2, "passed": 1, "not_run": 0},
                               "review": {"entered": 1, "passed": 1, "not_run": 0}}
    assert reg.funnel()["review"] == {"entered": 1, "passed": 1, "not_run": 1}
    assert reg.funnel()["L1"]["entered"] == 4
    reg.finish_run(run, "finished", {"admitted": 1})
    record = reg.get_run(run)
    assert record.status == "finished" and record.summary == {"admitted": 1} and record.finished_at is not None
    assert record.counts == {"admitted": 1, "rejected": 2} and record.config["policy"] == "replay:x"
    assert [r.id for r in reg.runs(kind="grow")] == [other, run]

    train = reg.start_run("train", {"lr": 1e-6})
    reg.record_usage(a.id, run_id=train, step=10, mean_reward=0.25)
    reg.record_usage(a.id, run_id=train, step=20, mean_reward=0.5)
    assert reg.usage(a.id) == [{"run_id": train, "step": 10, "mean_reward": 0.25},
                               {"run_id": train, "step": 20, "mean_reward": 0.5}]
    # A train run has no stage results: an empty funnel.
    assert reg.funnels([other, run, train]) == {run: reg.funnel(run), other: reg.funnel(other), train: {}}
    assert list(reg.funnels([run])[run]) == ["L1", "L2", "review"] and reg.funnels([]) == {}
    with pytest.raises(UnknownRun, match="no run with id 999"):
        reg.finish_run(999)
    with pytest.raises(UnknownRun, match="no run with id 999"):
        reg.record_usage(a.id, run_id=999, step=1, mean_reward=0.0)


def test_ancestry_tree(reg):
    a = add(reg, "a", origin="seed")
    b = add(reg, "b", origin="seed")
    c = add(reg, "c", parents=[(a.id, "mutation")], generation=1)
    d = add(reg, "d", parents=[(c.id, "crossover"), (b.id, "crossover")], generation=2)
    tree = reg.ancestry(d.id)
    assert tree["id"] == d.id
    assert [(p["id"], p["relation"]) for p in tree["parents"]] == [(b.id, "crossover"), (c.id, "crossover")]
    assert tree["parents"][1]["parents"][0]["id"] == a.id
    assert reg.ancestry(d.id, max_depth=1)["parents"][1]["parents"] == []
    assert (tree["generation"], tree["parents"][1]["generation"]) == (2, 1)


def test_ancestry_draws_a_shared_ancestor_once(reg):
    """Each environment a crossover of the two before it: every ancestor is reached by many
    paths, and a tree copying them all would double per generation (Fibonacci)."""
    chain = [add(reg, "g0", origin="seed"), add(reg, "g1", origin="seed")]
    for i in range(2, 30):
        chain.append(add(reg, f"g{i}", parents=[(chain[-1].id, "crossover"), (chain[-2].id, "crossover")],
                         generation=i))
    tree = reg.ancestry(chain[-1].id)

    def nodes(n):
        yield n
        for p in n["parents"]:
            yield from nodes(p)

    drawn = list(nodes(tree))
    expanded = [n["id"] for n in drawn if not n.get("shown_above")]
    assert sorted(expanded) == sorted(e.id for e in chain)  # every ancestor, its parents drawn once
    assert len(drawn) < 2 * len(chain)
    assert all(n["parents"] == [] for n in drawn if n.get("shown_above"))
