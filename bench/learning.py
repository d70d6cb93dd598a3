"""Does GRPO learn? A tiny transformer, pretrained from scratch, then GRPO vs no GRPO.

1. Build a tokenizer and a ~100k-parameter Llama from nothing.
2. Pretrain it (supervised, on references the environment computes in the
   sandbox) on one easy environment until its sampled pass rate on held-out
   instances is above 0 and below 1.
3. From that checkpoint, run the same GRPO loop twice for ``--grpo-steps``
   steps: once with learning rate ``--lr`` (GRPO) and once with learning rate 0
   (the same rollouts and scoring, no policy update: "continuing without GRPO").
4. Report the held-out pass rate (seeds the training never sees, sampled at
   temperature 1) before and after, for both.

    python bench/learning.py            # a few minutes on 2 CPU cores
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (the repository on sys.path)
import torch
from _tinylm import completion_text, sampled_passes
from _tinylm import pretrain as tiny_pretrain

#: The easy environment: add two numbers (one digit each at level 1). Runs only in the sandbox.
ENV = '''
import random

class AddSmall:
    name = "add_small"
    description = "Add two small numbers; answer with the sum."
    max_difficulty = 3

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        top = 10 ** difficulty - 1
        return {"a": rng.randint(0, top), "b": rng.randint(0, top)}

    def prompt(self, instance):
        return f"{instance['a']}+{instance['b']}=?"

    def reference(self, instance):
        return str(instance["a"] + instance["b"])

    def score(self, instance, answer):
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
'''
HELD_OUT_SEED = 2**30  # training instances use seeds below this (evoenv.train.instances)


def evaluate(model, tokenizer, rendered, scorer, samples: int = 1, seed: int = 0) -> float:
    """Sampled (temperature 1) pass rate on ``rendered`` instances, scored in the sandbox."""
    rewards = sampled_passes(model, tokenizer, [("add_small", ENV, r) for r in rendered], scorer,
                             samples=samples, seed=seed)
    return sum(map(sum, rewards)) / (len(rewards) * samples)


def pretrain(model, tokenizer, train_rows, eval_rows, scorer, *, lr: float, batch: int, max_steps: int,
             low: float, high: float, log) -> tuple[int, float]:
    """Supervised steps on prompt -> <answer>reference</answer> until low < pass rate < high."""
    rate = 0.0

    def check(step: int, loss: float) -> bool:
        nonlocal rate
        rate = evaluate(model, tokenizer, eval_rows, scorer, seed=step)
        log(f"pretrain step {step}: loss {loss:.3f}, held-out pass rate {rate:.3f}")
        return low < rate < high and step >= 50

    steps = tiny_pretrain(model, tokenizer, train_rows, lr=lr, batch=batch, max_steps=max_steps, log=log, check=check)
    return steps, rate


def grpo(model_dir: Path, out: Path, lr: float, steps: int, sandbox, pool, groups: int, group_size: int) -> list[dict]:
    from evoenv.train.config import config_from_dict
    from evoenv.train.trainer import GRPOTrainer

    cfg = config_from_dict({
        "model": str(model_dir), "output_dir": str(out), "seed": 1, "max_steps": steps,
        "groups_per_step": groups, "group_size": group_size, "micro_batch_size": groups * group_size,
        "max_new_tokens": 12, "max_prompt_tokens": 64, "learning_rate": lr, "save_every": 0,
        "loss_type": "token", "epsilon_high": 0.28,
        # keep difficulty fixed at 1 so held-out evaluation measures the same task
        "curriculum": {"pool": "sources", "envs": ["unused"], "band_low": 0.0, "band_high": 1.0,
                       "seed_floor": 0.0},
    })
    trainer = GRPOTrainer(cfg, pool=pool, sandbox=sandbox)
    try:
        records = []
        while trainer.step < cfg.max_steps:
            records.append(trainer.train_step())
        trainer.save()
    finally:
        trainer.close()
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pretrain-steps", type=int, default=600, help="upper bound; stops once 0 < pass < 1")
    parser.add_argument("--pretrain-low", type=float, default=0.15)
    parser.add_argument("--pretrain-high", type=float, default=0.6)
    parser.add_argument("--grpo-steps", type=int, default=150)
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--eval-instances", type=int, default=128)
    parser.add_argument("--eval-samples", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest for this tiny model)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from evoenv.sandbox import SandboxedEnv, open_sandbox
    from evoenv.train.curriculum import PoolEnv, SourcesPool
    from evoenv.train.rewards import RewardScorer
    from evoenv.train.tiny import build_model, build_tokenizer

    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", flush=True)

    with tempfile.TemporaryDirectory() as tmp, open_sandbox("process", workers=2) as sandbox:
        tmp = Path(tmp)
        env = SandboxedEnv(ENV, sandbox)
        train_rows = env.render_many([(s, 1) for s in range(2000)])
        eval_rows = env.render_many([(HELD_OUT_SEED + s, 1) for s in range(args.eval_instances)])
        corpus = [r.prompt + completion_text(r.reference) for r in train_rows[:500]]
        tokenizer = build_tokenizer(corpus, vocab_size=300)
        model = build_model(tokenizer, hidden=64, layers=2, heads=4, seed=0)
        n_params = sum(p.numel() for p in model.parameters())
        log(f"model: {n_params:,} parameters; vocabulary {len(tokenizer)}")
        scorer = RewardScorer(sandbox)
        steps, rate = pretrain(model, tokenizer, train_rows, eval_rows[:64], scorer, lr=3e-3, batch=32,
                               max_steps=args.pretrain_steps, low=args.pretrain_low, high=args.pretrain_high, log=log)
        base = tmp / "pretrained"
        model.save_pretrained(base)
        tokenizer.save_pretrained(base)
        model.eval()
        before = evaluate(model, tokenizer, eval_rows, scorer, args.eval_samples, seed=123)
        log(f"pretrained {steps} steps; held-out pass rate {before:.3f}")
        if not 0 < before < 1:
            log("pass rate is not inside (0, 1); the comparison would be meaningless")
        pool = SourcesPool([PoolEnv("add_small", "add_small", ENV, "generated", 3)])

        results = {}
        for label, lr in (("grpo", args.lr), ("no_grpo", 0.0)):
            t0 = time.perf_counter()
            records = grpo(base, tmp / label, lr, args.grpo_steps, sandbox, pool, args.groups, args.group_size)
            trained = AutoModelForCausalLM.from_pretrained(tmp / label / f"checkpoint-{args.grpo_steps}").eval()
            after = evaluate(trained, AutoTokenizer.from_pretrained(base), eval_rows, scorer, args.eval_samples, seed=123)
            train_rates = [r["pass_rate"] for r in records if r.get("pass_rate") is not None] or [float("nan")]
            results[label] = {"lr": lr, "held_out_pass_rate": after, "seconds": time.perf_counter() - t0,
                              "train_pass_rate_first5": statistics.fmean(train_rates[:5]),
                              "train_pass_rate_last5": statistics.fmean(train_rates[-5:])}
            log(f"{label}: lr {lr}, {args.grpo_steps} steps, held-out pass rate {before:.3f} -> {after:.3f} "
                f"(training pass rate {results[label]['train_pass_rate_first5']:.3f} -> "
                f"{results[label]['train_pass_rate_last5']:.3f})")

    summary = {"params": n_params, "pretrain_steps": steps, "held_out_instances": args.eval_instances,
               "samples_per_instance": args.eval_samples, "grpo_steps": args.grpo_steps,
               "batch": f"{args.groups} groups x {args.group_size}", "before": before, **results,
               "gain_vs_no_grpo": results["grpo"]["held_out_pass_rate"] - results["no_grpo"]["held_out_pass_rate"],
               "total_seconds": time.perf_counter() - started}
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
