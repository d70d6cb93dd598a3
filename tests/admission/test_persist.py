"""Recording outcomes through the real Registry API (SQLite file), and admitting the seeds."""

from __future__ import annotations

import json

import pytest

from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate, admit_candidate
from evoenv.admission.novelty_index import NoveltyIndex
from evoenv.admission.persist import persist
from evoenv.admission.repair import admit_with_repairs
from tests.conftest import require

from .conftest import ScriptedPolicy, env_code

try:
    from evoenv.registry import open_registry
except ImportError:  # the registry lands in its own branch
    open_registry = None


@pytest.fixture
def registry(tmp_path):
    require(open_registry is not None, "evoenv.registry is not available in this checkout")
    from evoenv.registry import upgrade

    url = f"sqlite:///{tmp_path}/reg.db"
    upgrade(url)
    reg = open_registry(url)
    yield reg
    reg.close()


ACCEPT = json.dumps({"verdict": "accept", "reason": "ok", "scorer": {"ok": True, "notes": ""}})


@pytest.mark.usefixtures("minilm")
def test_admit_records_everything_in_the_registry(registry, sandbox):
    ctx = AdmissionContext(sandbox, AdmissionConfig(), novelty=NoveltyIndex.from_registry(registry))
    ctx.policy = ScriptedPolicy(lambda prompt, call: ACCEPT if "Checklist" in prompt else
                                ("<answer>0</answer>" if call % 2 else "<answer>nope</answer>"))
    outcome = admit_candidate(Candidate(env_code("good_dataclass_subset")), ctx)
    record = persist(registry, outcome)
    assert record.status == ("admitted" if outcome.admitted else "rejected")
    stages = registry.stage_results(record.id)
    assert [s.stage for s in stages] == [s.stage for s in outcome.stages]
    assert len(registry.reviews(record.id)) == 3
    curve = registry.calibration_curve(record.id)
    assert list(curve) == ["scripted-test-double"]
    if outcome.admitted:
        ids, matrix = registry.admitted_embeddings(NoveltyIndex(0.5).model)
        assert ids == [record.id] and matrix.shape == (1, 768)
        assert registry.find_fingerprint(outcome.candidate.observed.fingerprint).id == record.id


def test_reject_and_repair_lineage(registry, sandbox):
    ctx = AdmissionContext(sandbox, AdmissionConfig(cpu_s=2.0, wall_s=5.0))
    outcome = admit_with_repairs(Candidate(env_code("scorer_always_one")), ctx, repairs=1,
                                 repair=lambda c, f: env_code("good_inversions"))
    final = persist(registry, outcome)
    first = registry.by_hash(outcome.attempts[0].candidate.code_sha256)
    assert first.status == "rejected" and "accepts everything" in first.status_reason
    parents = registry.lineage(final.id)["parents"]
    assert [(p["id"], p["relation"]) for p in parents] == [(first.id, "repair")]


@pytest.mark.slow
@pytest.mark.usefixtures("minilm")
def test_seeds_are_admitted_and_a_renamed_copy_is_then_rejected(registry, sandbox, seed_sources):
    from evoenv.seeding import admit_seeds

    outcomes = admit_seeds(registry, sandbox)
    assert len(outcomes) == 10
    assert all(o.admitted for o in outcomes), [(o.candidate.label, o.reason) for o in outcomes if not o.admitted]
    assert admit_seeds(registry, sandbox) == []  # idempotent
    copy = seed_sources["knapsack"].replace("class ", "# renamed\nclass Renamed_", 1)
    ctx = AdmissionContext(sandbox, AdmissionConfig(), novelty=NoveltyIndex.from_registry(registry))
    outcome = admit_candidate(Candidate(copy), ctx)
    assert outcome.stage("novelty").passed is False
    assert "behaviourally identical" in outcome.stage("novelty").reason


def test_a_candidate_rejected_before_it_was_described_is_stored_under_its_literal_labels(registry, sandbox):
    code = (
        "import os\n\n\nclass Hostile:\n    name = 'hostile_env'\n    description = 'reads files'\n"
        "    max_difficulty = 7\n\n    def sample(self, seed, difficulty):\n        return {}\n\n"
        "    def prompt(self, instance):\n        return '<answer>'\n\n"
        "    def reference(self, instance):\n        return '1'\n\n"
        "    def score(self, instance, answer):\n        return 0.0\n"
    )
    ctx = AdmissionContext(sandbox, AdmissionConfig())
    outcome = admit_candidate(Candidate(code), ctx)
    assert outcome.first_failure.stage == "L1" and outcome.candidate.observed.info is None
    record = persist(registry, outcome)
    assert (record.name, record.description, record.max_difficulty, record.status) == \
        ("hostile_env", "reads files", 7, "rejected")
