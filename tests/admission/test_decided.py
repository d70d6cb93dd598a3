"""What admission decides from stage results before the registry stores it: the novelty that
stands, and the veto at the admission commit (through a real SQLite registry)."""

from __future__ import annotations

from evoenv.admission.decided import novelty_of, vetoing
from evoenv.registry import open_registry, upgrade
from evoenv.stages import StageResult


def novelty(score: float | None, passed: bool | None = True, **details) -> StageResult:
    return StageResult("novelty", passed, reason="checked", score=score, details=details)


def test_novelty_is_the_last_telling_novelty_result():
    assert novelty_of([StageResult("L1", True, score=1.0), novelty(0.6)]) == 0.6
    # A behavioural duplicate has no score and is not novel at all.
    assert novelty_of([novelty(None, passed=False, duplicate_of={"id": 1, "name": "n"})]) == 0.0
    # A later result that could not run, or another stage's score, keeps the figure.
    assert novelty_of([novelty(0.4), novelty(None, passed=None), StageResult("calibration", True, score=0.9)]) == 0.4
    assert novelty_of([novelty(0.4), novelty(0.03, passed=False)]) == 0.03
    assert novelty_of([StageResult("L1", False, score=0.0)]) is None
    assert novelty_of([novelty(None, passed=False)]) is None  # failed without naming a duplicate


def test_a_vetoing_check_rejects_with_reward_zero_and_its_novelty(tmp_path):
    url = f"sqlite:///{tmp_path}/reg.db"
    upgrade(url)
    with open_registry(url) as reg:
        first = reg.add_candidate("class A:\n    pass\n", name="a", description="", max_difficulty=1)
        reg.admit(first.id, stages=[novelty(0.9)], novelty=0.9, reward=0.5)
        second = reg.add_candidate("class B:\n    pass\n", name="b", description="", max_difficulty=1)
        seen = []

        def check(view):
            seen.append(view.admitted_ids())
            return novelty(0.02, passed=False, at_commit=True) if first.id in seen[-1] else None

        record = reg.admit(second.id, stages=[novelty(0.7)], novelty=0.7, reward=0.8, gate=vetoing(check))
        assert seen == [[first.id]]
        assert record.status == "rejected" and record.status_reason == "novelty: checked"
        assert record.reward == 0.0 and record.novelty == 0.02
        assert [(s.stage, s.passed) for s in reg.stage_results(second.id)] == [("novelty", True), ("novelty", False)]
        # A check that lets the candidate through leaves the admission as it was.
        third = reg.add_candidate("class C:\n    pass\n", name="c", description="", max_difficulty=1)
        kept = reg.admit(third.id, stages=[novelty(0.6)], novelty=0.6, reward=0.3, gate=vetoing(lambda view: None))
        assert kept.status == "admitted" and kept.novelty == 0.6 and kept.reward == 0.3
