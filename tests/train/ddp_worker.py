"""One rank of the 2-process data-parallel test, started by ``accelerate launch`` (test_distributed.py).

Trains with the real GRPOTrainer, then writes this rank's view of the model to
``<out>/rank-<r>.json``: a hash of every parameter, so the test can compare ranks.
Rank 1 uses bigger micro-batches (one where rank 0 has three), so the ranks run
different numbers of forwards and backwards per step, as dynamic sampling can cause.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

import torch

from evoenv.train.config import config_from_dict
from evoenv.train.trainer import GRPOTrainer

model_dir, env_file, out, max_steps, resume = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.set_num_threads(1)
cfg = config_from_dict({
    "model": model_dir, "output_dir": str(out / "run"), "seed": 3, "device": "cpu",
    "max_steps": max_steps, "groups_per_step": 2, "group_size": 4, "micro_batch_size": 3 + 5 * int(os.environ["RANK"]),
    "max_new_tokens": 8, "max_prompt_tokens": 64, "learning_rate": 1e-2, "save_every": 1,
    "curriculum": {"pool": "sources", "envs": [env_file], "seed_floor": 0.0},
    "reward": {"answer_from": "completion", "sandbox_workers": 1},
})
trainer = GRPOTrainer(cfg, resume=resume == "resume")
start_step = trainer.step
try:
    summary = trainer.train()
finally:
    trainer.close()
digest = hashlib.sha256()
for name, param in sorted(trainer.unwrapped_model.named_parameters()):
    digest.update(name.encode())
    digest.update(param.detach().cpu().numpy().tobytes())
(out / f"rank-{trainer.rank}.json").write_text(json.dumps({
    "rank": trainer.rank, "world_size": trainer.world_size, "start_step": start_step, "steps": summary["steps"],
    "params_sha256": digest.hexdigest(), "distributed": trainer.accelerator is not None,
}))
