"""Admitting the seed environments (what ``evoenv init`` calls).

Seeds go through the mechanical stages (L1-L5) and novelty against the seeds
admitted before them, exactly like a generated candidate; review and
calibration need a policy and are recorded as not run. A seed that fails is
rejected with its reason, loudly: a seed that cannot pass admission is a bug.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from evoenv.admission.candidate import AdmissionContext, Candidate
from evoenv.admission.config import AdmissionConfig
from evoenv.admission.novelty import NoveltyIndex
from evoenv.admission.persist import persist
from evoenv.admission.pipeline import AdmissionOutcome, admit_candidate


def admit_seeds(registry, sandbox=None, config: AdmissionConfig | None = None,
                on_progress: Callable[[str, AdmissionOutcome | None], None] | None = None) -> list[AdmissionOutcome]:
    """Admit every seed not yet decided in the registry; returns the outcomes of those it ran."""
    from evoenv.sandbox import open_sandbox
    from evoenv.sources import list_seeds

    config = replace(config or AdmissionConfig(), admit_without_policy=True)
    own = sandbox is None
    sandbox = sandbox or open_sandbox()
    outcomes = []
    try:
        index = NoveltyIndex.from_registry(registry, config.novelty_lambda)
        ctx = AdmissionContext(sandbox, config, novelty=index)
        for source in list_seeds():
            candidate = Candidate(source.code, origin="seed", tags=("seed",))
            existing = registry.by_hash(candidate.code_sha256)
            if existing is not None and existing.status != "candidate":
                if on_progress:
                    on_progress(source.name, None)
                continue
            outcome = admit_candidate(candidate, ctx)
            record = persist(registry, outcome, lam=config.novelty_lambda)
            if outcome.admitted:
                index.add_admitted(record, candidate)
            outcomes.append(outcome)
            if on_progress:
                on_progress(source.name, outcome)
    finally:
        if own:
            sandbox.close()
    return outcomes
