"""GRPO step time and tokens/s: evoenv's trainer vs TRL's GRPOTrainer, same run conditions.

Both trainers get the same tiny randomly initialised Llama, the same prompts
(instances of one environment rendered in the sandbox), the same batch
(groups x group size), the same completion length limit and the same rewards
(the environment's scorer in the sandbox). Each runs ``--warmup`` steps that
are not timed, then ``--steps`` timed steps. Prints both and the ratio.

    python bench/train_throughput.py                     # CPU, small sizes
    python bench/train_throughput.py --device cuda --hidden 512 --layers 8 --steps 10

On a GPU, evoenv uses vLLM when installed (``rollout = "auto"``); pass
``--trl-vllm`` to let TRL use its colocated vLLM too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ENV = '''
import random

class DigitSum:
    name = "digit_sum"
    description = "Sum the digits of a number."
    max_difficulty = 5

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"n": rng.randint(10 ** difficulty, 10 ** (difficulty + 1) - 1)}

    def prompt(self, instance):
        return f"What is the sum of the digits of {instance['n']}? Answer in <answer>...</answer>."

    def reference(self, instance):
        return str(sum(int(c) for c in str(instance["n"])))

    def score(self, instance, answer):
        return 1.0 if answer.strip() == self.reference(instance) else (0.1 if answer.strip().isdigit() else 0.0)
'''


def run_evoenv(args, model_dir: Path, out: Path, sandbox) -> dict:
    from evoenv.train.config import config_from_dict
    from evoenv.train.curriculum import PoolEnv, SourcesPool
    from evoenv.train.trainer import GRPOTrainer

    cfg = config_from_dict({
        "model": str(model_dir), "output_dir": str(out / "evoenv"), "seed": 0, "device": args.device,
        "max_steps": args.warmup + args.steps, "groups_per_step": args.groups, "group_size": args.group_size,
        "micro_batch_size": args.groups * args.group_size, "max_new_tokens": args.max_new_tokens,
        "learning_rate": 1e-5, "save_every": 0, "beta": args.beta, "rollout": "auto",
        "curriculum": {"pool": "sources", "envs": ["unused"], "seed_floor": 0.0},
        "reward": {"answer_from": "completion"},
    })
    pool = SourcesPool([PoolEnv("digit_sum", "digit_sum", ENV, "generated", 5)])
    trainer = GRPOTrainer(cfg, pool=pool, sandbox=sandbox)
    try:
        for _ in range(args.warmup):
            trainer.train_step()
        started = time.perf_counter()
        records = [trainer.train_step() for _ in range(args.steps)]
        elapsed = time.perf_counter() - started
    finally:
        trainer.close()
    tokens = sum(r["completion_tokens"] for r in records)
    return {"step_s": elapsed / args.steps, "tokens_per_s": tokens / elapsed, "completion_tokens": tokens,
            "engine": trainer.rollout.name}


def run_trl(args, model_dir: Path, out: Path, sandbox, prompts: list[str], instances: list[dict]) -> dict:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from evoenv.train.rewards import RewardScorer, ScoreItem

    scorer = RewardScorer(sandbox, answer_from="completion")

    def reward_func(completions, instance, **kwargs):
        items = [ScoreItem("digit_sum", ENV, json.loads(i), c) for c, i in zip(completions, instance)]
        return [r.value for r in scorer.score(items)]

    data = Dataset.from_list([{"prompt": p, "instance": json.dumps(i)} for p, i in zip(prompts, instances)])
    batch = args.groups * args.group_size
    config = GRPOConfig(
        output_dir=str(out / "trl"), per_device_train_batch_size=batch, num_generations=args.group_size,
        max_completion_length=args.max_new_tokens, learning_rate=1e-5, beta=args.beta,
        max_steps=args.warmup + args.steps, logging_steps=1, report_to="none", save_strategy="no",
        use_cpu=args.device == "cpu", bf16=args.device != "cpu", seed=0, top_k=0,
        use_vllm=args.trl_vllm, vllm_mode="colocate", disable_tqdm=True, dataloader_num_workers=0,
        gradient_checkpointing=False)  # evoenv does not checkpoint activations: compare like with like
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    stamps: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, _args, state, control, **kwargs):
            stamps.append(time.perf_counter())

    trainer = GRPOTrainer(model=model, reward_funcs=reward_func, args=config, train_dataset=data,
                          processing_class=tokenizer, callbacks=[Clock()])
    trainer.remove_callback(PrinterCallback)  # keep stdout for our own report
    started = time.perf_counter()
    trainer.train()
    timed = stamps[args.warmup - 1:] if args.warmup else [started] + stamps
    elapsed = timed[-1] - timed[0]
    lengths = [row["completions/mean_length"] for row in trainer.state.log_history if "completions/mean_length" in row]
    tokens = sum(lengths[args.warmup:]) * batch
    return {"step_s": elapsed / args.steps, "tokens_per_s": tokens / elapsed, "completion_tokens": tokens,
            "engine": "vllm" if args.trl_vllm else "transformers"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--beta", type=float, default=0.0)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each; medians are reported")
    parser.add_argument("--trl-vllm", action="store_true")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from evoenv.sandbox import SandboxedEnv, open_sandbox
    from evoenv.train.tiny import save_tiny

    evo_runs, trl_runs = [], []
    with tempfile.TemporaryDirectory() as tmp, open_sandbox("process", workers=2) as sandbox:
        out = Path(tmp)
        model_dir = save_tiny(out / "model", hidden=args.hidden, layers=args.layers)
        rendered = SandboxedEnv(ENV, sandbox).render_many([(s, 2) for s in range(64)])
        for repeat in range(args.repeats):  # alternate, so load changes on a shared machine hit both
            evo_runs.append(run_evoenv(args, model_dir, out / f"r{repeat}", sandbox))
            trl_runs.append(run_trl(args, model_dir, out / f"r{repeat}", sandbox, [r.prompt + "\n" for r in rendered],
                                    [r.instance for r in rendered]))

    def median_run(runs: list[dict]) -> dict:
        ordered = sorted(runs, key=lambda r: r["step_s"])
        return {**ordered[len(ordered) // 2], "step_s_all": [round(r["step_s"], 4) for r in runs]}

    evo, trl = median_run(evo_runs), median_run(trl_runs)
    result = {"device": args.device, "model": f"llama hidden={args.hidden} layers={args.layers}",
              "batch": f"{args.groups} groups x {args.group_size}", "max_new_tokens": args.max_new_tokens,
              "timed_steps": args.steps, "repeats": args.repeats, "torch_threads": args.threads or "default",
              "evoenv": evo, "trl": trl,
              "step_time_ratio_trl_over_evoenv": trl["step_s"] / evo["step_s"],
              "tokens_per_s_ratio_evoenv_over_trl": evo["tokens_per_s"] / trl["tokens_per_s"]}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"device {args.device}; {result['model']}; batch {result['batch']}; <= {args.max_new_tokens} new tokens")
    for name in ("evoenv", "trl"):
        r = result[name]
        print(f"{name:7s} {r['engine']:12s} median step {r['step_s']:.3f} s (runs {r['step_s_all']})   "
              f"{r['tokens_per_s']:.0f} completion tokens/s")
    print(f"evoenv speed-up: {result['step_time_ratio_trl_over_evoenv']:.2f}x step time, "
          f"{result['tokens_per_s_ratio_evoenv_over_trl']:.2f}x tokens/s")


if __name__ == "__main__":
    main()
