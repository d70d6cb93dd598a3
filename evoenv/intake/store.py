"""``Intake``: every proposal's step into the registry (the package docstring draws the path).

``store`` extracts the code and adds it as a candidate with its proposal text and lineage, or
says it is a duplicate; ``decide`` admits it with repairs, persists the outcome (vectors under
``model_key(novelty_lambda)``) through the commit gate and indexes what was admitted.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate
from evoenv.admission.labels import labels
from evoenv.admission.novelty import NoveltyIndex
from evoenv.admission.persist import persist
from evoenv.admission.pipeline import AdmissionOutcome
from evoenv.admission.repair import Repairer, admit_with_repairs
from evoenv.admission.result import StageResult
from evoenv.admission.reward import generator_reward
from evoenv.configfile import ConfigError
from evoenv.extract import MAX_COMPLETION_BYTES, Extraction, extract_code
from evoenv.hashing import code_sha256
from evoenv.intake.gate import CommitGate
from evoenv.intake.prompts import capped, prompt_text
from evoenv.policy.base import Policy
from evoenv.registry import EnvRecord, Registry
from evoenv.sandbox import Sandbox


def admission_config(overrides: dict[str, Any], where: str = "admission") -> AdmissionConfig:
    """``AdmissionConfig`` with ``overrides`` (a ``[grow.admission]`` or ``[generator.admission]`` table);
    an unknown key or a wrong type raises ConfigError naming it."""
    try:
        return AdmissionConfig.from_dict(dict(overrides))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


@dataclass
class Decision:
    """What became of one proposal."""

    outcome: str  # "admitted" | "rejected" | "duplicate"
    reason: str
    #: the generator reward (a duplicate earns nothing new: 0, or the penalty its original earned)
    reward: float = 0.0
    env_id: int | None = None
    record: EnvRecord | None = None
    stages: list[StageResult] = field(default_factory=list)
    repairs: int = 0
    repair_tokens: int = 0
    #: the candidate that was judged (its ``observed.info`` describes an admitted environment)
    candidate: Candidate | None = None

    @property
    def admitted(self) -> bool:
        return self.outcome == "admitted"


@dataclass(frozen=True)
class UnstoredEnv:
    """The novelty index's entry for an environment admitted without a registry."""

    id: str
    name: str


@dataclass
class Stored:
    """A proposal in the registry, not yet judged (``decision`` is set when storing alone decided it)."""

    env_id: int
    key: str
    generation: int
    parents: list[tuple[int, str]]
    decision: Decision | None = None


class Intake:
    """Stores and admits proposals of one run against a registry, a sandbox and an admission config.
    Thread-safe: the grow loop admits several proposals at once."""

    def __init__(self, registry: Registry | None, sandbox: Sandbox, config: AdmissionConfig, *,
                 policy: Policy | None = None, run_id: int | None = None, tags: tuple[str, ...] = ("grow",),
                 keep_unparsed: bool = True, novelty: NoveltyIndex | None = None):
        self._registry = registry
        self.config = config
        self.run_id = run_id
        self.tags = tags
        #: store a completion with no code (rejected at L1) so the run's record is whole; training does not
        self.keep_unparsed = keep_unparsed
        # One index for the run: what this run admits is added as it goes, and what other
        # workers admit joins it at each admission commit (CommitGate).
        self.novelty = novelty or NoveltyIndex.from_registry(registry, config.novelty_lambda)
        self.gate = CommitGate(self.novelty, config)
        self.ctx = AdmissionContext(sandbox, config, policy=policy, novelty=self.novelty)
        self._claims: dict[int, str] = {}  # env id -> the proposal of this run that stored it first
        self._seen: dict[str, float] = {}  # without a registry: code hash -> the reward it earned
        self._lock = threading.Lock()

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            raise RuntimeError("this intake has no registry: it judges proposals and stores nothing")
        return self._registry

    # --- store ---

    def store(self, completion: str, *, key: str, prompt: Sequence[dict] | str, parents: Sequence[tuple[int, str]],
              generation: int, finish_reason: str = "stop", length: int | None = None,
              tokens: tuple[int, int] = (0, 0), stored_id: int | None = None) -> Stored | Decision:
        """Put one proposal in the registry (idempotent: ``stored_id`` is the row a resumed proposal
        stored before a kill). Returns a Decision when storing alone decides it (no code, a duplicate,
        decided before a kill), else the Stored proposal to ``decide``. ``length``: the completion's
        length before ``completion`` was capped."""
        if stored_id is not None:
            return self._restored(stored_id, key, generation, list(parents))
        length = len(completion) if length is None else length
        if length > MAX_COMPLETION_BYTES:
            extraction = Extraction(None, f"the completion is {length:,} characters, over the "
                                          f"{MAX_COMPLETION_BYTES:,}-byte limit")
        else:
            extraction = extract_code(completion, finish_reason=finish_reason)
        if extraction.code is None and not self.keep_unparsed:
            return self._unparsed(None, extraction)
        text = prompt_text(prompt)
        code = extraction.code if extraction.code is not None else capped(completion.strip() or "(empty completion)")
        proposal = None if self._already_recorded(code, text, completion) else {  # stored just before a kill
            "prompt": text, "completion": completion, "run_id": self.run_id,
            "prompt_tokens": tokens[0], "completion_tokens": tokens[1]}
        if extraction.ok:
            name, description, level = labels(code, extraction.class_name)
            record = self.registry.add_candidate(
                code, name=name, description=description, max_difficulty=level, generation=generation,
                parents=list(parents), run_id=self.run_id, proposal=proposal, tags=self.tags)
        else:  # nothing to run, but the proposal is kept with the reason it was refused
            record = self.registry.add_candidate(
                code, name=f"unparsed_{key}_run{self.run_id}", max_difficulty=1, generation=generation,
                description="no environment could be extracted from this completion", parents=list(parents),
                run_id=self.run_id, proposal=proposal, tags=(*self.tags, "unparsed"))
        if not extraction.ok:
            return self._unparsed(record, extraction)
        if record.run_id != self.run_id or record.status != "candidate" or self._claimed_by_other(record.id, key):
            return self._duplicate(record)
        return Stored(record.id, key, generation, list(parents))

    def _restored(self, env_id: int, key: str, generation: int, parents: list[tuple[int, str]]) -> Stored | Decision:
        record = self.registry.get(env_id)
        if record.status == "candidate":
            return Stored(env_id, key, generation, parents)
        if record.run_id == self.run_id:  # decided before the kill, but the journal line was lost
            return Decision(record.status, record.status_reason, record.reward or 0.0, record.id, record)
        return self._duplicate(record)

    def _unparsed(self, record: EnvRecord | None, extraction: Extraction) -> Decision:
        stage = StageResult("L1", False, reason=f"no environment code: {extraction.reason}",
                            details={"extract": extraction.reason})
        reward, _parts = generator_reward([stage], self.config)
        if record is not None and record.status == "candidate":
            record = self.registry.reject(record.id, stages=[stage], reason=stage.reason, reward=reward,
                                          run_id=self.run_id)
        return Decision("rejected", f"L1: {stage.reason}", reward, record.id if record else None, record, [stage])

    def _duplicate(self, record: EnvRecord) -> Decision:
        # Copying (typically the parent the prompt showed) must not earn Q: a copy earns at most 0.
        reward = min(0.0, record.reward) if record.reward is not None else 0.0
        return Decision("duplicate", f"same code as environment {record.id} ({record.name}, {record.status})",
                        reward, record.id, record)

    def _already_recorded(self, code: str, prompt: str, completion: str) -> bool:
        """True when this exact proposal is in the registry already (a resume after a kill
        that came between storing it and journaling that)."""
        record = self.registry.by_hash(code_sha256(code))
        if record is None or record.run_id != self.run_id or self.run_id is None:
            return False
        return any(p["completion"] == completion and p["prompt"] == prompt for p in self.registry.proposals(record.id))

    def _claimed_by_other(self, env_id: int, key: str) -> bool:
        """True when another proposal of this run already stored this environment."""
        with self._lock:
            owner = self._claims.setdefault(env_id, key)
        return owner != key

    # --- decide ---

    def decide(self, stored: Stored, repairs: int = 0, repair: Repairer | None = None,
               revisions: dict[str, dict] | None = None) -> Decision:
        """Admit a stored proposal (with up to ``repairs`` revisions from ``repair``, which records in
        ``revisions`` the proposal text of each revision by its code hash), persist the outcome and
        index what was admitted."""
        record = self.registry.get(stored.env_id)
        candidate = Candidate(code=record.code, name=record.name, origin="generated", generation=stored.generation,
                              parents=list(stored.parents), tags=self.tags)
        outcome = admit_with_repairs(candidate, self.ctx, repairs=repairs, repair=repair)
        revisions = revisions if revisions is not None else {}
        return self._commit(outcome, revisions)

    def _commit(self, outcome: AdmissionOutcome, revisions: dict[str, dict]) -> Decision:
        check = self.gate.for_candidate(outcome.candidate)
        final = persist(self.registry, outcome, run_id=self.run_id, lam=self.config.novelty_lambda, gate=check)
        for sha, proposal in revisions.items():  # each revision keeps the text that produced it
            revised = self.registry.by_hash(sha)
            if revised is not None:
                self.registry.record_proposal(revised.id, run_id=self.run_id, **proposal)
        admitted = outcome.admitted and final.status == "admitted"
        stages = list(outcome.stages)
        if check.veto is not None and not admitted:  # a near-duplicate was admitted meanwhile
            stages.append(check.veto)
        if admitted:
            self.gate.add_admitted(final, outcome.candidate)
        # judged admissible, but the commit said otherwise (a veto, or another worker's decision stood)
        reason = final.status_reason if outcome.admitted and not admitted else outcome.reason
        reward = final.reward if final.reward is not None else outcome.reward
        return Decision("admitted" if admitted else "rejected", reason, reward, final.id, final, stages,
                        repairs=len(outcome.attempts),
                        repair_tokens=sum(p["completion_tokens"] for p in revisions.values()),
                        candidate=outcome.candidate)

    def take(self, completion: str, *, key: str, prompt: Sequence[dict] | str,
             parents: Sequence[tuple[int, str]] = (), generation: int = 0) -> Decision:
        """Store and decide one proposal (no repairs): the trainer's generator role. Without a
        registry (training on source files) it is judged and indexed, and nothing is stored."""
        if self._registry is None:
            return self._take_unstored(completion, generation)
        stored = self.store(completion, key=key, prompt=prompt, parents=parents, generation=generation)
        return stored if isinstance(stored, Decision) else self.decide(stored)

    def _take_unstored(self, completion: str, generation: int) -> Decision:
        from evoenv.admission.pipeline import admit_candidate

        extraction = extract_code(completion)
        if extraction.code is None:
            return self._unparsed(None, extraction)
        candidate = Candidate(extraction.code, origin="generated", generation=generation, tags=self.tags)
        sha = candidate.code_sha256
        copy_of = self.novelty.key_of_hash(sha)  # the same rule as with a registry: indexed, or judged before
        if copy_of is not None or sha in self._seen:
            reward = min(0.0, self._seen.get(sha, 0.0))
            return Decision("duplicate", f"same code as environment {copy_of or 'generated:' + sha[:12]}", reward)
        outcome = admit_candidate(candidate, self.ctx)
        self._seen[sha] = outcome.reward
        if outcome.admitted and candidate.observed.info is not None:
            self.novelty.add_admitted(UnstoredEnv(f"generated:{sha[:12]}", candidate.observed.info.name), candidate)
        return Decision("admitted" if outcome.admitted else "rejected", outcome.reason, outcome.reward,
                        stages=list(outcome.stages), candidate=candidate)

    def admit_seed(self, code: str) -> tuple[AdmissionOutcome, EnvRecord] | None:
        """Admit a seed (origin "seed"); None when the registry has already decided it."""
        existing = self.registry.by_hash(code_sha256(code))
        if existing is not None and existing.status != "candidate":
            return None
        from evoenv.admission.pipeline import admit_candidate

        candidate = Candidate(code, origin="seed", tags=("seed",))
        outcome = admit_candidate(candidate, self.ctx)
        record = persist(self.registry, outcome, run_id=self.run_id, lam=self.config.novelty_lambda)
        if outcome.admitted:
            self.gate.add_admitted(record, candidate)
        return outcome, record


def stage_dicts(stages: Sequence[StageResult]) -> list[dict]:
    return [{"stage": s.stage, "passed": s.passed, "reason": s.reason, "score": s.score,
             "duration_s": round(s.duration_s, 4)} for s in stages]
