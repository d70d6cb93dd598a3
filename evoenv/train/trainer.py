"""The GRPO trainer: one readable loop.

Longer than ~400 lines on purpose: the loop and the steps it calls (rollout, loss, checkpoint
hooks) read top to bottom in one file, nanoGPT-style; the pieces that stand alone (loss,
rollout, rewards, curriculum, checkpoint) are their own modules.

Each step:
  1. pick the role (solver, or generator on the configured schedule);
  2. solver: the curriculum picks environment x difficulty per group, the sandbox
     renders instances, the policy samples ``group_size`` completions each, the
     sandbox scores them (reward 0 on any scoring failure);
     generator: the policy writes environments, admission judges them;
  3. group-relative advantages (x ``generator.advantage_scale`` for the generator);
     optionally drop groups with no reward spread (dynamic sampling);
  4. clipped-ratio policy-gradient update with optional k3 KL to a frozen
     reference, gradients accumulated over micro-batches;
  5. push weights to the rollout engine, log metrics, checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from evoenv.audit import quarantine_in_registry
from evoenv.sandbox import open_sandbox
from evoenv.train import checkpoint as ckpt
from evoenv.train.config import GRPOConfig
from evoenv.train.curriculum import Curriculum, Pool, PoolEnv, RegistryPool, SourcesPool, Task
from evoenv.train.distributed import ReadOnlyPool, judge_on_main, merge_records, wants_accelerate
from evoenv.train.generator import GeneratorHooks, ProposalOutcome, RoleSchedule
from evoenv.train.instances import render_tasks
from evoenv.train.loss import group_advantages, groups_with_signal, grpo_loss, token_entropy, token_logprobs
from evoenv.train.metrics import MetricsLogger
from evoenv.train.rewards import RewardScorer, ScoreItem
from evoenv.train.rollout import encode_prompts, format_prompt, make_rollout

log = logging.getLogger("evoenv.train")


@dataclass
class Rollouts:
    """Sequences of one step, in groups of ``group_size`` consecutive rows."""

    prompt_ids: list[list[int]] = field(default_factory=list)
    completion_ids: list[list[int]] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    envs: list[str] = field(default_factory=list)  # environment name per sequence (solver)
    truncated: list[bool] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # decoded completions
    instances: list[dict | None] = field(default_factory=list)  # the scored instance (solver)
    reward_failures: int = 0
    rollout_s: float = 0.0
    score_s: float = 0.0

    #: The fields above that hold one value per sequence.
    PER_SEQUENCE = ("prompt_ids", "completion_ids", "rewards", "envs", "truncated", "texts", "instances")

    def extend(self, other: Rollouts) -> None:
        for name in self.PER_SEQUENCE:
            getattr(self, name).extend(getattr(other, name))
        self.reward_failures += other.reward_failures
        self.rollout_s += other.rollout_s
        self.score_s += other.score_s

    def select_groups(self, keep: list[int], group_size: int) -> Rollouts:
        rows = [g * group_size + j for g in keep for j in range(group_size)]
        out = Rollouts(reward_failures=self.reward_failures, rollout_s=self.rollout_s, score_s=self.score_s)
        for name in self.PER_SEQUENCE:
            values = getattr(self, name)
            setattr(out, name, [values[r] for r in rows] if values else [])
        return out


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast_dtype(setting: str, device: torch.device) -> torch.dtype | None:
    """bf16 autocast on CUDA when supported ("auto"), or as configured."""
    if setting == "false" or device.type != "cuda":
        if setting == "true" and device.type != "cuda":
            log.warning("bf16 = true ignored: autocast to bf16 is only used on CUDA devices")
        return None
    if setting == "auto" and not torch.cuda.is_bf16_supported():
        return None
    return torch.bfloat16


def pad_batch(prompt_ids: list[list[int]], completion_ids: list[list[int]], pad_id: int, device):
    """Prompts left-padded to a common width P, completions right-padded after them.

    Returns input ids, attention mask, position ids, completion tokens [B, T] and
    their mask; the logits predicting completion token t sit at column P - 1 + t.
    """
    width = max(len(p) for p in prompt_ids)
    length = max(1, max(len(c) for c in completion_ids))
    batch = len(prompt_ids)
    ids = torch.full((batch, width + length), pad_id, dtype=torch.long)
    attention = torch.zeros_like(ids)
    for row, (p, c) in enumerate(zip(prompt_ids, completion_ids)):
        ids[row, width - len(p): width] = torch.tensor(p, dtype=torch.long)
        attention[row, width - len(p): width] = 1
        if c:
            ids[row, width: width + len(c)] = torch.tensor(c, dtype=torch.long)
            attention[row, width: width + len(c)] = 1
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    return (ids.to(device), attention.to(device), positions.to(device),
            ids[:, width:].to(device), attention[:, width:].to(device), width)


class GRPOTrainer:
    def __init__(self, cfg: GRPOConfig, *, resume: bool | str = False, pool: Pool | None = None,
                 registry=None, sandbox=None, generator_hooks: GeneratorHooks | None = None):
        self.cfg = cfg
        self.output_dir = Path(cfg.output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        # One rank per process under `accelerate launch`; a plain run is rank 0 of 1, no Accelerator.
        self.accelerator = None
        if wants_accelerate(cfg.distributed):
            from accelerate import Accelerator, DistributedDataParallelKwargs

            # Ranks may run different numbers of forwards (micro-batches): keep forwards free of
            # collectives. The model's buffers (rotary tables) are constants, nothing to broadcast.
            self.accelerator = Accelerator(cpu=cfg.device == "cpu",
                                           kwargs_handlers=[DistributedDataParallelKwargs(broadcast_buffers=False)])
        self.rank = self.accelerator.process_index if self.accelerator else 0
        self.world_size = self.accelerator.num_processes if self.accelerator else 1
        self.is_main = self.rank == 0
        self.device = self.accelerator.device if self.accelerator else resolve_device(cfg.device)
        self.amp_dtype = autocast_dtype(cfg.bf16, self.device)
        # Each rank draws its own curriculum tasks and samples its own completions.
        self.rng = random.Random(cfg.seed + self.rank)
        torch.manual_seed(cfg.seed + self.rank)
        self.step = 0

        resume_from = self._checkpoint_to_resume(resume)
        state = ckpt.load_state(resume_from) if resume_from else None
        self.model_path = str(resume_from) if resume_from else cfg.model
        self._load_models(resume_from)

        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.learning_rate,
                                           betas=(cfg.adam_beta1, cfg.adam_beta2), weight_decay=cfg.weight_decay)
        warmup = max(0, cfg.warmup_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0)
        if self.accelerator:  # DDP (or FSDP, from the accelerate config) wrapping; the scheduler stays ours
            self.model, self.optimizer = self.accelerator.prepare(self.model, self.optimizer)

        self.own_sandbox = sandbox is None
        self.sandbox = sandbox or open_sandbox(cfg.reward.sandbox, workers=cfg.reward.sandbox_workers)
        self.limits = cfg.reward.limits()
        self.scorer = RewardScorer(self.sandbox, self.limits, cfg.reward.chunk, cfg.reward.answer_from,
                                   audit_share=cfg.reward.audit_share, on_quarantine=self._quarantine)

        self.registry = registry
        self.run_id = state.get("run_id") if state else None
        pool = pool or self._default_pool()
        self.curriculum = Curriculum(cfg.curriculum, pool if self.is_main else ReadOnlyPool(pool))
        self._pending_results: list[tuple[str, int, float]] = []  # (env id, difficulty, reward), distributed
        if not self.curriculum.envs:
            raise RuntimeError("the training pool is empty: no admitted environments in the registry "
                               "(run `evoenv init` / `evoenv grow`, or set curriculum.pool = 'sources')")

        self.schedule = RoleSchedule(cfg.generator.every)
        self.generator_hooks = generator_hooks
        if cfg.generator.every > 0 and generator_hooks is None:
            from evoenv.intake import admission_config  # loads every admission stage: only for a generator
            from evoenv.train.generator_admission import AdmissionHooks

            self.generator_hooks = AdmissionHooks(
                registry=self.registry, sandbox=self.sandbox, trainer=self,
                config=admission_config(cfg.generator.admission, where="generator.admission"))
        self.proposed = self.admitted = 0

        if state:
            self._load_state(state)
        self.rollout = make_rollout(cfg.rollout, model=self.unwrapped_model, tokenizer=self.tokenizer,
                                    model_path=self.model_path, seed=cfg.seed, autocast_dtype=self.amp_dtype,
                                    gpu_memory_utilization=cfg.vllm_gpu_memory_utilization,
                                    tensor_parallel_size=cfg.vllm_tensor_parallel_size)
        tb_dir = self.output_dir / "tensorboard" if cfg.metrics.tensorboard else None
        self.metrics = MetricsLogger(self.output_dir / cfg.metrics.jsonl, tb_dir) if self.is_main else None
        self.last_metrics: dict = {}
        # Last, so a run that fails to start leaves no "running" row behind.
        if self.registry is not None and self.run_id is None and self.is_main:
            self.run_id = self.registry.start_run("train", cfg.to_dict())
        if isinstance(self.curriculum.pool, RegistryPool):
            self.curriculum.pool.run_id = self.run_id
        if hasattr(self.generator_hooks, "run_id"):
            self.generator_hooks.run_id = self.run_id

    @property
    def unwrapped_model(self):
        """The Hugging Face model itself (under accelerate, ``self.model`` is its DDP/FSDP wrapper)."""
        return self.accelerator.unwrap_model(self.model) if self.accelerator else self.model

    def _gather(self, value) -> list:
        """``value`` from every rank, in rank order (a one-item list when not distributed)."""
        if not self.accelerator:
            return [value]
        from accelerate.utils import gather_object

        return gather_object([value])

    def _checkpoint_to_resume(self, resume: bool | str) -> Path | None:
        existing = ckpt.latest_checkpoint(self.output_dir)
        if not resume:
            if existing is not None:
                raise FileExistsError(f"{self.output_dir} already holds {existing.name}: pass --resume to continue "
                                      "that run, or choose another output_dir")
            return None
        found = Path(resume) if isinstance(resume, str) else existing
        if found is None:
            raise FileNotFoundError(f"--resume: no checkpoint-* with {ckpt.STATE_FILE} in {self.output_dir}")
        return found

    def _load_models(self, resume_from: Path | None) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        cfg = self.cfg
        self.tokenizer = AutoTokenizer.from_pretrained(str(resume_from) if resume_from else (cfg.tokenizer or cfg.model))
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(self.model_path, dtype=torch.float32).to(self.device)
        self.model.train()
        self.ref_model = None
        if cfg.beta > 0:  # frozen reference: the starting model, also after --resume
            self.ref_model = AutoModelForCausalLM.from_pretrained(cfg.ref_model or cfg.model,
                                                                  dtype=torch.float32).to(self.device)
            self.ref_model.eval().requires_grad_(False)

    def _default_pool(self) -> Pool:
        if self.cfg.curriculum.pool == "sources":
            return SourcesPool.from_refs(self.cfg.curriculum.envs, self.sandbox)
        if self.registry is None:
            from evoenv.registry import open_registry

            self.registry = open_registry(self.cfg.db)
        return RegistryPool(self.registry, max_size=self.cfg.curriculum.max_pool_size)

    # ------------------------------------------------------------------ rollouts

    def generate_text(self, prompts: list, *, group_size: int = 1, max_new_tokens: int, temperature: float,
                      system: str | None = None):
        """``group_size`` sampled completions per prompt, consecutive, from the current policy."""
        texts = [format_prompt(self.tokenizer, p, system) for p in prompts]
        ids = encode_prompts(self.tokenizer, texts, self.cfg.max_prompt_tokens)
        repeated = [p for p in ids for _ in range(group_size)]
        return self.rollout.generate(repeated, max_new_tokens=max_new_tokens, temperature=temperature,
                                     top_p=self.cfg.top_p)

    def collect_solver(self, n_groups: int) -> Rollouts:
        cfg, g = self.cfg, self.cfg.group_size
        tasks = self.curriculum.sample(n_groups, self.rng)
        instances = [i for i in render_tasks(self.sandbox, self.limits, tasks, self.rng) if i is not None]
        if not instances:
            return Rollouts()
        batch = self.generate_text([i.prompt for i in instances], group_size=g, max_new_tokens=cfg.max_new_tokens,
                                   temperature=cfg.temperature, system=cfg.solver_system_prompt)
        started = time.perf_counter()
        items = [ScoreItem(inst.task.env.id, inst.task.env.code, inst.instance, batch.texts[k * g + j],
                           inst.reference, inst.seed, inst.task.difficulty)
                 for k, inst in enumerate(instances) for j in range(g)]
        rewards = self.scorer.score(items)
        score_s = time.perf_counter() - started
        results: list[tuple[Task, float]] = [(instances[k // g].task, r.value) for k, r in enumerate(rewards)]
        if self.accelerator:  # applied after the step's rollouts, with every rank's (see _sync_curriculum)
            self._pending_results += [(t.env.id, t.difficulty, v) for t, v in results]
        else:
            self.curriculum.update(results)
        return Rollouts(batch.prompt_ids, batch.completion_ids, [r.value for r in rewards],
                        [instances[k // g].task.env.name for k in range(len(rewards))], batch.truncated,
                        batch.texts, [item.instance for item in items],
                        sum(r.failure is not None for r in rewards), batch.seconds, score_s)

    def _quarantine(self, env_id: str, finding) -> None:
        """The runtime audit caught ``env_id`` paying for a known-wrong answer: out of the curriculum now,
        and quarantined in the registry with the evidence (the scorer already gives it 0)."""
        if not self.accelerator:  # ranks keep identical curricula: they drop it at the next pool refresh
            self.curriculum.drop(env_id)
        quarantine_in_registry(self.registry, env_id, finding, f"training run {self.run_id}")

    def collect_generator(self, n_prompts: int) -> Rollouts:
        gcfg = self.cfg.generator
        prompts = self.generator_hooks.prompts(n_prompts, list(self.curriculum.envs.values()), self.rng) \
            if n_prompts else []
        batch = self.generate_text(prompts, group_size=gcfg.group_size, max_new_tokens=gcfg.max_new_tokens,
                                   temperature=gcfg.temperature) if prompts else None
        texts = batch.texts if batch else []
        started = time.perf_counter()
        mine, everyone = self.judge_proposals([p for p in prompts for _ in range(gcfg.group_size)], texts)
        for outcome in everyone:  # the same environments, in the same order, on every rank
            if outcome.admitted and outcome.env is not None:
                self.curriculum.add(outcome.env)
        self.proposed += len(everyone)
        self.admitted += sum(o.admitted for o in everyone)
        if batch is None:
            return Rollouts(score_s=time.perf_counter() - started)
        return Rollouts(batch.prompt_ids, batch.completion_ids, [float(o.reward) for o in mine],
                        ["<generator>"] * len(mine), batch.truncated, batch.texts, [None] * len(mine),
                        0, batch.seconds, time.perf_counter() - started)

    def judge_proposals(self, prompts: list, texts: list[str]) -> tuple[list[ProposalOutcome], list[ProposalOutcome]]:
        """Admission outcomes: (this rank's proposals', every rank's in rank order).
        Under accelerate rank 0 alone judges, so each proposal is admitted and stored once."""
        if self.accelerator:
            per_rank = judge_on_main(self.accelerator, self.generator_hooks, prompts, texts)
            return per_rank[self.rank], [o for outcomes in per_rank for o in outcomes]
        outcomes = self.generator_hooks.judge(prompts, texts) if texts else []
        if len(outcomes) != len(texts):
            raise RuntimeError(f"generator hooks judged {len(outcomes)} of {len(texts)} proposals")
        return outcomes, outcomes

    def collect(self, role: str) -> tuple[Rollouts, int, int]:
        """Rollouts for one step; with dynamic sampling, only groups with reward spread,
        refilled from new rollouts. Returns (rollouts, groups sampled, groups kept)."""
        cfg = self.cfg
        g = cfg.group_size if role == "solver" else cfg.generator.group_size
        want = cfg.groups_per_step if role == "solver" else cfg.generator.proposals_per_step
        kept, sampled = Rollouts(), 0
        for _round in range(1 + (cfg.dynamic_sampling_max_rounds if cfg.dynamic_sampling else 0)):
            enough = len(kept.rewards) // g >= want
            if role == "solver":
                fresh = self.collect_solver(want)
            else:  # admission is a collective: a rank that has enough joins the round with no proposals
                fresh = self.collect_generator(0 if enough else want)
            n_groups = len(fresh.rewards) // g
            sampled += n_groups
            if n_groups and cfg.dynamic_sampling:
                signal = groups_with_signal(torch.tensor(fresh.rewards), g).tolist()
                fresh = fresh.select_groups([i for i, s in enumerate(signal) if s], g)
            kept.extend(fresh)
            done = not cfg.dynamic_sampling or len(kept.rewards) // g >= want
            if role == "generator" and self.accelerator:
                done = all(self._gather(done))  # every rank runs the same number of admission rounds
            if done:
                break
        if len(kept.rewards) // g > want:
            kept = kept.select_groups(list(range(want)), g)
        return kept, sampled, len(kept.rewards) // g

    def _sync_curriculum(self) -> None:
        """Every rank applies all ranks' results in rank order, so the curricula stay identical."""
        everyone = self._gather(self._pending_results)
        self._pending_results = []
        envs = self.curriculum.envs
        self.curriculum.update([(Task(envs[env_id], difficulty), reward)
                                for results in everyone for env_id, difficulty, reward in results
                                if env_id in envs])

    # ------------------------------------------------------------------ update

    def _forward_logits(self, model, ids, attention, positions, width, temperature: float = 1.0):
        """Completion-token logits, divided by the sampling temperature so log-probs are
        those of the distribution the rollouts were drawn from."""
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                            enabled=self.amp_dtype is not None):
            logits = model(input_ids=ids, attention_mask=attention, position_ids=positions).logits
        logits = logits[:, width - 1: -1]
        return logits / temperature if temperature not in (0.0, 1.0) else logits

    def _grad_sync(self, sync: bool):
        """Under DDP, gradients are all-reduced in the backward of a forward run outside
        ``no_sync``: only the last micro-batch's, so accumulation costs one all-reduce."""
        if self.accelerator is None or sync:
            return contextlib.nullcontext()
        return self.accelerator.no_sync(self.model)

    def update(self, rollouts: Rollouts, advantages: torch.Tensor, temperature: float | None = None) -> dict:
        cfg = self.cfg
        temperature = cfg.temperature if temperature is None else temperature
        pad = self.tokenizer.pad_token_id
        n = len(rollouts.rewards)
        micro = [list(range(s, min(n, s + cfg.micro_batch_size))) for s in range(0, n, cfg.micro_batch_size)]
        batches = [pad_batch([rollouts.prompt_ids[i] for i in rows], [rollouts.completion_ids[i] for i in rows],
                             pad, self.device) for rows in micro]
        n_tokens = sum(len(c) for c in rollouts.completion_ids)
        normaliser = max(1, n_tokens) if cfg.loss_type == "token" else n

        # Log-probs that stay fixed during the update: the sampling policy (only needed
        # for more than one pass) and the frozen reference.
        old_logps, ref_logps = [None] * len(micro), [None] * len(micro)
        with torch.no_grad():
            for k, (ids, attention, positions, tokens, _mask, width) in enumerate(batches):
                if cfg.num_iterations > 1:
                    old_logps[k] = token_logprobs(
                        self._forward_logits(self.model, ids, attention, positions, width, temperature), tokens)
                if self.ref_model is not None:
                    ref_logps[k] = token_logprobs(
                        self._forward_logits(self.ref_model, ids, attention, positions, width, temperature), tokens)

        totals = {"loss": 0.0, "policy_loss": 0.0, "kl": 0.0, "clip_fraction": 0.0, "entropy": 0.0}
        grad_norm = 0.0
        for _iteration in range(cfg.num_iterations):
            self.optimizer.zero_grad(set_to_none=True)
            for k, (rows, (ids, attention, positions, tokens, mask, width)) in enumerate(zip(micro, batches)):
                with self._grad_sync(k == len(micro) - 1):
                    logits = self._forward_logits(self.model, ids, attention, positions, width, temperature)
                    logp = token_logprobs(logits, tokens)
                    old = old_logps[k] if old_logps[k] is not None else logp.detach()
                    terms = grpo_loss(logp, old, advantages[rows].to(self.device), mask,
                                      epsilon_low=cfg.epsilon_low, epsilon_high=cfg.epsilon_high, beta=cfg.beta,
                                      ref_logp=ref_logps[k], loss_type=cfg.loss_type, normaliser=normaliser)
                    if self.accelerator:
                        self.accelerator.backward(terms.loss)
                    else:
                        terms.loss.backward()
                share = float(mask.sum()) / max(1, n_tokens)  # token-weighted means across micro-batches
                totals["loss"] += float(terms.loss.detach())
                totals["policy_loss"] += terms.policy_loss * share
                totals["kl"] += terms.kl * share
                totals["clip_fraction"] += terms.clip_fraction * share
                with torch.no_grad():
                    ent = token_entropy(logits.detach())
                    totals["entropy"] += float((ent * mask).sum()) / max(1, n_tokens)
            clip = self.accelerator.clip_grad_norm_ if self.accelerator else torch.nn.utils.clip_grad_norm_
            grad_norm = float(clip(self.model.parameters(), cfg.max_grad_norm if cfg.max_grad_norm > 0 else math.inf))
            self.optimizer.step()
        self.scheduler.step()
        self.rollout.sync(self.unwrapped_model)
        iterations = cfg.num_iterations
        out = {k: v / iterations for k, v in totals.items()}
        out.update(grad_norm=grad_norm, grad_accum_steps=len(micro), lr=self.scheduler.get_last_lr()[0])
        return out

    # ------------------------------------------------------------------ the loop

    def train_step(self) -> dict:
        cfg = self.cfg
        started = time.perf_counter()
        role = self.schedule.role(self.step)
        retired = self.curriculum.rotate(self.step) if role == "solver" else []
        if self.accelerator and role == "solver" and self.curriculum.cfg.pool_epoch_steps and self.step \
                and self.step % self.curriculum.cfg.pool_epoch_steps == 0:
            self.accelerator.wait_for_everyone()  # rank 0 has advanced the registry's pool epoch
            self.curriculum.refresh()
        rollouts, sampled, kept = self.collect(role)
        if self.accelerator:
            self._sync_curriculum()
        g = cfg.group_size if role == "solver" else cfg.generator.group_size
        record: dict = {"role": role, "groups_sampled": sampled, "groups_kept": kept,
                        "reward_failures": rollouts.reward_failures}
        # Under DDP every rank must join each gradient all-reduce: update only when all ranks have data.
        all_have_data = all(self._gather(bool(rollouts.rewards)))
        if rollouts.rewards and not all_have_data:
            record["skipped"] = "another rank had no group to train on"
        elif rollouts.rewards:
            rewards = torch.tensor(rollouts.rewards, dtype=torch.float32)
            advantages = group_advantages(rewards, g, cfg.scale_rewards)
            temperature = cfg.temperature
            if role == "generator":
                advantages = advantages * cfg.generator.advantage_scale
                temperature = cfg.generator.temperature
            record.update(self.update(rollouts, advantages, temperature))
            record.update(reward_mean=float(rewards.mean()), reward_std=float(rewards.std()) if len(rewards) > 1 else 0.0)
            lengths = [len(c) for c in rollouts.completion_ids]
            record.update(response_length_mean=sum(lengths) / len(lengths),
                          truncated_fraction=sum(rollouts.truncated) / len(rollouts.truncated),
                          completion_tokens=sum(lengths))
        else:
            record["skipped"] = "no group with a reward signal" if sampled else "no instance could be rendered"
        if role == "solver":
            threshold = cfg.curriculum.pass_threshold
            per_env: dict[str, list[int]] = {}
            for env, reward in zip(rollouts.envs, rollouts.rewards):
                per_env.setdefault(env, []).append(int(reward >= threshold))
            record["pass_rate"] = (sum(map(sum, per_env.values())) / max(1, len(rollouts.rewards))) if per_env else None
            record["pass_rate_per_env"] = {env: sum(v) / len(v) for env, v in per_env.items()}
            record["difficulty_per_env"] = {e.name: self.curriculum.state[e.id].difficulty
                                            for e in self.curriculum.envs.values()}
            record["usage"] = self.curriculum.write_usage(self.step)
            if retired:
                record["retired"] = retired
        record["generator_admission_rate"] = self.admitted / self.proposed if self.proposed else None
        elapsed = time.perf_counter() - started
        record.update(step_s=elapsed, rollout_s=rollouts.rollout_s, score_s=rollouts.score_s,
                      tokens_per_s=record.get("completion_tokens", 0) / elapsed if elapsed > 0 else 0.0)
        if self.accelerator:
            record = merge_records(self._gather(record))
            record["ranks"] = self.world_size
        self.step += 1
        if self.is_main and self.step % max(1, cfg.metrics.log_every) == 0:
            self.metrics.log(self.step, record)
        if cfg.save_every and self.step % cfg.save_every == 0:
            self.save()
        self.last_metrics = record
        return record

    def train(self, on_step=None) -> dict:
        """Run until ``max_steps``; ``on_step(step, record)`` is called after each step."""
        try:
            while self.step < self.cfg.max_steps:
                record = self.train_step()
                if on_step is not None:
                    on_step(self.step, record)
            last = ckpt.latest_checkpoint(self.output_dir)
            # Rank 0's view decides: every rank must join save()'s collectives, or none.
            if self._gather(last is None or last.name != f"checkpoint-{self.step}")[0]:
                self.save()
            summary = {"steps": self.step, "output_dir": str(self.output_dir), "last": self.last_metrics}
            if self.registry is not None and self.run_id is not None and self.is_main:
                self.registry.finish_run(self.run_id, "finished", {k: v for k, v in summary.items() if k != "last"})
            return summary
        except BaseException as exc:
            # Checkpoints are only written between steps, so the newest one is always consistent.
            if self.registry is not None and self.run_id is not None and self.is_main:
                status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
                self.registry.finish_run(self.run_id, status, {"steps": self.step, "error": repr(exc)[:500]})
            raise

    # ------------------------------------------------------------------ checkpoints

    def checkpoint_name(self) -> str:
        """The calibration key for this checkpoint in the registry."""
        run = self.cfg.run_name or self.output_dir.name
        return f"{run}/checkpoint-{self.step}"

    def save(self) -> Path:
        """Write a checkpoint (rank 0 only; under accelerate every rank must call this)."""
        written = self.curriculum.write_calibration(self.checkpoint_name())  # a no-op pool on other ranks
        rngs = self._gather(ckpt.rng_state(self.rng))
        model_state = self.accelerator.get_state_dict(self.model) if self.accelerator else None  # FSDP: collective
        path = self.output_dir / f"checkpoint-{self.step}"
        if self.is_main:
            state = {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                     "rng": rngs[0], "curriculum": self.curriculum.state_dict(),
                     "curriculum_summary": self.curriculum.summary(), "calibration_written": written,
                     "added_envs": [asdict(env) for env in self.curriculum.added],
                     "run_id": self.run_id, "proposed": self.proposed, "admitted": self.admitted,
                     "config": self.cfg.to_dict(), "metrics": self.last_metrics}
            if self.accelerator:
                state["rng_per_rank"] = rngs
            path = ckpt.save_checkpoint(self.output_dir, self.step, model=self.unwrapped_model,
                                        tokenizer=self.tokenizer, state=state, keep=self.cfg.keep_checkpoints,
                                        model_state=model_state)
        if self.accelerator:
            self.accelerator.wait_for_everyone()  # no rank looks for the checkpoint before it exists
        return path

    def _load_state(self, state: dict) -> None:
        self.step = int(state["step"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        per_rank = state.get("rng_per_rank") or []
        if len(per_rank) == self.world_size:
            ckpt.restore_rng(self.rng, per_rank[self.rank])
        else:
            ckpt.restore_rng(self.rng, state["rng"])
            if self.rank:  # a different number of ranks than saved: keep the ranks' draws apart
                self.rng.seed(f"{self.cfg.seed}-{self.rank}-{self.step}")
                torch.manual_seed(self.cfg.seed + self.rank + self.step)
        for env in state.get("added_envs", []):  # admitted during the run: back in the pool before its state
            self.curriculum.add(PoolEnv(**env))
        self.curriculum.load_state_dict(state["curriculum"])
        self.proposed, self.admitted = state.get("proposed", 0), state.get("admitted", 0)

    def close(self) -> None:
        if self.metrics is not None:
            self.metrics.close()
        if self.own_sandbox:
            self.sandbox.close()
