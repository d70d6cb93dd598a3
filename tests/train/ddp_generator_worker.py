"""One rank of the 2-process generator-role test, started by torchrun (test_distributed.py).

Trains with the real GRPOTrainer on a registry pool (a SQLite file both ranks
open), with generator steps judged by the real admission pipeline
(``AdmissionHooks``: extraction, sandboxed checks, novelty, registry writes).
A tiny random model writes no environment code, so the hooks stand in for a
good policy once: rank 1's first proposal of the run is replaced by a real,
new environment (``PROPOSAL``); every other proposal is judged as sampled.

Writes ``<out>/rank-<r>.json``: what this rank trained on generator steps (the
rewards per row), what it judged, its curriculum and counters. Modes: ``fresh``,
``resume``; ``dynamic`` turns on dynamic sampling (ranks then need different
numbers of generator rounds); ``fail-judge`` makes judging raise, to show that
every rank stops with the error.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from train_envs import PROPOSAL  # this script's folder is on sys.path

from evoenv.admission import AdmissionConfig
from evoenv.intake import ProposalPrompt
from evoenv.registry import open_registry
from evoenv.sandbox import open_sandbox
from evoenv.train.config import config_from_dict
from evoenv.train.generator_admission import AdmissionHooks
from evoenv.train.trainer import GRPOTrainer

model_dir, db_url, out, max_steps, mode = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
RANK = int(os.environ["RANK"])
torch.set_num_threads(1)


def prompt_text(prompt) -> str:
    return prompt if isinstance(prompt, str) else "\n\n".join(m["content"] for m in prompt)


class TaggedAdmission(AdmissionHooks):
    """The real admission hooks; prompts name the rank that sampled them, so the judge
    (on rank 0) and the registry show whose proposal each one was."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.judged: list[dict] = []
        self.swapped = False

    def prompts(self, n, pool, rng):
        return [ProposalPrompt([*p[:-1], {**p[-1], "content": p[-1]["content"] + f"\n[proposer rank {RANK}]"}],
                               p.parents, p.generation) for p in super().prompts(n, pool, rng)]

    def judge(self, prompts, completions):
        if mode == "fail-judge":
            raise RuntimeError("judge exploded")
        texts = list(completions)
        for i, prompt in enumerate(prompts):
            if not self.swapped and "[proposer rank 1]" in prompt_text(prompt):
                texts[i], self.swapped = PROPOSAL, True
        outcomes = super().judge(prompts, texts)
        self.judged += [{"rank_tag": int(prompt_text(p).rsplit("[proposer rank ", 1)[1][0]), "reward": float(o.reward),
                         "admitted": o.admitted} for p, o in zip(prompts, outcomes)]
        return outcomes


registry = open_registry(db_url)
sandbox = open_sandbox("process", workers=1)
cfg = config_from_dict({
    "model": model_dir, "output_dir": str(out / "run"), "seed": 5, "device": "cpu", "max_steps": max_steps,
    "groups_per_step": 1, "group_size": 2, "max_new_tokens": 6, "max_prompt_tokens": 48, "save_every": 1,
    "dynamic_sampling": mode == "dynamic", "dynamic_sampling_max_rounds": 1,
    "curriculum": {"seed_floor": 0.0, "pool_epoch_steps": 0},
    "reward": {"answer_from": "completion"},
    "generator": {"every": 2, "proposals_per_step": 1, "group_size": 2, "max_new_tokens": 6},
})
hooks = TaggedAdmission(registry=registry, sandbox=sandbox, config=AdmissionConfig(admit_without_policy=True))
trainer = GRPOTrainer(cfg, resume=mode == "resume", registry=registry, sandbox=sandbox, generator_hooks=hooks)
start_step = trainer.step
trained: list[dict] = []
real_collect = trainer.collect


def recording_collect(role):
    rollouts, sampled, kept = real_collect(role)
    trained.append({"step": trainer.step, "role": role, "rewards": list(rollouts.rewards)})
    return rollouts, sampled, kept


trainer.collect = recording_collect
report = {"rank": RANK, "start_step": start_step}
try:
    report["steps"] = trainer.train()["steps"]
except Exception as exc:
    report["error"] = f"{type(exc).__name__}: {exc}"
finally:
    trainer.close()
    sandbox.close()
    registry.close()
digest = hashlib.sha256()
for name, param in sorted(trainer.unwrapped_model.named_parameters()):
    digest.update(name.encode())
    digest.update(param.detach().cpu().numpy().tobytes())
report.update(trained=trained, judged=hooks.judged, proposed=trainer.proposed, admitted=trainer.admitted,
              curriculum={env.id: env.name for env in trainer.curriculum.envs.values()},
              run_id=trainer.run_id, params_sha256=digest.hexdigest(),
              admission_rate=trainer.last_metrics.get("generator_admission_rate"))
(out / f"rank-{RANK}.json").write_text(json.dumps(report))
dist.barrier()  # both reports are written before either rank exits (torchrun stops the rest on a failure)
sys.exit(1 if "error" in report else 0)
