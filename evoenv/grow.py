"""The grow loop: the policy proposes environments, admission judges them, the registry grows.

One round::

    parents  <- registry.sample_pool            (2 per candidate, seeds keep a floor)
    prompts  <- generator template (mutation of parent 1, or crossover of both)
    texts    <- policy.generate(prompts)        (one batch)
    journal  <- the texts, before anything else (a kill now loses nothing)
    registry <- each candidate + its proposal   (add_candidate, idempotent on code)
    admission, B candidates in parallel threads, each with up to N repairs
    registry <- admit / reject with every stage result; pool epoch advances

The journal (``<state_dir>/grow-<run_id>.jsonl``, append-only, fsync'd) is what
``--resume`` reads: completed rounds, and for the round a kill interrupted,
which proposals were stored and which were decided. The registry remains the
record of the environments themselves.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from evoenv.admission.labels import labels
from evoenv.admission.result import STAGES, StageResult
from evoenv.configfile import ConfigFileError, read_config_file
from evoenv.defaults import POOL_MAX_EPOCHS
from evoenv.extract import MAX_COMPLETION_BYTES, Extraction, extract_code
from evoenv.hashing import code_sha256
from evoenv.policy.base import Completion, Policy, Sampling
from evoenv.prompts import chat_prompt

#: What is stored of a completion: a runaway generation is cut (and says so), not dropped.
MAX_STORED_COMPLETION = 2_000_000


class GrowError(RuntimeError):
    """A grow run cannot start or resume; the message says what to fix."""


# --------------------------------------------------------------------------------------------
# configuration


@dataclass
class GrowConfig:
    """Every knob of a grow run. A TOML or YAML file fills it; CLI flags override."""

    policy: str | None = None
    #: passed to the backend's constructor, e.g. {"concurrency": 16, "timeout": 600}
    policy_options: dict[str, Any] = field(default_factory=dict)
    rounds: int = 1
    batch: int = 4
    #: repairs per failing candidate (0: none); a repair gets the failing stage's reason
    repairs: int = 0
    #: share of proposals that cross two parents over; the rest mutate one
    crossover_rate: float = 0.5
    parents_per_prompt: int = 2
    seed: int = 0
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 4096
    #: candidates admitted at once (threads; each drives the sandbox)
    admission_workers: int = 2
    sandbox: str | None = None
    sandbox_workers: int | None = None
    #: where sandbox jobs run: "local", or "ray" / "ray=ADDRESS" (one warm pool per node; evoenv.cluster)
    executor: str = "local"
    pool_max_epochs: int = POOL_MAX_EPOCHS
    seed_floor: float = 0.2
    #: overrides of evoenv.admission.config.AdmissionConfig fields
    admission: dict[str, Any] = field(default_factory=dict)
    state_dir: str = ".evoenv/runs"

    def validate(self) -> None:
        checks = [
            (self.rounds >= 1, f"rounds must be >= 1, got {self.rounds}"),
            (self.batch >= 1, f"batch must be >= 1, got {self.batch}"),
            (self.repairs >= 0, f"repairs must be >= 0, got {self.repairs}"),
            (0.0 <= self.crossover_rate <= 1.0, f"crossover_rate must be within [0, 1], got {self.crossover_rate}"),
            (self.parents_per_prompt in (1, 2), f"parents_per_prompt must be 1 or 2, got {self.parents_per_prompt}"),
            (self.admission_workers >= 1, f"admission_workers must be >= 1, got {self.admission_workers}"),
            (self.max_tokens >= 1, f"max_tokens must be >= 1, got {self.max_tokens}"),
            (self.pool_max_epochs >= 1, f"pool_max_epochs must be >= 1, got {self.pool_max_epochs}"),
            (0.0 <= self.seed_floor <= 1.0, f"seed_floor must be within [0, 1], got {self.seed_floor}"),
        ]
        for ok, message in checks:
            if not ok:
                raise GrowError(message)
        from evoenv.cluster import ExecutorError, parse_executor

        try:
            parse_executor(self.executor)
        except ExecutorError as exc:
            raise GrowError(str(exc)) from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sampling(self) -> Sampling:
        """How the generator samples, for proposals and repairs alike."""
        return Sampling(temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> "GrowConfig":
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise GrowError(f"{where}: unknown grow setting(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(known))}")
        config = cls()
        for key, value in data.items():
            default = getattr(config, key)
            if isinstance(default, bool) or default is None:
                setattr(config, key, value)
            elif isinstance(default, int) and not isinstance(value, bool) and isinstance(value, (int, float)) \
                    and float(value).is_integer():
                setattr(config, key, int(value))
            elif isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
                setattr(config, key, float(value))
            elif isinstance(default, type(value)):
                setattr(config, key, value)
            else:
                raise GrowError(f"{where}: {key} must be a {type(default).__name__}, got {value!r}")
        return config


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The settings in a TOML or YAML file; a ``[grow]`` table, when present, holds them."""
    try:
        return read_config_file(path, section="grow")
    except ConfigFileError as exc:
        raise GrowError(str(exc)) from None


# --------------------------------------------------------------------------------------------
# the journal


class Journal:
    """Append-only JSONL; each event is flushed and fsync'd before the loop goes on."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def append(self, event: str, **data: Any) -> None:
        line = json.dumps({"event": event, "t": round(time.time(), 3), **data}, ensure_ascii=False, default=str)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())

    def events(self) -> list[dict]:
        if not self.path.exists():
            return []
        events = []
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:
                    break  # a line cut by a kill mid-write: everything before it is whole
        return events


def journal_path(state_dir: str | os.PathLike, run_id: int) -> Path:
    return Path(state_dir) / f"grow-{run_id}.jsonl"


def saved_config(state_dir: str | os.PathLike, run_id: int, events: list[dict] | None = None) -> dict[str, Any]:
    """The settings a run was started with, from its journal."""
    path = journal_path(state_dir, run_id)
    events = Journal(path).events() if events is None else events
    if not events or events[0].get("event") != "start":
        raise GrowError(f"no journal for grow run {run_id} at {path}; pass the --state-dir the run was started with")
    return dict(events[0]["config"])


# --------------------------------------------------------------------------------------------
# records of one round


@dataclass
class Slot:
    """One proposal of a round, from prompt to decision."""

    key: str  # "r{round}s{slot}"
    round: int
    prompt: list[dict]
    parents: list[tuple[int, str]]
    generation: int
    raw: str = ""
    #: the completion's length before ``raw`` was capped for storage
    raw_chars: int = 0
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    env_id: int | None = None
    outcome: str = ""  # "admitted" | "rejected" | "duplicate"
    reason: str = ""
    stages: list[dict] = field(default_factory=list)
    #: repair attempts admission made for this proposal, and the tokens they cost
    repairs: int = 0
    repair_tokens: int = 0


@dataclass
class RoundSummary:
    round: int
    proposed: int = 0
    passes: dict[str, int] = field(default_factory=lambda: {s: 0 for s in STAGES})
    admitted: int = 0
    rejected: int = 0
    duplicates: int = 0
    repairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    retired: list[int] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class GrowReport:
    run_id: int
    rounds: list[RoundSummary]
    slots: list[Slot]
    resumed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "resumed": self.resumed,
            "rounds": [asdict(r) | {"tokens": r.tokens} for r in self.rounds],
            "candidates": [
                {"key": s.key, "round": s.round, "env_id": s.env_id, "outcome": s.outcome, "reason": s.reason,
                 "failed_stage": next((x["stage"] for x in s.stages if x.get("passed") is False), None),
                 "repairs": s.repairs, "prompt_tokens": s.prompt_tokens,
                 "completion_tokens": s.completion_tokens, "seconds": round(s.seconds, 3)}
                for s in self.slots
            ],
            "totals": {
                "proposed": sum(r.proposed for r in self.rounds),
                "admitted": sum(r.admitted for r in self.rounds),
                "tokens": sum(r.tokens for r in self.rounds),
            },
        }


# --------------------------------------------------------------------------------------------
# small helpers


def prompt_text(prompt: list[dict]) -> str:
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in prompt)


def capped(text: str) -> str:
    if len(text) <= MAX_STORED_COMPLETION:
        return text
    return text[:MAX_STORED_COMPLETION] + f"\n[... cut: {len(text) - MAX_STORED_COMPLETION:,} more characters]"


# --------------------------------------------------------------------------------------------
# the loop


class Grower:
    """Runs (or resumes) one grow run against a registry, a policy and a sandbox."""

    def __init__(self, config: GrowConfig, registry, policy: Policy, sandbox,
                 on_event: Callable[[str, dict], None] | None = None):
        config.validate()
        self.config = config
        self.registry = registry
        self.policy = policy
        self.sandbox = sandbox
        self.on_event = on_event or (lambda kind, data: None)
        self.admitter = Admitter(config, registry, policy, sandbox)
        self.run_id: int | None = None
        self.journal: Journal | None = None
        self.slots: list[Slot] = []
        self.rounds: list[RoundSummary] = []
        self._claims: dict[int, str] = {}  # env id -> the slot that stored it first in this run
        self._lock = threading.Lock()

    # --- start and resume ---

    def start(self) -> int:
        if not self.registry.pool():
            waiting = self.registry.count_envs(status="candidate", origin="seed")
            note = f" ({waiting} seeds are loaded but not admitted)" if waiting else ""
            raise GrowError(f"the pool of {self.registry.url} has no admitted environment{note}: run `evoenv init`, "
                            "which admits the seeds, the first parents")
        self.run_id = self.registry.start_run("grow", self.config.to_dict())
        self.journal = Journal(journal_path(self.config.state_dir, self.run_id))
        self.journal.append("start", run_id=self.run_id, config=self.config.to_dict())
        return self.run_id

    @classmethod
    def resume(cls, run_id: int, registry, policy: Policy, sandbox, *, state_dir: str,
               overrides: dict[str, Any] | None = None, on_event=None) -> tuple["Grower", int, list[Slot] | None]:
        """A grower for a killed run, the round to go on from, and the proposals that round had
        already generated (None when the kill came before they were journaled)."""
        journal = Journal(journal_path(state_dir, run_id))
        events = journal.events()
        saved = saved_config(state_dir, run_id, events)
        saved.update({k: v for k, v in (overrides or {}).items() if v is not None})
        config = GrowConfig.from_dict(saved, where=str(journal.path))
        config.state_dir = str(state_dir)
        run = registry.get_run(run_id)
        if run.status not in ("running", "interrupted"):
            raise GrowError(f"grow run {run_id} is {run.status}; only an unfinished run can be resumed")
        grower = cls(config, registry, policy, sandbox, on_event=on_event)
        grower.run_id, grower.journal = run_id, journal
        done_rounds = {e["round"] for e in events if e["event"] == "round_done"}
        grower.rounds = [RoundSummary(**{k: v for k, v in e["summary"].items() if k != "tokens"})
                         for e in events if e["event"] == "round_done"]
        next_round = max(done_rounds, default=0) + 1
        slots = grower._slots_from_journal(events, next_round)
        grower.slots = [s for s in slots if s.round < next_round]
        pending = [s for s in slots if s.round == next_round] or None
        journal.append("resume", next_round=next_round, pending=[s.key for s in pending or []])
        return grower, next_round, pending

    def _slots_from_journal(self, events: list[dict], next_round: int) -> list[Slot]:
        slots: dict[str, Slot] = {}
        for e in events:
            kind = e["event"]
            if kind == "generated":
                for item in e["slots"]:
                    slot = Slot(**item)
                    slot.parents = [tuple(p) for p in slot.parents]
                    slots[slot.key] = slot
            elif kind == "stored" and e["key"] in slots:
                slots[e["key"]].env_id = e["env_id"]
            elif kind == "decided" and e["key"] in slots:
                slot = slots[e["key"]]
                slot.outcome, slot.reason, slot.env_id = e["outcome"], e["reason"], e.get("env_id", slot.env_id)
                slot.stages = e.get("stages", [])
                slot.repairs, slot.repair_tokens = e.get("repairs", 0), e.get("repair_tokens", 0)
        return list(slots.values())

    # --- rounds ---

    def run(self, first_round: int = 1, pending: list[Slot] | None = None) -> GrowReport:
        resumed = first_round > 1 or pending is not None
        try:
            if pending and first_round <= self.config.rounds:
                self._finish_round(first_round, pending, started=time.monotonic())
                first_round += 1
            for number in range(first_round, self.config.rounds + 1):
                self._round(number)
        except BaseException:
            self.registry.finish_run(self.run_id, "interrupted", self._summary())
            raise
        self.registry.finish_run(self.run_id, "finished", self._summary())
        self.journal.append("finished")
        return GrowReport(self.run_id, self.rounds, self.slots, resumed=resumed)

    def _summary(self) -> dict[str, Any]:
        return GrowReport(self.run_id or 0, self.rounds, self.slots).to_dict()

    def _round(self, number: int) -> None:
        started = time.monotonic()
        self.on_event("round_start", {"round": number, "batch": self.config.batch})
        rng = random.Random(f"{self.config.seed}:{number}")
        slots = [self._new_slot(number, i, rng) for i in range(self.config.batch)]
        self._generate(slots)
        self._finish_round(number, slots, started)

    def _new_slot(self, number: int, index: int, rng: random.Random) -> Slot:
        parents = self.registry.sample_pool(self.config.parents_per_prompt, rng, seed_floor=self.config.seed_floor)
        crossover = len(parents) >= 2 and parents[0].id != parents[1].id and rng.random() < self.config.crossover_rate
        operation = "crossover" if crossover else "mutation"
        prompt = chat_prompt("generator", operation=operation, parents=[
            {"name": p.name, "description": p.description, "code": p.code} for p in parents])
        lineage = [(p.id, "crossover") for p in parents[:2]] if crossover else \
            [(parents[0].id, "mutation")] if parents else []
        generation = 1 + max((p.generation for p in parents), default=0)
        return Slot(key=f"r{number}s{index}", round=number, prompt=prompt, parents=lineage, generation=generation)

    def _generate(self, slots: list[Slot]) -> None:
        """One batched call; the texts reach the journal before anything else happens."""
        started = time.monotonic()
        completions: list[Completion] = self.policy.generate([s.prompt for s in slots], self.config.sampling())
        per = (time.monotonic() - started) / max(1, len(slots))
        for slot, completion in zip(slots, completions):
            slot.raw, slot.raw_chars = capped(completion.raw), len(completion.raw)
            slot.finish_reason = completion.finish_reason
            slot.prompt_tokens, slot.completion_tokens = completion.prompt_tokens, completion.completion_tokens
            slot.seconds = completion.seconds or per
        self.journal.append("generated", slots=[
            {k: v for k, v in asdict(s).items() if k not in ("env_id", "outcome", "reason", "stages")}
            for s in slots])

    def _finish_round(self, number: int, slots: list[Slot], started: float) -> None:
        todo = [s for s in slots if not s.outcome]
        self.on_event("admitting", {"round": number, "total": len(slots), "done": len(slots) - len(todo)})
        with ThreadPoolExecutor(max_workers=self.config.admission_workers,
                                thread_name_prefix="evoenv-admit") as pool:
            list(pool.map(self._settle, todo))
        with self._lock:
            self.slots.extend(slots)
        retired = self.registry.advance_pool_epoch(self.config.pool_max_epochs)
        summary = self._tally(number, [s for s in self.slots if s.round == number], started, retired)
        self.rounds.append(summary)
        self.journal.append("round_done", round=number, summary=asdict(summary) | {"tokens": summary.tokens})
        self.on_event("round_done", {"summary": summary})

    def _settle(self, slot: Slot) -> Slot:
        """Store one proposal, then admit it (with its repairs) unless storing decided it."""
        self._store(slot)
        if not slot.outcome:
            self.admitter.decide(slot, self.run_id, self.journal)
        self.journal.append("decided", key=slot.key, env_id=slot.env_id, outcome=slot.outcome, reason=slot.reason,
                            stages=slot.stages, repairs=slot.repairs, repair_tokens=slot.repair_tokens)
        self.on_event("decided", {"slot": slot})
        return slot

    def _store(self, slot: Slot) -> None:
        """Put the proposal in the registry (idempotent: a resumed slot finds its row). Sets the slot's
        outcome when storing alone decides it (no code, a duplicate, decided before a kill)."""
        if slot.env_id is not None:  # stored before a kill
            record = self.registry.get(slot.env_id)
            if record.status != "candidate":
                if record.run_id == self.run_id:
                    # Decided before the kill, but the journal line was lost: take the registry's word.
                    slot.outcome, slot.reason = record.status, record.status_reason
                else:
                    slot.outcome = "duplicate"
                    slot.reason = f"same code as environment {record.id} ({record.name}, {record.status})"
            return
        if slot.raw_chars > MAX_COMPLETION_BYTES:
            extraction = Extraction(None, f"the completion is {slot.raw_chars:,} characters, over the "
                                          f"{MAX_COMPLETION_BYTES:,}-byte limit")
        else:
            extraction = extract_code(slot.raw, finish_reason=slot.finish_reason)
        proposal = {"prompt": prompt_text(slot.prompt), "completion": slot.raw, "run_id": self.run_id,
                    "prompt_tokens": slot.prompt_tokens, "completion_tokens": slot.completion_tokens}
        if self._already_recorded(extraction, proposal):
            proposal = None  # stored just before a kill: do not record it twice
        if extraction.ok:
            name, description, level = labels(extraction.code, extraction.class_name)
            record = self.registry.add_candidate(
                extraction.code, name=name, description=description, max_difficulty=level,
                generation=slot.generation, parents=slot.parents, run_id=self.run_id, proposal=proposal,
                tags=("grow",))
        else:
            # Nothing to run, but the proposal is still kept with the reason it was refused.
            text = slot.raw.strip() or "(empty completion)"
            record = self.registry.add_candidate(
                capped(text), name=f"unparsed_{slot.key}_run{self.run_id}", description="no environment could be "
                "extracted from this completion", max_difficulty=1, generation=slot.generation,
                parents=slot.parents, run_id=self.run_id, proposal=proposal, tags=("grow", "unparsed"))
        slot.env_id = record.id
        self.journal.append("stored", key=slot.key, env_id=record.id)
        if not extraction.ok:
            if record.status == "candidate":
                stage = StageResult("L1", False, reason=f"no environment code: {extraction.reason}",
                                    details={"extract": extraction.reason})
                self.registry.reject(record.id, stages=[stage], reason=stage.reason)
            slot.outcome, slot.reason = "rejected", f"L1: no environment code: {extraction.reason}"
            slot.stages = [{"stage": "L1", "passed": False, "reason": slot.reason}]
        elif record.run_id != self.run_id or record.status != "candidate" or self._stored_twice(slot, record.id):
            slot.outcome = "duplicate"
            slot.reason = f"same code as environment {record.id} ({record.name}, {record.status})"

    def _already_recorded(self, extraction, proposal: dict) -> bool:
        """True when this exact proposal is in the registry already (a resume after a kill
        that came between storing it and journaling that)."""
        code = extraction.code if extraction.ok else capped(proposal["completion"].strip() or "(empty completion)")
        record = self.registry.by_hash(code_sha256(code))
        if record is None or record.run_id != self.run_id:
            return False
        return any(p["completion"] == proposal["completion"] and p["prompt"] == proposal["prompt"]
                   for p in self.registry.proposals(record.id))

    def _stored_twice(self, slot: Slot, env_id: int) -> bool:
        """True when another proposal of this run already claimed this environment."""
        with self._lock:
            owner = self._claims.setdefault(env_id, slot.key)
        return owner != slot.key

    def _tally(self, number: int, slots: list[Slot], started: float, retired: list[int]) -> RoundSummary:
        summary = RoundSummary(round=number, retired=list(retired))
        for slot in slots:
            summary.proposed += 1
            summary.repairs += slot.repairs
            summary.admitted += slot.outcome == "admitted"
            summary.rejected += slot.outcome == "rejected"
            summary.duplicates += slot.outcome == "duplicate"
            summary.prompt_tokens += slot.prompt_tokens
            summary.completion_tokens += slot.completion_tokens + slot.repair_tokens
            for stage in slot.stages:
                if stage.get("passed") is True and stage.get("stage") in summary.passes:
                    summary.passes[stage["stage"]] += 1
        summary.seconds = round(time.monotonic() - started, 3)
        return summary


# --------------------------------------------------------------------------------------------
# the bridge to the admission pipeline


class Admitter:
    """Runs the admission pipeline (with the optional repair loop) on one stored
    candidate and records the outcome through ``evoenv.admission.persist``."""

    def __init__(self, config: GrowConfig, registry, policy: Policy, sandbox):
        from evoenv.admission import AdmissionConfig, AdmissionContext
        from evoenv.admission.novelty import NoveltyIndex
        from evoenv.configfile import ConfigError

        self.config = config
        self.registry = registry
        self.policy = policy
        try:
            admission = AdmissionConfig.from_dict(config.admission, "admission")
        except ConfigError as exc:
            raise GrowError(f"admission settings: {exc}") from None
        admission.pool_max_epochs, admission.seed_floor = config.pool_max_epochs, config.seed_floor
        self.admission = admission
        # One index for the run: what this run admits is added as it goes, and what other
        # workers admit joins it at each admission commit (CommitGate).
        self.novelty = NoveltyIndex.from_registry(registry, admission.novelty_lambda)
        self.gate = CommitGate(self.novelty, admission)
        self.ctx = AdmissionContext(sandbox, admission, policy=policy, novelty=self.novelty)

    def decide(self, slot: Slot, run_id: int, journal: Journal) -> None:
        from evoenv.admission import Candidate
        from evoenv.admission.persist import persist
        from evoenv.admission.repair import admit_with_repairs

        record = self.registry.get(slot.env_id)
        candidate = Candidate(code=record.code, name=record.name, origin="generated", generation=slot.generation,
                              parents=list(slot.parents), tags=("grow",))
        repairs: dict[str, dict] = {}
        outcome = admit_with_repairs(candidate, self.ctx, repairs=self.config.repairs,
                                     repair=self._repairer(slot, repairs, journal))
        check = self.gate.for_candidate(outcome.candidate)
        final = persist(self.registry, outcome, run_id=run_id, lam=self.admission.novelty_lambda, gate=check)
        for sha, proposal in repairs.items():  # each revision keeps the text that produced it
            revised = self.registry.by_hash(sha)
            if revised is not None:
                self.registry.record_proposal(revised.id, run_id=run_id, **proposal)
        admitted = outcome.admitted and final.status == "admitted"
        stages = list(outcome.stages)
        if check.veto is not None and not admitted:  # a near-duplicate was admitted meanwhile
            stages.append(check.veto)
        if admitted:
            self.gate.add_admitted(final, outcome.candidate)
        slot.env_id = final.id
        slot.outcome = "admitted" if admitted else "rejected"
        # judged admissible, but the commit said otherwise (a veto, or another worker's decision stood)
        slot.reason = final.status_reason if outcome.admitted and not admitted else outcome.reason
        slot.stages = stage_dicts(stages)
        slot.repairs = len(outcome.attempts)
        slot.repair_tokens = sum(p["completion_tokens"] for p in repairs.values())

    def _repairer(self, slot: Slot, made: dict[str, dict], journal: Journal):
        """Ask the policy again in the same chat: its code, then the failing stage's reason."""
        def repair(candidate, failure: StageResult) -> str | None:
            prompt = slot.prompt + [{"role": "assistant", "content": f"```python\n{candidate.code}```"}] + \
                chat_prompt("repair", stage=failure.stage, reason=failure.reason)
            (completion,) = self.policy.generate([prompt], self.config.sampling())
            extraction = extract_code(completion.raw, finish_reason=completion.finish_reason)
            record = {"prompt": prompt_text(prompt), "completion": capped(completion.raw),
                      "prompt_tokens": completion.prompt_tokens, "completion_tokens": completion.completion_tokens}
            if extraction.ok:
                made[code_sha256(extraction.code)] = record
            else:  # no code to store as an environment: keep the text in the journal
                journal.append("repair_unusable", key=slot.key, stage=failure.stage, reason=extraction.reason,
                               completion=record["completion"], completion_tokens=completion.completion_tokens)
            return extraction.code

        return repair


class CommitGate:
    """The novelty decision again, inside the admission commit (``Registry.admit``, under the
    database's admission lock): against everything admitted by then, by any worker. The novelty
    stage compared the candidate with this worker's index, which may be minutes old; environments
    admitted since by other grow processes (or other threads) are read here, join the index, and
    a candidate that copies one (same fingerprint) or is too similar (MiniLM, the same threshold)
    is rejected instead of admitted."""

    def __init__(self, index, config):
        self.index = index
        self.config = config
        self._lock = threading.Lock()
        self._known: set = set(index.keys)

    def add_admitted(self, record, candidate) -> None:
        """This worker's own admission joins the index (once, whoever saw it first)."""
        with self._lock:
            if record.id in self._known:
                return
            self._known.add(record.id)
        self.index.add_admitted(record, candidate)

    def _catch_up(self, view) -> tuple[list[int], list[str], Any]:
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

    def for_candidate(self, candidate) -> "CandidateGate":
        return CandidateGate(self, candidate)


class CandidateGate:
    """``CommitGate`` for one candidate: the callable ``Registry.admit`` asks; keeps its veto."""

    def __init__(self, gate: CommitGate, candidate):
        self.gate, self.candidate = gate, candidate
        self.veto: StageResult | None = None

    def __call__(self, view) -> StageResult | None:
        import numpy as np

        config, observed = self.gate.config, self.candidate.observed
        ids, names, matrix = self.gate._catch_up(view)
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


def stage_dicts(stages: list[StageResult]) -> list[dict]:
    return [{"stage": s.stage, "passed": s.passed, "reason": s.reason, "score": s.score,
             "duration_s": round(s.duration_s, 4)} for s in stages]


__all__ = ["GrowConfig", "GrowError", "GrowReport", "Grower", "Journal", "RoundSummary", "Slot",
           "load_config_file"]
