"""The novelty decision again, at the admission commit: ``CommitGate`` (one per run) and
``CandidateGate`` (the callable ``Registry.admit`` asks for one candidate)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from evoenv.admission import AdmissionConfig, Candidate
from evoenv.admission.novelty import NoveltyIndex
from evoenv.admission.result import StageResult
from evoenv.registry import EnvRecord


class CommitGate:
    """The novelty decision again, inside the admission commit (``Registry.admit``, under the
    database's admission lock): against everything admitted by then, by any worker. The novelty
    stage compared the candidate with this worker's index, which may be minutes old; environments
    admitted since by other grow processes (or other threads) are read here, join the index, and
    a candidate that copies one (same fingerprint) or is too similar (MiniLM, the same threshold)
    is rejected instead of admitted."""

    def __init__(self, index: NoveltyIndex, config: AdmissionConfig):
        self.index = index
        self.config = config
        self._lock = threading.Lock()
        self._known: set = set(index.keys)

    def add_admitted(self, record: EnvRecord, candidate: Candidate) -> None:
        """This worker's own admission joins the index (once, whoever saw it first)."""
        with self._lock:
            if record.id in self._known:
                return
            self._known.add(record.id)
        self.index.add_admitted(record, candidate)

    def catch_up(self, view: Any) -> tuple[list[int], list[str], np.ndarray]:
        """Admissions this worker has not seen, added to its index; returns them."""
        with self._lock:
            fresh = [i for i in view.admitted_ids() if i not in self._known]
        ids, names, matrix = view.embeddings(fresh, self.index.model)
        with self._lock:
            for i, (key, name) in enumerate(zip(ids, names)):
                if key not in self._known:
                    self._known.add(key)
                    self.index.add(key, name, matrix[i])
            self._known.update(fresh)  # those without an embedding have nothing to compare
        return ids, names, matrix

    def for_candidate(self, candidate: Candidate) -> CandidateGate:
        return CandidateGate(self, candidate)


class CandidateGate:
    """``CommitGate`` for one candidate: the callable ``Registry.admit`` asks; keeps its veto."""

    def __init__(self, gate: CommitGate, candidate: Candidate):
        self.gate, self.candidate = gate, candidate
        self.veto: StageResult | None = None

    def __call__(self, view: Any) -> StageResult | None:
        config, observed = self.gate.config, self.candidate.observed
        ids, names, matrix = self.gate.catch_up(view)
        if observed.fingerprint:
            holder = view.fingerprint_holder(observed.fingerprint)
            if holder is not None:
                self.veto = StageResult("novelty", False, score=0.0, details={
                    "duplicate_of": {"id": holder[0], "name": holder[1]}, "at_commit": True},
                    reason=f"behaviourally identical to {holder[1]!r} ({holder[0]}), admitted by another worker "
                           "while this candidate was being judged (checked again at the admission commit)")
                return self.veto
        if observed.embedding is None or not len(ids):
            return None
        sims = matrix @ np.asarray(observed.embedding, dtype=np.float32)
        best = int(np.argmax(sims))
        if float(sims[best]) >= config.novelty_threshold:
            similarity = float(sims[best])
            self.veto = StageResult("novelty", False, score=1.0 - similarity, details={
                "neighbours": [{"id": ids[best], "name": names[best], "similarity": round(similarity, 4)}],
                "at_commit": True},
                reason=f"too similar to {names[best]!r} ({ids[best]}), admitted by another worker while this "
                       f"candidate was being judged: similarity {similarity:.3f} >= {config.novelty_threshold:.2f} "
                       "(checked again at the admission commit)")
            return self.veto
        return None
