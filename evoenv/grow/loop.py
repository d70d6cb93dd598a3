"""The grow loop: the policy proposes environments, admission judges them, the registry grows.

One round::

    parents  <- registry.sample_pool            (2 per candidate, seeds keep a floor)
    prompts  <- generator template (mutation of parent 1, or crossover of both)
    texts    <- policy.generate(prompts)        (one batch)
    journal  <- the texts, before anything else (a kill now loses nothing)
    intake   <- each proposal: stored (idempotent on code), then admitted with up to N repairs,
                B proposals in parallel threads (evoenv.intake)
    registry <- pool epoch advances; journal <- the round's summary

``GrowRun(config, ...).run()`` starts a run; ``GrowRun.resume(run_id, ...).run()`` goes on with
a killed one from its journal (evoenv.grow.journal).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

from evoenv.admission.result import StageResult
from evoenv.grow.config import GrowConfig, GrowError
from evoenv.grow.journal import Journal, journal_path, replay, saved_config
from evoenv.grow.records import GrowReport, RoundSummary, Slot
from evoenv.intake import Decision, Intake, Parent, Stored, capped, chat_repairer, plan_proposal, stage_dicts
from evoenv.policy.base import Policy
from evoenv.registry import Registry
from evoenv.sandbox import Sandbox


class GrowRun:
    """One grow run against a registry, a policy and a sandbox."""

    def __init__(self, config: GrowConfig, registry: Registry, policy: Policy, sandbox: Sandbox,
                 on_event: Callable[[str, dict], None] | None = None):
        config.validate()
        self.config = config
        self.registry = registry
        self.policy = policy
        self.sandbox = sandbox
        self.on_event = on_event or (lambda kind, data: None)
        self.run_id: int | None = None  # set by run(), or by resume()
        self.journal: Journal | None = None
        self.rounds: list[RoundSummary] = []
        self.slots: list[Slot] = []
        self.first_round = 1
        self.pending: list[Slot] | None = None  # proposals of first_round generated before a kill
        self.resumed = False
        self._lock = threading.Lock()

    @classmethod
    def resume(cls, run_id: int, registry: Registry, policy: Policy, sandbox: Sandbox, *, state_dir: str,
               overrides: dict[str, Any] | None = None,
               on_event: Callable[[str, dict], None] | None = None) -> GrowRun:
        """The killed run ``run_id``, ready to ``run()`` from where its journal stops."""
        journal = Journal(journal_path(state_dir, run_id))
        events = journal.events()
        saved = saved_config(state_dir, run_id, events)
        saved.update({k: v for k, v in (overrides or {}).items() if v is not None})
        config = GrowConfig.from_dict(saved, where=str(journal.path))
        config.state_dir = str(state_dir)
        status = registry.get_run(run_id).status
        if status not in ("running", "interrupted"):
            raise GrowError(f"grow run {run_id} is {status}; only an unfinished run can be resumed")
        run = cls(config, registry, policy, sandbox, on_event=on_event)
        run.run_id, run.journal, run.resumed = run_id, journal, True
        run.rounds, run.slots, run.first_round, run.pending = replay(events)
        journal.append("resume", next_round=run.first_round, pending=[s.key for s in run.pending or []])
        return run

    def _start(self) -> None:
        if not self.registry.pool():
            waiting = self.registry.count_envs(status="candidate", origin="seed")
            note = f" ({waiting} seeds are loaded but not admitted)" if waiting else ""
            raise GrowError(f"the pool of {self.registry.url} has no admitted environment{note}: run `evoenv init`, "
                            "which admits the seeds, the first parents")
        self.run_id = self.registry.start_run("grow", self.config.to_dict())
        self.journal = Journal(journal_path(self.config.state_dir, self.run_id))
        self.journal.append("start", run_id=self.run_id, config=self.config.to_dict())

    # --- the run ---

    def run(self) -> GrowReport:
        if self.run_id is None:
            self._start()
        run_id = self.run_id
        assert run_id is not None
        self.intake = Intake(self.registry, self.sandbox, self.config.admission_config(), policy=self.policy,
                             run_id=run_id, tags=("grow",))
        first = self.first_round
        try:
            if self.pending and first <= self.config.rounds:
                self._finish_round(first, self.pending, started=time.monotonic())
                first += 1
            for number in range(first, self.config.rounds + 1):
                self._round(number)
        except BaseException:
            self.registry.finish_run(run_id, "interrupted", self._report().to_dict())
            raise
        self.registry.finish_run(run_id, "finished", self._report().to_dict())
        self._journal.append("finished")
        return self._report()

    @property
    def _journal(self) -> Journal:
        assert self.journal is not None, "run() opens the journal before the first round"
        return self.journal

    def _report(self) -> GrowReport:
        return GrowReport(self.run_id or 0, self.rounds, self.slots, resumed=self.resumed)

    def _round(self, number: int) -> None:
        started = time.monotonic()
        self.on_event("round_start", {"round": number, "batch": self.config.batch})
        rng = random.Random(f"{self.config.seed}:{number}")
        slots = [self._new_slot(number, i, rng) for i in range(self.config.batch)]
        self._generate(slots)
        self._finish_round(number, slots, started)

    def _new_slot(self, number: int, index: int, rng: random.Random) -> Slot:
        parents = self.registry.sample_pool(self.config.parents_per_prompt, rng, seed_floor=self.config.seed_floor)
        plan = plan_proposal([Parent.of_record(p) for p in parents], rng, self.config.crossover_rate)
        return Slot(key=f"r{number}s{index}", round=number, prompt=list(plan), parents=plan.parents,
                    generation=plan.generation)

    def _generate(self, slots: list[Slot]) -> None:
        """One batched call; the texts reach the journal before anything else happens."""
        started = time.monotonic()
        completions = self.policy.generate([s.prompt for s in slots], self.config.sampling())
        per = (time.monotonic() - started) / max(1, len(slots))
        for slot, completion in zip(slots, completions):
            slot.raw, slot.raw_chars = capped(completion.raw), len(completion.raw)
            slot.finish_reason = completion.finish_reason
            slot.prompt_tokens, slot.completion_tokens = completion.prompt_tokens, completion.completion_tokens
            slot.seconds = completion.seconds or per
        self._journal.append("generated", slots=[
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
        summary = RoundSummary.of(number, [s for s in self.slots if s.round == number],
                                  time.monotonic() - started, retired)
        self.rounds.append(summary)
        self._journal.append("round_done", round=number, summary=asdict(summary) | {"tokens": summary.tokens})
        self.on_event("round_done", {"summary": summary})

    def _settle(self, slot: Slot) -> Slot:
        """Store one proposal, then admit it (with its repairs) unless storing decided it."""
        stored = self.intake.store(
            slot.raw, key=slot.key, prompt=slot.prompt, parents=slot.parents, generation=slot.generation,
            finish_reason=slot.finish_reason, length=slot.raw_chars,
            tokens=(slot.prompt_tokens, slot.completion_tokens), stored_id=slot.env_id)
        if slot.env_id is None and stored.env_id is not None:
            self._journal.append("stored", key=slot.key, env_id=stored.env_id)
        decision = stored if isinstance(stored, Decision) else self._decide(slot, stored)
        slot.env_id, slot.outcome, slot.reason = decision.env_id, decision.outcome, decision.reason
        slot.stages = stage_dicts(decision.stages)
        slot.repairs, slot.repair_tokens = decision.repairs, decision.repair_tokens
        self._journal.append("decided", key=slot.key, env_id=slot.env_id, outcome=slot.outcome, reason=slot.reason,
                            stages=slot.stages, repairs=slot.repairs, repair_tokens=slot.repair_tokens)
        self.on_event("decided", {"slot": slot})
        return slot

    def _decide(self, slot: Slot, stored: Stored) -> Decision:
        def unusable(failure: StageResult, why: str, completion: str, tokens: int) -> None:
            # no code to store as an environment: the text stays in the journal
            self._journal.append("repair_unusable", key=slot.key, stage=failure.stage, reason=why,
                                completion=completion, completion_tokens=tokens)

        revisions: dict[str, dict] = {}
        repair = chat_repairer(self.policy, self.config.sampling(), slot.prompt, revisions, unusable)
        return self.intake.decide(stored, repairs=self.config.repairs, repair=repair, revisions=revisions)
