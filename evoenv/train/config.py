"""``GRPOConfig``: every knob of a training run, loaded from TOML or YAML.

One dataclass per concern (TRL style): the top level holds the model, the GRPO
loss and the rollout settings; ``[curriculum]``, ``[reward]``, ``[generator]``
and ``[metrics]`` are sections of the same file. Unknown keys and wrong types
are refused with the key's dotted name and the file, so a typo never trains
silently with a default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evoenv.configfile import ConfigError, ConfigFileError, apply_overrides, build_dataclass, read_config_file
from evoenv.defaults import POOL_MAX_EPOCHS, TARGET_PASS_RATE


@dataclass
class CurriculumConfig:
    #: Where environments come from: "registry" (admitted envs, pool rotation, calibration
    #: written back) or "sources" (the seed names / .py files in ``envs``, nothing persisted).
    pool: str = "registry"
    envs: list[str] = field(default_factory=list)
    #: Keep each environment's recent pass rate inside [band_low, band_high] by moving its
    #: difficulty; sample environments whose rate is near ``target`` more often.
    band_low: float = 0.3
    band_high: float = 0.7
    target: float = TARGET_PASS_RATE
    #: Width of the Gaussian sampling weight around ``target`` (the paper's sigma for Q).
    sigma: float = 0.15
    #: Every environment keeps at least this weight, so none starves.
    min_weight: float = 0.05
    window: int = 32
    min_samples: int = 8
    start_difficulty: int = 1
    #: A rollout "passes" when its reward is at least this.
    pass_threshold: float = 1.0
    #: How each group's level is chosen: "band" (each environment's level moves to keep its recent
    #: pass rate inside [band_low, band_high]; environments weighted by Q) or "uniform" (environment
    #: and level drawn uniformly, no adaptation: the baseline a calibrated curriculum must beat).
    difficulty: str = "band"
    #: A pre-exported dataset (``evoenv export`` rows as JSONL, or verl parquet): when set, groups
    #: are its rows in a shuffled order, epoch after epoch (a fixed-dataset trainer); each row's
    #: (seed, difficulty) is rendered again, so the instance is exactly the exported one.
    dataset: str = ""
    #: At least this share of each step's groups comes from seed environments.
    seed_floor: float = 0.2
    #: Every ``pool_epoch_steps`` steps the registry's pool epoch advances; envs older than
    #: ``max_pool_epochs`` rotate out (registry.advance_pool_epoch). 0 disables rotation.
    pool_epoch_steps: int = 50
    max_pool_epochs: int = POOL_MAX_EPOCHS
    max_pool_size: int = 1000


@dataclass
class RewardConfig:
    sandbox: str = "process"
    sandbox_workers: int = 2
    #: Limits for one scoring job (one environment, up to ``chunk`` answers). None = the platform's job
    #: limits (``Limits.for_jobs``), the same as admission's, so a job cannot tell training from admission.
    cpu_s: float | None = None
    wall_s: float | None = None
    memory_mb: int | None = None
    chunk: int = 64
    #: Share of instances whose scoring job also scores a known-wrong answer (``evoenv.audit``); an
    #: environment that pays for one is quarantined and earns nothing more. 0 turns the audit off.
    audit_share: float = 0.05
    #: "tag": the answer is the last <answer>...</answer> block (the platform convention);
    #: "completion": the whole completion text, for tiny from-scratch models that never
    #: learned the tag format.
    answer_from: str = "tag"

    def limits(self):
        """The limits of the trainer's render and score jobs."""
        from evoenv.sandbox import Limits

        return Limits.for_jobs(cpu_s=self.cpu_s, wall_s=self.wall_s, memory_mb=self.memory_mb)


@dataclass
class GeneratorConfig:
    #: A generator (environment-writing) step every ``every`` steps; 0 = solver only.
    every: int = 0
    proposals_per_step: int = 2
    group_size: int = 4
    #: Generator advantages are multiplied by this (0.3 in the EvoEnv paper).
    advantage_scale: float = 0.3
    max_new_tokens: int = 1024
    temperature: float = 1.0
    #: overrides of evoenv.admission.config.AdmissionConfig fields for judging proposals, as in a grow
    #: run's [grow.admission]
    admission: dict[str, Any] = field(default_factory=dict)


@dataclass
class MetricsConfig:
    jsonl: str = "metrics.jsonl"  # relative to output_dir
    tensorboard: bool = False
    log_every: int = 1


@dataclass
class GRPOConfig:
    model: str = ""
    tokenizer: str | None = None
    #: The frozen KL reference; defaults to ``model`` (also after --resume).
    ref_model: str | None = None
    output_dir: str = "runs/grpo"
    run_name: str | None = None
    db: str | None = None
    seed: int = 0
    device: str = "auto"
    bf16: str = "auto"  # "auto" (on when CUDA supports it), "true", "false"
    #: Data-parallel ranks through HF accelerate: "auto" (on when started by ``accelerate launch``
    #: with more than one process), "true" (always use an Accelerator), "false".
    distributed: str = "auto"

    # --- batch ---
    max_steps: int = 100
    groups_per_step: int = 8
    group_size: int = 8
    #: Sequences per forward/backward; the step's gradients accumulate over micro-batches.
    micro_batch_size: int = 16
    #: Optimisation passes over one rollout batch (PPO epochs, "mu"); >1 uses the clip.
    num_iterations: int = 1

    # --- optimiser ---
    learning_rate: float = 1e-6
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.99
    warmup_steps: int = 0
    max_grad_norm: float = 1.0

    # --- GRPO loss ---
    epsilon_low: float = 0.2
    epsilon_high: float = 0.2
    #: KL coefficient to the reference model (k3 estimator); 0 loads no reference model.
    beta: float = 0.0
    #: "token": sum over all tokens of the batch / number of tokens (DAPO);
    #: "sequence": per-sequence token mean, then mean over sequences (original GRPO).
    loss_type: str = "token"
    #: Divide group-centred rewards by the group's std (False = Dr. GRPO style).
    scale_rewards: bool = True
    #: Drop groups whose rewards are all equal (zero advantage); refill from new rollouts
    #: for up to ``dynamic_sampling_max_rounds`` extra rounds.
    dynamic_sampling: bool = False
    dynamic_sampling_max_rounds: int = 2

    # --- rollout ---
    rollout: str = "auto"  # "auto" | "vllm" | "hf"
    max_prompt_tokens: int = 512
    max_new_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    solver_system_prompt: str | None = None
    vllm_gpu_memory_utilization: float = 0.3
    vllm_tensor_parallel_size: int = 1

    # --- checkpoints ---
    save_every: int = 50
    keep_checkpoints: int = 3

    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)

    def validate(self) -> GRPOConfig:
        def need(ok: bool, key: str, what: str) -> None:
            if not ok:
                raise ConfigError(f"{key}: {what}")

        need(bool(self.model), "model", "is required (a Hugging Face model id or a local directory)")
        need(self.group_size >= 2, "group_size", "must be >= 2 (GRPO compares answers within a group)")
        need(self.groups_per_step >= 1, "groups_per_step", "must be >= 1")
        need(self.micro_batch_size >= 1, "micro_batch_size", "must be >= 1")
        need(self.num_iterations >= 1, "num_iterations", "must be >= 1")
        need(self.max_steps >= 1, "max_steps", "must be >= 1")
        need(self.loss_type in ("token", "sequence"), "loss_type", f"{self.loss_type!r} is not 'token' or 'sequence'")
        need(self.rollout in ("auto", "vllm", "hf"), "rollout", f"{self.rollout!r} is not 'auto', 'vllm' or 'hf'")
        need(self.bf16 in ("auto", "true", "false"), "bf16", f"{self.bf16!r} is not 'auto', 'true' or 'false'")
        need(self.distributed in ("auto", "true", "false"), "distributed",
             f"{self.distributed!r} is not 'auto', 'true' or 'false'")
        need(0 <= self.epsilon_low < 1, "epsilon_low", "must be in [0, 1)")
        need(self.epsilon_high >= 0, "epsilon_high", "must be >= 0")
        need(self.beta >= 0, "beta", "must be >= 0")
        need(self.max_new_tokens >= 1, "max_new_tokens", "must be >= 1")
        need(self.temperature > 0, "temperature", "must be > 0 (GRPO needs sampled, differing completions)")
        need(0 < self.top_p <= 1, "top_p", "must be in (0, 1]")
        need(self.save_every >= 0, "save_every", "must be >= 0 (0 = only at the end)")
        need(0 <= self.reward.audit_share <= 1, "reward.audit_share", "must be in [0, 1] (0 turns the audit off)")
        c = self.curriculum
        need(c.pool in ("registry", "sources"), "curriculum.pool", f"{c.pool!r} is not 'registry' or 'sources'")
        need(c.pool != "sources" or bool(c.envs), "curriculum.envs",
             "must list seed names or .py files when curriculum.pool = 'sources'")
        need(0 <= c.band_low <= c.band_high <= 1, "curriculum.band_low/band_high", "need 0 <= band_low <= band_high <= 1")
        need(0 <= c.target <= 1, "curriculum.target", "must be in [0, 1]")
        need(0 <= c.seed_floor <= 1, "curriculum.seed_floor", "must be in [0, 1]")
        need(c.window >= 1 and 1 <= c.min_samples <= c.window, "curriculum.min_samples",
             "need 1 <= min_samples <= window")
        need(c.sigma > 0, "curriculum.sigma", "must be > 0")
        need(c.difficulty in ("band", "uniform"), "curriculum.difficulty",
             f"{c.difficulty!r} is not 'band' or 'uniform'")
        need(self.reward.answer_from in ("tag", "completion"), "reward.answer_from",
             f"{self.reward.answer_from!r} is not 'tag' or 'completion'")
        need(self.reward.chunk >= 1, "reward.chunk", "must be >= 1")
        g = self.generator
        need(g.every >= 0, "generator.every", "must be >= 0 (0 = solver only)")
        need(g.group_size >= 2 or g.every == 0, "generator.group_size", "must be >= 2")
        need(g.advantage_scale >= 0, "generator.advantage_scale", "must be >= 0")
        need(g.temperature > 0, "generator.temperature", "must be > 0")
        if g.admission:  # a bad key is refused now, not at the first generator step
            from evoenv.intake import admission_config

            admission_config(g.admission, where="generator.admission")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def config_from_dict(data: dict, overrides: Sequence[str] = ()) -> GRPOConfig:
    return build_dataclass(GRPOConfig, apply_overrides(data, overrides)).validate()


def load_config(path: str | Path, overrides: list[str] = ()) -> GRPOConfig:
    """Read a ``.toml``, ``.yaml`` or ``.yml`` file; ``overrides`` are ``a.b=value`` strings."""
    path = Path(path)
    try:
        data = read_config_file(path)
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return config_from_dict(data, overrides)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
