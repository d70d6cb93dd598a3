"""The one path from a policy's completion into the registry.

    plan      a generator prompt from parent environments (mutation of parent 1, or crossover of both),
              with the lineage and generation the proposal will have
    store     extract the code (``evoenv.extract``) and add it as a candidate with its proposal text and
              lineage; the same code already stored, or claimed by another proposal of this run, is a
              duplicate and is not judged again
    decide    admission with up to ``repairs`` revisions (``evoenv.admission.repair``), then ONE admit or
              reject through ``evoenv.admission.persist`` (vectors stored under ``model_key(novelty_lambda)``)
              with the commit gate below; an admitted environment joins the novelty index

The grow loop (``evoenv.grow``), the trainer's generator role (``evoenv.train.generator_admission``)
and seeding (``evoenv.seeding``) all go through ``Intake``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate
from evoenv.admission.labels import labels
from evoenv.admission.novelty import NoveltyIndex
from evoenv.admission.persist import persist
from evoenv.admission.pipeline import AdmissionOutcome
from evoenv.admission.repair import Repairer, admit_with_repairs
from evoenv.admission.result import StageResult
from evoenv.admission.reward import generator_reward
from evoenv.configfile import ConfigError, build_dataclass
from evoenv.extract import MAX_COMPLETION_BYTES, Extraction, extract_code
from evoenv.hashing import code_sha256
from evoenv.policy.base import Policy, Sampling
from evoenv.prompts import chat_prompt
from evoenv.registry import EnvRecord

#: What is stored of a completion: a runaway generation is cut (and says so), not dropped.
MAX_STORED_COMPLETION = 2_000_000


def admission_config(overrides: dict[str, Any], where: str = "admission") -> AdmissionConfig:
    """``AdmissionConfig`` with ``overrides`` (a ``[grow.admission]`` or ``[generator.admission]`` table);
    an unknown key or a wrong type raises ConfigError naming it."""
    try:
        return build_dataclass(AdmissionConfig, dict(overrides))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def capped(text: str) -> str:
    if len(text) <= MAX_STORED_COMPLETION:
        return text
    return text[:MAX_STORED_COMPLETION] + f"\n[... cut: {len(text) - MAX_STORED_COMPLETION:,} more characters]"


def prompt_text(prompt: Sequence[dict] | str) -> str:
    """A chat prompt as the text stored with a proposal."""
    if isinstance(prompt, str):
        return prompt
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in prompt)


# --------------------------------------------------------------------------------------------
# plan: the generator prompt and the lineage it gives


@dataclass(frozen=True)
class Parent:
    """A parent environment as the generator prompt shows it and the lineage records it."""

    key: str  # tells two parents apart (the registry id as text, or a source's name)
    env_id: int | None  # the registry row the lineage points at (None: not stored)
    name: str
    description: str
    code: str
    generation: int = 0

    @classmethod
    def of_record(cls, record: EnvRecord) -> Parent:
        return cls(str(record.id), record.id, record.name, record.description, record.code, record.generation)


class ProposalPrompt(list):  # type: ignore[type-arg]
    """A generator chat prompt (the list of messages policies take) that also carries the lineage
    (registry id, "mutation"/"crossover") and generation its proposal will be stored with. Being a
    list, it goes through the trainer's rollout and its rank-to-rank gathering like any prompt."""

    def __init__(self, messages: list[dict], parents: list[tuple[int, str]], generation: int):
        super().__init__(messages)
        self.parents = parents
        self.generation = generation


def plan_proposal(parents: Sequence[Parent], rng: random.Random, crossover_rate: float) -> ProposalPrompt:
    """Every parent is shown; a crossover (of two distinct parents, at ``crossover_rate``) records both
    as parents, a mutation records parent 1."""
    crossover = len(parents) >= 2 and parents[0].key != parents[1].key and rng.random() < crossover_rate
    relation = "crossover" if crossover else "mutation"
    prompt = chat_prompt("generator", operation=relation, parents=[
        {"name": p.name, "description": p.description, "code": p.code} for p in parents])
    chosen = parents[:2] if crossover else parents[:1]
    lineage = [(p.env_id, relation) for p in chosen if p.env_id is not None]
    return ProposalPrompt(prompt, lineage, 1 + max((p.generation for p in parents), default=0))


# --------------------------------------------------------------------------------------------
# store and decide


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

    def __init__(self, registry, sandbox, config: AdmissionConfig, *, policy: Policy | None = None,
                 run_id: int | None = None, tags: tuple[str, ...] = ("grow",), keep_unparsed: bool = True,
                 novelty: NoveltyIndex | None = None):
        self.registry = registry
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
        if not extraction.ok and not self.keep_unparsed:
            return self._unparsed(None, extraction)
        proposal: dict[str, Any] | None = {
            "prompt": prompt_text(prompt), "completion": completion, "run_id": self.run_id,
            "prompt_tokens": tokens[0], "completion_tokens": tokens[1]}
        code = extraction.code if extraction.ok else capped(completion.strip() or "(empty completion)")
        if self._already_recorded(code, proposal):
            proposal = None  # stored just before a kill: do not record it twice
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

    def _already_recorded(self, code: str, proposal: dict[str, Any]) -> bool:
        """True when this exact proposal is in the registry already (a resume after a kill
        that came between storing it and journaling that)."""
        record = self.registry.by_hash(code_sha256(code))
        if record is None or record.run_id != self.run_id or self.run_id is None:
            return False
        return any(p["completion"] == proposal["completion"] and p["prompt"] == proposal["prompt"]
                   for p in self.registry.proposals(record.id))

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
        if self.registry is None:
            return self._take_unstored(completion, generation)
        stored = self.store(completion, key=key, prompt=prompt, parents=parents, generation=generation)
        return stored if isinstance(stored, Decision) else self.decide(stored)

    def _take_unstored(self, completion: str, generation: int) -> Decision:
        from evoenv.admission.pipeline import admit_candidate

        extraction = extract_code(completion)
        if not extraction.ok:
            return self._unparsed(None, extraction)
        candidate = Candidate(extraction.code, origin="generated", generation=generation, tags=self.tags)
        sha = candidate.code_sha256
        copy_of = self.novelty.key_of_hash(sha)  # the same rule as with a registry: indexed, or judged before
        if copy_of is not None or sha in self._seen:
            reward = min(0.0, self._seen.get(sha, 0.0))
            return Decision("duplicate", f"same code as environment {copy_of or 'generated:' + sha[:12]}", reward)
        outcome = admit_candidate(candidate, self.ctx)
        self._seen[sha] = outcome.reward
        if outcome.admitted:
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


def chat_repairer(policy: Policy, sampling: Sampling, prompt: list[dict], revisions: dict[str, dict],
                  on_unusable: Callable[[StageResult, str, str, int], None]) -> Repairer:
    """Asks the policy again in the same chat: its code, then the failing stage's reason. Each usable
    revision's proposal text goes into ``revisions`` (by code hash); ``on_unusable(failure, why,
    completion, completion_tokens)`` hears of a reply with no code."""
    def repair(candidate: Candidate, failure: StageResult) -> str | None:
        asked = prompt + [{"role": "assistant", "content": f"```python\n{candidate.code}```"}] + \
            chat_prompt("repair", stage=failure.stage, reason=failure.reason)
        (completion,) = policy.generate([asked], sampling)
        extraction = extract_code(completion.raw, finish_reason=completion.finish_reason)
        text = capped(completion.raw)
        if extraction.ok:
            revisions[code_sha256(extraction.code)] = {
                "prompt": prompt_text(asked), "completion": text, "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens}
        else:
            on_unusable(failure, extraction.reason, text, completion.completion_tokens)
        return extraction.code

    return repair


# --------------------------------------------------------------------------------------------
# the novelty decision again, at the admission commit


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


def stage_dicts(stages: Sequence[StageResult]) -> list[dict]:
    return [{"stage": s.stage, "passed": s.passed, "reason": s.reason, "score": s.score,
             "duration_s": round(s.duration_s, 4)} for s in stages]
