"""Issue 18 item 2: an environment that behaves only when watched.

A job must not tell admission from training (same limits, same call shapes, seeds it cannot predict), and
training and rescoring keep auditing: an environment that pays for a known-wrong answer is quarantined in the
registry with the evidence, and its rewards stop. The hostile programs live in ``hostile_programs.py``.
"""

from __future__ import annotations

import random

from hostile_programs import WATCHED_ONLY, WATCHED_ONLY_BY_CONTENT

from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate
from evoenv.admission.l2_execute import check_execution
from evoenv.admission.l3_determinism import check_determinism
from evoenv.admission.pipeline import admit_candidate
from evoenv.registry import open_registry
from evoenv.sandbox import SandboxedEnv
from evoenv.train.config import RewardConfig
from evoenv.train.instances import TRAIN_SEED_LIMIT
from evoenv.train.rewards import RewardScorer, ScoreItem

OLD_ADMISSION_SEEDS = set(range(8)) | set(range(100000, 100100))

#: Reports what its job looks like: its rlimits (in every instance it samples) and, when scoring, how many score
#: calls share its job (as the score: 1.0 only when it is alone, the old sign of "not admission").
REPORTER = '''
import typing

def _rlimits():
    res = typing.sys.modules["resource"]
    return {"as": list(res.getrlimit(res.RLIMIT_AS)), "cpu": list(res.getrlimit(res.RLIMIT_CPU)),
            "fsize": list(res.getrlimit(res.RLIMIT_FSIZE))}

def _score_calls():
    real = typing.sys.modules["builtins"]
    frame = typing.sys.modules["inspect"].currentframe()
    while frame is not None:
        job = real.getattr(frame, "f_" + "locals").get("job")
        if type(job) is dict and "calls" in job:
            return sum(1 for c in job["calls"] if c.get("op") == "score")
        frame = real.getattr(frame, "f_" + "back")
    return -1

class Reporter:
    name = "reporter"
    description = "Say the number; it reports what its jobs look like."
    max_difficulty = 5

    def sample(self, seed, difficulty):
        return {"seed": seed, "n": (seed * 7 + difficulty) % 1000 + difficulty * 1000, "rlimits": _rlimits()}

    def prompt(self, instance):
        return f"Repeat {instance['n']}. Answer inside <answer>...</answer>."

    def reference(self, instance):
        return str(instance["n"])

    def score(self, instance, answer):
        if answer.strip() == str(instance["n"]):
            return 1.0
        return 1.0 if _score_calls() == 1 else 0.0
'''


def _admission(code: str, sandbox, **config) -> tuple:
    candidate = Candidate(code)
    outcome = admit_candidate(candidate, AdmissionContext(sandbox, AdmissionConfig(admit_without_policy=True,
                                                                                   **config)))
    return candidate, outcome


def _training_items(code: str, env_id: str, sandbox, n_instances: int = 3, group: int = 4) -> list[ScoreItem]:
    """GRPO groups as the trainer builds them: instances at training seeds, wrong answers from the solver."""
    env = SandboxedEnv(code, sandbox, RewardConfig().limits())
    rng = random.Random(5)
    items = []
    for _ in range(n_instances):
        seed, difficulty = rng.randrange(TRAIN_SEED_LIMIT), rng.randint(1, 5)
        r = env.render(seed, difficulty)
        items += [ScoreItem(env_id, code, r.instance, f"<answer>{int(r.reference) + 1 + k}</answer>",
                            r.reference, seed, difficulty) for k in range(group)]
    return items


# ---- (a) it fails admission now that admission cannot tell ----------------------------------------------------

def test_a_watched_only_environment_fails_admission_now_that_its_tells_are_gone(sandbox):
    _, outcome = _admission(WATCHED_ONLY, sandbox)
    failed = next(s for s in outcome.stages if s.passed is False)
    assert not outcome.admitted
    assert failed.stage == "L5" and "clear junk must score 0" in failed.reason, failed.reason


# ---- (a) the variant that still passes admission is caught by the audit in training ---------------------------

def test_an_environment_that_still_passes_admission_is_quarantined_by_the_training_audit(sandbox, tmp_path):
    _, outcome = _admission(WATCHED_ONLY_BY_CONTENT, sandbox)
    assert outcome.admitted, [(s.stage, s.reason) for s in outcome.stages]  # its content tell still works
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}", upgrade_schema=True)
    try:
        record = registry.add_candidate(WATCHED_ONLY_BY_CONTENT, name="watched_only", description="d",
                                        max_difficulty=5)
        registry.admit(record.id)
        items = _training_items(WATCHED_ONLY_BY_CONTENT, str(record.id), sandbox)
        from evoenv.audit import quarantine_in_registry

        caught = []
        scorer = RewardScorer(sandbox, RewardConfig().limits(), audit_share=1.0,
                              on_quarantine=lambda env_id, f: (caught.append(env_id),
                                                               quarantine_in_registry(registry, env_id, f, "test")))
        first = scorer.score(items)
        # every answer is wrong and the environment would pay 1.0 for each: it pays nothing instead
        assert [r.value for r in first] == [0.0] * len(items)
        assert {r.failure for r in first} == {"quarantined"} and caught == [str(record.id)]
        stored = registry.quarantine_of(record.id)
        evidence = stored["evidence"]
        assert evidence["score"] == 1.0 and evidence["kind"] in ("empty", "junk", "extra_content")
        assert (evidence["seed"], evidence["difficulty"]) in {(i.seed, i.difficulty) for i in items}
        assert evidence["instance"]["seed"] == evidence["seed"] and evidence["caught_by"] == "test"
        after = registry.get(record.id)
        assert after.status == "retired" and after.status_reason.startswith("quarantined: the runtime audit")
        assert registry.pool() == [] and registry.list_envs(status="admitted") == []
        # its rewards stay stopped: later answers are not even sent to it
        again = scorer.score(items[:2])
        assert [(r.value, r.failure) for r in again] == [(0.0, "quarantined")] * 2
    finally:
        registry.close()


def test_a_lone_answer_is_audited_at_the_default_share(sandbox):
    """One answer never goes alone: the scorer adds a known-wrong answer, which catches the cheat at once."""
    (item,) = _training_items(WATCHED_ONLY_BY_CONTENT, "lone", sandbox, n_instances=1, group=1)
    scorer = RewardScorer(sandbox, RewardConfig().limits())
    (reward,) = scorer.score([item])
    assert (reward.value, reward.failure) == (0.0, "quarantined")
    assert "lone" in scorer.quarantined


def test_rescoring_quarantines_a_paying_environment_and_then_refuses_its_rows(sandbox, tmp_path):
    from evoenv.hashing import code_sha256
    from evoenv.integrations.catalog import Catalog
    from evoenv.integrations.rescore import RowScorer

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    registry = open_registry(url, upgrade_schema=True)
    record = registry.add_candidate(WATCHED_ONLY_BY_CONTENT, name="watched_only", description="d", max_difficulty=5)
    registry.admit(record.id)
    registry.close()
    scorer = RowScorer(Catalog(url), sandbox)
    meta = {"code_sha256": code_sha256(WATCHED_ONLY_BY_CONTENT), "seed": 123456, "difficulty": 2}
    assert scorer.score([(meta, "999999")]) == [0.0]  # a lone wrong answer: audited, caught, paid nothing
    check = open_registry(url)
    try:
        assert check.quarantine_of(record.id)["evidence"]["caught_by"] == "rescoring"
    finally:
        check.close()
    fresh = RowScorer(Catalog(url), sandbox)  # another process: the registry says no
    assert fresh.score([(meta, "999999"), (meta, "1")]) == [0.0, 0.0]
    assert "quarantined" in fresh.refused[meta["code_sha256"]]
    # and the web env page shows it, with the evidence in its JSON
    from fastapi.testclient import TestClient

    from evoenv.web import create_app

    with TestClient(create_app(url, sandbox=sandbox)) as client:
        shown = client.get(f"/api/envs/{record.id}").json()
        assert shown["status"] == "retired" and shown["quarantine"]["evidence"]["caught_by"] == "rescoring"
        assert "Quarantined" in client.get(f"/envs/{record.id}").text


# ---- (b) the tells are gone ------------------------------------------------------------------------------------

def test_a_job_sees_the_same_limits_in_admission_training_and_the_web_viewer(sandbox):
    from evoenv.train.curriculum import PoolEnv, Task
    from evoenv.train.instances import render_tasks
    from evoenv.web.instances import InstanceSampler

    candidate = Candidate(REPORTER)
    ctx = AdmissionContext(sandbox, AdmissionConfig())
    assert check_execution(candidate, ctx).passed
    admitted = {str(r.instance["rlimits"]) for r in candidate.observed.renders}
    env = PoolEnv("1", "reporter", REPORTER, "generated", 5)
    (trained,) = render_tasks(sandbox, RewardConfig().limits(), [Task(env, 3)], random.Random(0))
    viewed = InstanceSampler(sandbox).render(REPORTER, "sha", 7, 3)
    assert admitted == {str(trained.instance["rlimits"])} == {str(viewed["instance"]["rlimits"])}


def test_admission_seeds_are_unpredictable_recorded_and_reproducible(sandbox):
    first, second = Candidate(REPORTER), Candidate(REPORTER)
    ctx = AdmissionContext(sandbox, AdmissionConfig())
    l2_first, l2_second = check_execution(first, ctx), check_execution(second, ctx)
    seeds = l2_first.details["seeds"]
    assert len(seeds) == 8 and set(seeds) != set(l2_second.details["seeds"])
    assert all(0 <= s < TRAIN_SEED_LIMIT for s in seeds) and not set(seeds) & OLD_ADMISSION_SEEDS
    assert sorted({r.seed for r in first.observed.renders}) == sorted(seeds)
    # L3 compares the same (secret) seeds in two fresh processes
    l3 = check_determinism(first, ctx)
    assert l3.passed, l3.reason
    # a rerun with the recorded seeds judges the same instances
    rerun = Candidate(REPORTER)
    assert check_execution(rerun, AdmissionContext(sandbox, AdmissionConfig(probe_seeds=tuple(seeds)))).passed
    assert [r.instance for r in rerun.observed.renders] == [r.instance for r in first.observed.renders]


def test_a_lone_score_call_no_longer_says_not_admission(sandbox):
    """The reporter pays for a wrong answer only when its job holds a single score call (the old sign of
    training). The trainer's scorer never sends one, so the wrong answer earns nothing."""
    (item,) = _training_items(REPORTER, "reporter", sandbox, n_instances=1, group=1)
    (reward,) = RewardScorer(sandbox, RewardConfig().limits()).score([item])
    assert reward.value == 0.0 and reward.failure is None


def test_evoenv_score_audits_its_one_answer_and_says_when_the_environment_paid_for_a_wrong_one(tmp_path):
    import json

    from typer.testing import CliRunner

    from evoenv.cli import app

    path = tmp_path / "watched_only.py"
    path.write_text(WATCHED_ONLY_BY_CONTENT)
    result = CliRunner().invoke(app, ["score", str(path), "-s", "123456", "-d", "2", "-r", "<answer>99999</answer>",
                                      "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["score"] == 0.0 and shown["audit"].startswith("not trusted: the runtime audit caught it paying 1")


def test_no_seed_environment_is_ever_caught_by_the_audit(sandbox):
    """The audit judges by L5's rule, so sound environments pay it nothing: every instance audited, none caught."""
    from evoenv.sources import list_seeds

    items = []
    for source in list_seeds():
        env = SandboxedEnv(source.code, sandbox, RewardConfig().limits())
        rng = random.Random(source.name)
        for r in env.render_many([(rng.randrange(TRAIN_SEED_LIMIT), d) for d in (1, 5, 10)]):
            items += [ScoreItem(source.name, source.code, r.instance, f"<answer>{r.reference}</answer>", r.reference,
                                r.seed, r.difficulty)] * 2
    scorer = RewardScorer(sandbox, RewardConfig().limits(), audit_share=1.0)
    rewards = scorer.score(items)
    assert scorer.quarantined == {} and all(r.value == 1.0 for r in rewards)
