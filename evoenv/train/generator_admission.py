"""The real generator hooks: generator prompts from the pool, and every proposal through ``evoenv.intake``.

A proposal's reward is ``evoenv.admission``'s generator reward (invalid penalty
when L1-L4 fail, else Q + novelty bonus); the review verdict never enters it.
Review and calibration use the policy being trained (``ModelPolicy``), so Q is
measured against the current solver, as in the paper. With a registry each
proposal with code is stored with its prompt and lineage (a mutation's parent,
a crossover's two) and admitted ones join the pool under their registry id; a
proposal whose code is already stored is a duplicate, not judged again, and
earns nothing new. Without a registry (training on source files) proposals are
judged against the pool's sources and nothing is stored.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, cast

from evoenv.admission import AdmissionConfig
from evoenv.admission.novelty import NoveltyIndex
from evoenv.intake import Decision, Intake, Parent, ProposalPrompt, plan_proposal
from evoenv.policy.base import Completion, Policy, Prompt, Sampling
from evoenv.registry import Registry
from evoenv.sandbox import Sandbox
from evoenv.train.curriculum import PoolEnv
from evoenv.train.generator import ProposalOutcome

if TYPE_CHECKING:  # the trainer imports this module
    from evoenv.train.trainer import GRPOTrainer


class ModelPolicy:
    """The ``Policy`` protocol over the model being trained (for review and calibration)."""

    def __init__(self, trainer: GRPOTrainer):
        self.trainer = trainer

    @property
    def name(self) -> str:
        return self.trainer.checkpoint_name()

    def generate(self, prompts: list[Prompt], sampling: Sampling) -> list[Completion]:
        t = self.trainer
        started = time.perf_counter()
        batch = t.generate_text(prompts, max_new_tokens=min(sampling.max_tokens, t.cfg.max_new_tokens),
                                temperature=sampling.temperature or 1e-5)
        seconds = (time.perf_counter() - started) / max(1, len(prompts))
        return [Completion(text, len(p), len(c), "length" if cut else "stop", seconds=seconds)
                for text, p, c, cut in zip(batch.texts, batch.prompt_ids, batch.completion_ids, batch.truncated)]

    def close(self) -> None:
        pass


class AdmissionHooks:
    def __init__(self, *, registry: Registry | None = None, sandbox: Sandbox, trainer: GRPOTrainer | None = None,
                 config: AdmissionConfig | None = None,
                 parents_per_prompt: int = 2, crossover_rate: float = 0.5):
        self.registry = registry
        self.sandbox = sandbox
        self.config = config or AdmissionConfig()
        # ModelPolicy's name is a property (the current checkpoint), the protocol's a plain attribute
        self.policy = cast(Policy, ModelPolicy(trainer)) if trainer is not None else None
        self.parents_per_prompt = parents_per_prompt
        self.crossover_rate = crossover_rate
        self.run_id = getattr(trainer, "run_id", None)  # the trainer sets it once its run row exists
        self._intake: Intake | None = None
        self._judged = 0
        #: The pool the last prompts were written from; without a registry, novelty is measured against it.
        self._pool: list[PoolEnv] = []

    def _parent(self, env: PoolEnv) -> Parent:
        if self.registry is None or not env.id.isdigit():  # a source file: no row for the lineage
            return Parent(env.id, None, env.name, env.description, env.code)
        env_id = int(env.id)
        return Parent(env.id, env_id, env.name, env.description, env.code, self.registry.get(env_id).generation)

    def prompts(self, n: int, pool: list[PoolEnv], rng: random.Random) -> list[Prompt]:
        self._pool = pool
        out: list[Prompt] = []
        for _ in range(n):
            parents = [rng.choice(pool) for _ in range(min(self.parents_per_prompt, len(pool)))]
            out.append(plan_proposal([self._parent(p) for p in parents], rng, self.crossover_rate))
        return out

    def _intake_for_run(self) -> Intake:
        if self._intake is None:
            novelty = None if self.registry is not None else \
                NoveltyIndex.from_sources([(e.name, e.code) for e in self._pool], self.sandbox, self.config)
            self._intake = Intake(self.registry, self.sandbox, self.config, policy=self.policy, tags=("train",),
                                  keep_unparsed=False, novelty=novelty)
        self._intake.run_id = self.run_id
        return self._intake

    def judge(self, prompts: list[Prompt], completions: list[str]) -> list[ProposalOutcome]:
        intake = self._intake_for_run()
        outcomes = []
        for prompt, text in zip(prompts, completions):
            self._judged += 1
            lineage, generation = ([], 0)
            if isinstance(prompt, ProposalPrompt):  # a prompt from other hooks carries no lineage
                lineage, generation = prompt.parents, prompt.generation
            decision = intake.take(text, key=f"p{self._judged}", prompt=prompt, parents=lineage,
                                   generation=generation)
            outcomes.append(ProposalOutcome(decision.reward, decision.admitted, decision.reason,
                                            pool_env(decision) if decision.admitted else None))
        return outcomes


def pool_env(decision: Decision) -> PoolEnv:
    """An admitted environment as the training pool holds it: under its registry id when stored."""
    record, candidate = decision.record, decision.candidate
    if record is not None:
        return PoolEnv(str(record.id), record.name, record.code, record.origin, record.max_difficulty,
                       record.description)
    assert candidate is not None and candidate.observed.info is not None
    info = candidate.observed.info
    return PoolEnv(f"generated:{candidate.code_sha256[:12]}", info.name, candidate.code, "generated",
                   info.max_difficulty, info.description)
