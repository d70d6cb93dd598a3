"""Every admission commit is one serialisation point (SQLite and PostgreSQL): a gate asked inside
``Registry.admit`` sees every admission committed before it, even one that was still in flight
when it started, and its veto makes the decision a rejection in the same transaction."""

from __future__ import annotations

import threading

from evoenv.registry import open_registry
from evoenv.registry.decisions import Veto
from evoenv.stages import StageResult
from tests.registry.commit_hook import before_write_commit
from tests.registry.test_registry_api import add, passing


def test_gate_waits_for_an_admission_in_flight_and_sees_it(reg_url):
    first, second = open_registry(reg_url), open_registry(reg_url)
    try:
        a, b = add(first, "alpha"), add(first, "beta")
        inside, release = threading.Event(), threading.Event()

        def hold() -> None:  # the first admission stops just before its commit
            inside.set()
            release.wait(30)

        before_write_commit(first, hold)
        seen: list[list[int]] = []

        def gate(view):
            seen.append(view.admitted_ids())
            if a.id in seen[-1]:
                result = StageResult("novelty", False, reason=f"too similar to {a.id}, admitted meanwhile")
                return Veto(result, reason=f"novelty: {result.reason}", reward=0.0, novelty=0.04)
            return None

        results = {}
        admit_a = threading.Thread(target=lambda: results.setdefault("a", first.admit(a.id, stages=passing("L1"))))
        admit_a.start()
        assert inside.wait(30)
        admit_b = threading.Thread(target=lambda: results.setdefault("b", second.admit(
            b.id, stages=passing("L1", "novelty"), gate=gate, reward=0.9,
            reviews=[{"reviewer": "r0", "text": "fine", "verdict": "accept"}],
            calibration=[{"checkpoint": "c", "difficulty": 5, "n": 8, "passes": 3}])))
        admit_b.start()
        admit_b.join(1.0)
        # The second admission cannot pass the lock while the first holds it.
        assert admit_b.is_alive() and seen == []
        release.set()
        admit_a.join(30)
        admit_b.join(30)
        assert results["a"].status == "admitted"
        assert seen == [[a.id]], "the gate ran before the first admission had committed"
        vetoed = results["b"]
        assert vetoed.status == "rejected" and "admitted meanwhile" in vetoed.status_reason
        assert vetoed.reward == 0.0 and vetoed.novelty == 0.04 and vetoed.status_reason.startswith("novelty: ")
        assert [s.stage for s in second.stage_results(b.id)][-1] == "novelty"
        assert second.stage_results(b.id)[-1].passed is False
        # reviews and calibration came with the decision, in its transaction
        assert [r.reviewer for r in second.reviews(b.id)] == ["r0"]
        assert second.calibration_curve(b.id) == {"c": [(5, 8, 3, 3 / 8)]}
        assert b.id not in [env_id for env_id, _, _ in second.pool()]
    finally:
        first.close()
        second.close()


def test_a_decision_killed_before_commit_leaves_nothing(reg_url):
    """Reviews, calibration and the decision are one transaction: an error at the commit
    (what a kill looks like to the database) leaves the candidate as it was."""
    with open_registry(reg_url) as reg:
        env = add(reg, "gamma")

        def crash() -> None:
            raise KeyboardInterrupt("killed")

        remove = before_write_commit(reg, crash)
        try:
            reg.reject(env.id, stages=passing("L1"), reason="L2: boom",
                       reviews=[{"reviewer": "r0", "text": "t", "verdict": "reject"}],
                       calibration=[{"checkpoint": "c", "difficulty": 2, "n": 8, "passes": 0}])
        except KeyboardInterrupt:
            pass
        remove()
        again = reg.get(env.id)
        assert again.status == "candidate"
        assert reg.reviews(env.id) == [] and reg.calibration_curve(env.id) == {} and reg.stage_results(env.id) == []
