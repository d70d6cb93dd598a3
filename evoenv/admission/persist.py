"""Record an admission outcome through the Registry API (no SQL here).

One candidate row (idempotent on its code hash, with lineage), its raw
reviews and calibration curve, then ONE admit or reject call carrying every
stage result, the embedding, the fingerprint and the generator reward.
"""

from __future__ import annotations

from evoenv.admission.candidate import Candidate
from evoenv.admission.decided import novelty_of, vetoing
from evoenv.admission.embedding import model_key
from evoenv.admission.labels import labels
from evoenv.admission.pipeline import AdmissionOutcome


def add_candidate(registry, candidate: Candidate, *, run_id=None, description: str = "",
                  max_difficulty: int | None = None):
    info = candidate.observed.info
    if info is not None:
        name, described, levels = info.name, info.description, info.max_difficulty
    else:  # failed before the sandbox described it: label it from its literals
        name, described, levels = labels(candidate.code)
    return registry.add_candidate(
        candidate.code,
        name=candidate.name or name,
        description=description or described,
        max_difficulty=max_difficulty or levels,
        origin=candidate.origin, generation=candidate.generation, parents=list(candidate.parents),
        run_id=run_id, proposal=candidate.proposal, tags=tuple(candidate.tags),
    )


def persist(registry, outcome: AdmissionOutcome, *, run_id=None, lam: float = 0.5, gate=None):
    """Store the outcome (and its earlier repair attempts, each revision linked to the version
    it repairs by lineage ``repair``); returns the final EnvRecord. ``gate`` is asked inside the
    admission commit (``Registry.admit``) and may still turn the admission into a rejection."""
    previous = None
    for version in [*outcome.attempts, outcome]:
        previous = _persist_one(registry, version, run_id=run_id, lam=lam, repairs=previous,
                                gate=gate if version is outcome else None)
    return previous


def _persist_one(registry, outcome: AdmissionOutcome, *, run_id, lam: float, repairs=None, gate=None):
    candidate = outcome.candidate
    if repairs is not None and candidate.repair_of and not any(rel == "repair" for _, rel in candidate.parents):
        candidate.parents = [*candidate.parents, (repairs.id, "repair")]
    record = add_candidate(registry, candidate, run_id=run_id)
    review = outcome.stage("review")
    # Reviews and calibration are written in the decision's own transaction: a kill leaves all or nothing.
    reviews = [{"reviewer": item["reviewer"], "text": item["text"], "verdict": item.get("verdict") or "unparsable",
                "details": {k: v for k, v in item.items() if k not in ("reviewer", "text")}}
               for item in (review.details.get("reviews", []) if review is not None else [])]
    calibration = outcome.stage("calibration")
    points = []
    if calibration is not None and calibration.details.get("curve"):
        checkpoint = calibration.details.get("checkpoint", "policy")
        points = [{"checkpoint": checkpoint, "difficulty": point["difficulty"], "n": point["n"],
                   "passes": point["passes"]} for point in calibration.details["curve"]]
    observed = candidate.observed
    novelty = novelty_of(outcome.stages)
    if outcome.admitted:
        embedding = (model_key(lam), observed.embedding) if observed.embedding is not None else None
        return registry.admit(record.id, stages=outcome.stages, embedding=embedding, fingerprint=observed.fingerprint,
                              reward=outcome.reward, novelty=novelty, run_id=run_id, reviews=reviews,
                              calibration=points, gate=vetoing(gate) if gate is not None else None)
    return registry.reject(record.id, stages=outcome.stages, reason=outcome.reason, reward=outcome.reward,
                           novelty=novelty, run_id=run_id, reviews=reviews, calibration=points)
