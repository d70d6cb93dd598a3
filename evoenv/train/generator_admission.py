"""The real generator hooks: generator prompts, code extraction and the admission pipeline.

A proposal's reward is ``evoenv.admission``'s generator reward (invalid penalty
when L1-L4 fail, else Q + novelty bonus); the review verdict never enters it.
Review and calibration use the policy being trained (``ModelPolicy``), so Q is
measured against the current solver, as in the paper. With a registry every
proposal is recorded (``persist``) and admitted ones join the pool under their
registry id.
"""

from __future__ import annotations

import random
import time

from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate, StageResult, admit_candidate
from evoenv.admission.novelty import NoveltyIndex
from evoenv.admission.persist import persist
from evoenv.admission.reward import generator_reward
from evoenv.extract import extract_code
from evoenv.policy.base import Completion, Prompt, Sampling
from evoenv.prompts import chat_prompt
from evoenv.train.curriculum import PoolEnv
from evoenv.train.generator import ProposalOutcome


class ModelPolicy:
    """The ``Policy`` protocol over the model being trained (for review and calibration)."""

    def __init__(self, trainer):
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
    def __init__(self, *, registry=None, sandbox, trainer=None, config: AdmissionConfig | None = None,
                 parents_per_prompt: int = 2, crossover_rate: float = 0.5):
        self.registry = registry
        self.sandbox = sandbox
        self.config = config or AdmissionConfig()
        self.policy = ModelPolicy(trainer) if trainer is not None else None
        self.parents_per_prompt = parents_per_prompt
        self.crossover_rate = crossover_rate
        self.run_id = getattr(trainer, "run_id", None)
        self._novelty: NoveltyIndex | None = None
        #: The pool the last prompts were written from; without a registry, novelty is measured against it.
        self._pool: list[PoolEnv] = []

    def _novelty_index(self, pool: list[PoolEnv]) -> NoveltyIndex:
        if self._novelty is None:
            self._novelty = (NoveltyIndex.from_registry(self.registry, self.config.novelty_lambda)
                             if self.registry is not None else
                             NoveltyIndex.from_sources([(e.name, e.code) for e in pool], self.sandbox, self.config))
        return self._novelty

    def prompts(self, n: int, pool: list[PoolEnv], rng: random.Random) -> list[Prompt]:
        self._pool = pool
        out = []
        for _ in range(n):
            parents = [rng.choice(pool) for _ in range(min(self.parents_per_prompt, len(pool)))]
            crossover = len(parents) >= 2 and parents[0].id != parents[1].id and rng.random() < self.crossover_rate
            out.append(chat_prompt("generator", operation="crossover" if crossover else "mutation",
                                   parents=[{"name": p.name, "description": p.description, "code": p.code}
                                            for p in (parents if crossover else parents[:1])]))
        return out

    def judge(self, prompts: list[Prompt], completions: list[str]) -> list[ProposalOutcome]:
        ctx = AdmissionContext(self.sandbox, self.config, self.policy, self._novelty_index(self._pool))
        return [self._judge_one(prompt, text, ctx) for prompt, text in zip(prompts, completions)]

    def _judge_one(self, prompt: Prompt, text: str, ctx: AdmissionContext) -> ProposalOutcome:
        extraction = extract_code(text)
        if not extraction.ok:
            stage = StageResult("L1", False, reason=f"no environment code: {extraction.reason}")
            reward, _parts = generator_reward([stage], self.config)
            return ProposalOutcome(reward, False, stage.reason)
        prompt_text = prompt if isinstance(prompt, str) else "\n\n".join(m["content"] for m in prompt)
        candidate = Candidate(extraction.code, origin="generated", tags=("train",),
                              proposal={"prompt": prompt_text, "completion": text})
        copy_of = ctx.novelty.key_of_hash(candidate.code_sha256)
        if copy_of is not None:
            # The prompt shows the parent's code: copying it must not earn Q. Nothing new, reward 0.
            return ProposalOutcome(0.0, False, f"the same code as environment {copy_of}: nothing new")
        outcome = admit_candidate(candidate, ctx)
        env = None
        if self.registry is not None:
            record = persist(self.registry, outcome, run_id=self.run_id)
            if outcome.admitted:
                env = PoolEnv(str(record.id), record.name, record.code, record.origin, record.max_difficulty,
                              record.description)
        elif outcome.admitted:
            info = candidate.observed.info
            env = PoolEnv(f"generated:{candidate.code_sha256[:12]}", info.name, candidate.code, "generated",
                          info.max_difficulty, info.description)
        if outcome.admitted:  # keyed like the index's other entries: the registry id when stored
            ctx.novelty.add_admitted(record if self.registry is not None else env, candidate)
        return ProposalOutcome(outcome.reward, outcome.admitted, outcome.reason, env)
