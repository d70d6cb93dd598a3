"""Does the calibrated curriculum teach better than uniform difficulty or a fixed dataset, at equal steps?

1. Admit five bench environments (levels 1..5, from trivial to out of reach for a
   tiny model) through the real admission pipeline into a temporary SQLite
   registry: L1-L5 and novelty run; review and calibration do not (no policy,
   as for ``evoenv init``'s seeds). One kind (``take_away``) is then retired so
   that no arm trains on it: it is the held-out kind.
2. For each model-init seed: build a ~100k-parameter model and pretrain it from
   scratch (as bench/learning.py does) on all levels of the four training kinds;
   measure its pass rate at every level and record it in the registry as that
   checkpoint's calibration (seeds disjoint from training and evaluation).
3. From that checkpoint, three GRPO arms with the same trainer (evoenv.train),
   steps, groups, group size, token budget and trainer seed:
     calibrated  the registry curriculum: start where the recorded calibration is
                 closest to p = 0.3, then keep each kind's recent pass rate in
                 0.3..0.7 (re-measured every step, written back at checkpoints),
                 pool rotation on;
     uniform     the same kinds, kind and level drawn uniformly;
     fixed       a dataset exported once (``evoenv export`` verl parquet rows) at
                 the middle level, served in shuffled epochs.
4. Held-out evaluation: seeds >= 2^30 (training never draws them) at every level
   of every kind, the held-out kind included; pass rate per level with standard
   errors, a curve every ``--curve-every`` steps, and the paired difference of
   arms over model-init seeds with a t confidence interval.

    python bench/curriculum.py                       # defaults: about 20 minutes on 2 idle cores
    python bench/curriculum.py --device cuda --hidden 256 --layers 4 --steps 500 --seeds 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (the repository on sys.path)
import torch
from _tinylm import completion_text, sampled_passes
from _tinylm import pretrain as tiny_pretrain

LEVELS = 5
MIDDLE = (1 + LEVELS) // 2
HELD_OUT_SEED = 2**30  # evoenv.train.instances.TRAIN_SEED_LIMIT: training seeds are below it
CALIBRATION_SEED = 2**29  # pretraining uses seeds from 0, GRPO draws anywhere below 2^30
ARMS = ("calibrated", "uniform", "fixed")

ADD_UP = '''
import random


class AddUp:
    name = "add_up"
    description = "Add two whole numbers; the numbers get larger with the level. Answer with the sum."
    max_difficulty = 5
    TOPS = (4, 9, 30, 99, 999)

    def sample(self, seed, difficulty):
        rng = random.Random(f"add_up:{seed}:{difficulty}")
        top = self.TOPS[difficulty - 1]
        return {"a": rng.randint(0, top), "b": rng.randint(0, top)}

    def prompt(self, instance):
        return f"{instance['a']}+{instance['b']}=? <answer>"

    def reference(self, instance):
        return str(instance["a"] + instance["b"])

    def score(self, instance, answer):
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
'''

COUNT_LETTER = '''
import random


class CountLetter:
    name = "count_letter"
    description = "Count how many times the letter a occurs in a word of a and b; longer words at higher levels."
    max_difficulty = 5
    LENGTHS = (2, 4, 7, 11, 16)

    def sample(self, seed, difficulty):
        rng = random.Random(f"count_letter:{seed}:{difficulty}")
        return {"word": "".join(rng.choice("ab") for _ in range(self.LENGTHS[difficulty - 1]))}

    def prompt(self, instance):
        return f"how many a in {instance['word']}? <answer>"

    def reference(self, instance):
        return str(instance["word"].count("a"))

    def score(self, instance, answer):
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
'''

LARGEST = '''
import random


class Largest:
    name = "largest"
    description = "Pick the largest of a list of numbers; the list grows longer and the numbers larger with the level."
    max_difficulty = 5
    SIZES = ((2, 9), (3, 9), (4, 50), (6, 99), (9, 999))

    def sample(self, seed, difficulty):
        rng = random.Random(f"largest:{seed}:{difficulty}")
        count, top = self.SIZES[difficulty - 1]
        return {"values": [rng.randint(0, top) for _ in range(count)]}

    def prompt(self, instance):
        return "max of " + " ".join(map(str, instance["values"])) + "? <answer>"

    def reference(self, instance):
        return str(max(instance["values"]))

    def score(self, instance, answer):
        return 1.0 if answer.strip() == str(max(instance["values"])) else 0.0
'''

REVERSE_WORD = '''
import random


class ReverseWord:
    name = "reverse_word"
    description = "Write a word backwards; words get longer with the level."
    max_difficulty = 5
    LENGTHS = (2, 3, 4, 6, 8)

    def sample(self, seed, difficulty):
        rng = random.Random(f"reverse_word:{seed}:{difficulty}")
        return {"word": "".join(rng.choice("abcdef") for _ in range(self.LENGTHS[difficulty - 1]))}

    def prompt(self, instance):
        return f"reverse {instance['word']}: <answer>"

    def reference(self, instance):
        return instance["word"][::-1]

    def score(self, instance, answer):
        return 1.0 if answer.strip() == instance["word"][::-1] else 0.0
'''

#: Never trained on by any arm (retired after admission): transfer only.
TAKE_AWAY = '''
import random


class TakeAway:
    name = "take_away"
    description = "Subtract the smaller number from the larger; numbers get larger with the level."
    max_difficulty = 5
    TOPS = (4, 9, 30, 99, 999)

    def sample(self, seed, difficulty):
        rng = random.Random(f"take_away:{seed}:{difficulty}")
        x, y = rng.randint(0, self.TOPS[difficulty - 1]), rng.randint(0, self.TOPS[difficulty - 1])
        return {"big": max(x, y), "small": min(x, y)}

    def prompt(self, instance):
        return f"{instance['big']}-{instance['small']}=? <answer>"

    def reference(self, instance):
        return str(instance["big"] - instance["small"])

    def score(self, instance, answer):
        return 1.0 if answer.strip() == str(instance["big"] - instance["small"]) else 0.0
'''

TRAIN_ENVS = {"add_up": ADD_UP, "count_letter": COUNT_LETTER, "largest": LARGEST, "reverse_word": REVERSE_WORD}
HELD_OUT_ENV = ("take_away", TAKE_AWAY)
#: t quantiles (two-sided 95%) for small numbers of seeds; normal beyond
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def admit_all(url: str, sandbox, log) -> dict:
    """Every bench environment through admission (no policy: review and calibration not run),
    into the registry at ``url``; the held-out kind is retired at once. Returns name -> record."""
    from evoenv.admission.candidate import AdmissionContext, Candidate
    from evoenv.admission.config import AdmissionConfig
    from evoenv.admission.novelty import NoveltyIndex
    from evoenv.admission.persist import persist
    from evoenv.admission.pipeline import admit_candidate
    from evoenv.registry import open_registry

    # blind_max_rate=1.0: the bench's level 1 is guessable by design (two one-digit addends, a two-letter
    # word), the "trivially easy" end of each ladder; every other check runs as in grow
    config = AdmissionConfig(admit_without_policy=True, blind_max_rate=1.0)
    registry = open_registry(url, upgrade_schema=True)
    records, stages = {}, {}
    try:
        index = NoveltyIndex.from_registry(registry, config.novelty_lambda)
        ctx = AdmissionContext(sandbox, config, novelty=index)
        for name, code in [*TRAIN_ENVS.items(), HELD_OUT_ENV]:
            candidate = Candidate(code, origin="generated", tags=("bench",))
            outcome = admit_candidate(candidate, ctx)
            record = persist(registry, outcome, lam=config.novelty_lambda)
            if not outcome.admitted:
                raise SystemExit(f"bench environment {name} was not admitted: {outcome.reason}")
            index.add_admitted(record, candidate)
            records[name] = record
            stages[name] = {s.stage: ("passed" if s.passed else "failed" if s.passed is False else "not run")
                            for s in outcome.stages}
            log(f"admitted {name}: {outcome.reason}; "
                + ", ".join(f"{s.stage} {stages[name][s.stage]}" for s in outcome.stages))
        registry.retire(records[HELD_OUT_ENV[0]].id, "held out of training by bench/curriculum.py")
    finally:
        registry.close()
    return {"records": {n: r.id for n, r in records.items()}, "stages": stages}


def record_calibration(url: str, env_ids: dict, rates: dict, n: int, checkpoint: str) -> None:
    """The pretrained model's measured pass counts per training kind and level, as registry calibration."""
    from evoenv.registry import open_registry

    registry = open_registry(url)
    try:
        for name in TRAIN_ENVS:
            for level in range(1, LEVELS + 1):
                registry.record_calibration(env_ids[name], checkpoint=checkpoint, difficulty=level, n=n,
                                            passes=round(rates[name][level] * n))
    finally:
        registry.close()


def export_fixed(url: str, out: Path, per_env: int, sandbox) -> int:
    """The fixed arm's dataset: ``evoenv export --format verl --difficulty MIDDLE`` of the admitted kinds."""
    from evoenv.integrations.catalog import Catalog
    from evoenv.integrations.export import build_rows, write_rows

    catalog = Catalog(url)
    try:
        rows = build_rows("admitted", per_env=per_env, difficulty=str(MIDDLE), seed=0, catalog=catalog,
                          sandbox=sandbox)
    finally:
        if catalog.registry is not None:
            catalog.registry.close()
    write_rows(rows, "verl", out)
    return len(rows)


def pass_table(model, tokenizer, cases, scorer, samples: int, seed: int) -> dict:
    """{env: {level: [pass rate per case]}} (each case's mean over ``samples``)."""
    rewards = sampled_passes(model, tokenizer, [(name, code, r) for name, code, _level, r in cases], scorer,
                             samples=samples, seed=seed)
    table: dict = {}
    for (name, _code, level, _r), values in zip(cases, rewards):
        table.setdefault(name, {}).setdefault(level, []).append(sum(v >= 1.0 for v in values) / samples)
    return table


def summarize(table: dict) -> dict:
    """Per env and level: mean pass rate and its standard error over instances; plus aggregates."""
    out = {"per_level": {}, "train_mean": None, "held_out_mean": None}
    for name, levels in table.items():
        out["per_level"][name] = {str(level): statistics.fmean(v) for level, v in sorted(levels.items())}
    train = [statistics.fmean(v) for name in TRAIN_ENVS for v in table.get(name, {}).values()]
    held = [statistics.fmean(v) for v in table.get(HELD_OUT_ENV[0], {}).values()]
    out["train_mean"] = statistics.fmean(train) if train else None
    out["held_out_mean"] = statistics.fmean(held) if held else None
    return out


def mean_se(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    return mean, se


def paired_difference(a: list[float], b: list[float]) -> dict:
    """Mean of a - b over paired seeds, its standard error and a 95% t interval (nan with one seed)."""
    diffs = [x - y for x, y in zip(a, b)]
    mean, se = mean_se(diffs)
    t = T975.get(len(diffs) - 1, 1.96)
    return {"mean": mean, "se": se, "ci95": [mean - t * se, mean + t * se], "n_seeds": len(diffs),
            "per_seed": diffs}


def run_arm(arm: str, *, base: Path, db_url: str, dataset: Path, out: Path, args, sandbox, tokenizer,
            curve_cases, eval_cases, scorer, model_seed: int, log) -> dict:
    """One GRPO run with the trainer, evaluated on the curve set every ``curve_every`` steps."""
    from evoenv.registry import open_registry
    from evoenv.train.config import config_from_dict
    from evoenv.train.trainer import GRPOTrainer

    curriculum = {"pool": "registry", "pool_epoch_steps": args.pool_epoch_steps, "max_pool_epochs": 10}
    if arm == "uniform":
        curriculum["difficulty"] = "uniform"
    elif arm == "fixed":
        curriculum.update(dataset=str(dataset), pool_epoch_steps=0)  # a fixed dataset has no pool to rotate
    cfg = config_from_dict({
        "model": str(base), "output_dir": str(out), "run_name": f"{arm}-s{model_seed}", "db": db_url,
        "seed": model_seed, "device": args.device, "rollout": args.rollout, "max_steps": args.steps,
        "groups_per_step": args.groups, "group_size": args.group_size,
        "micro_batch_size": args.groups * args.group_size, "max_new_tokens": args.max_new_tokens,
        "max_prompt_tokens": 64, "learning_rate": args.lr, "loss_type": "token", "epsilon_high": 0.28,
        "save_every": args.curve_every, "keep_checkpoints": 1, "curriculum": curriculum,
        "reward": {"chunk": 1024},
    })
    registry = open_registry(db_url)
    trainer = GRPOTrainer(cfg, registry=registry, sandbox=sandbox)
    curve, steps = [], []

    def evaluate_curve(step: int) -> None:
        table = pass_table(trainer.unwrapped_model, tokenizer, curve_cases, scorer, 1, seed=10_000 + step)
        point = summarize(table)
        curve.append({"step": step, "train_mean": point["train_mean"], "held_out_mean": point["held_out_mean"]})
        log(f"  {arm} seed {model_seed} step {step}: held-out pass rate, trained kinds {point['train_mean']:.3f}, "
            f"held-out kind {point['held_out_mean']:.3f}")

    def on_step(step: int, record: dict) -> None:
        steps.append({"groups": record.get("groups_kept", 0), "tokens": record.get("completion_tokens", 0),
                      "pass_rate": record.get("pass_rate"), "levels": record.get("difficulty_per_env"),
                      "skipped": record.get("skipped")})
        if step % args.curve_every == 0 or step == args.steps:
            evaluate_curve(step)

    try:
        evaluate_curve(0)
        trainer.train(on_step=on_step)
        final = pass_table(trainer.unwrapped_model, tokenizer, eval_cases, scorer, args.eval_samples, seed=123)
        # what each kind was trained on, and the calibration checkpoints the registry now holds
        trained_levels = {env.name: {str(d): n for d, (n, _p) in sorted(trainer.curriculum.state[env.id].total.items())}
                          for env in trainer.curriculum.envs.values()}
        calibrated_by = sorted({checkpoint for env in trainer.curriculum.envs.values()
                                for checkpoint in registry.calibration_curve(int(env.id))})
    finally:
        trainer.close()
        registry.close()
    return {"steps": len(steps), "sequences": sum(s["groups"] for s in steps) * args.group_size,
            "completion_tokens": sum(s["tokens"] for s in steps),
            "token_budget": len(steps) * args.groups * args.group_size * args.max_new_tokens,
            "skipped_steps": sum(bool(s["skipped"]) for s in steps),
            "train_pass_rate": [s["pass_rate"] for s in steps],
            "levels_last_step": steps[-1]["levels"] if steps else None,
            "trained_levels": trained_levels, "calibration_checkpoints": calibrated_by,
            "curve": curve, "final": summarize(final), "final_table": final}


def render_cases(sandbox, first_seed: int, n: int) -> list:
    """(name, code, level, rendered) for n instances per level of every kind, seeds from ``first_seed``."""
    from evoenv.sandbox import SandboxedEnv

    cases = []
    for name, code in [*TRAIN_ENVS.items(), HELD_OUT_ENV]:
        env = SandboxedEnv(code, sandbox)
        for level in range(1, LEVELS + 1):
            rendered = env.render_many([(first_seed + i, level) for i in range(n)])
            cases += [(name, code, level, r) for r in rendered]
    return cases


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="model-init seeds (each pretrains its own model)")
    parser.add_argument("--steps", type=int, default=150, help="GRPO steps per arm")
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--pool-epoch-steps", type=int, default=50, help="calibrated/uniform arms' pool epochs")
    parser.add_argument("--pretrain-steps", type=int, default=800)
    parser.add_argument("--pretrain-rows", type=int, default=300, help="pretraining instances per kind and level")
    parser.add_argument("--calibration-m", type=int, default=16, help="instances per level for the calibration")
    parser.add_argument("--dataset-rows", type=int, default=256, help="fixed arm: exported rows per kind")
    parser.add_argument("--eval-instances", type=int, default=32, help="held-out instances per kind and level")
    parser.add_argument("--eval-samples", type=int, default=4, help="samples per held-out instance")
    parser.add_argument("--curve-every", type=int, default=50)
    parser.add_argument("--curve-instances", type=int, default=8, help="per kind and level, 1 sample, for the curve")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rollout", default="hf", help="trainer rollout engine (hf, vllm, auto)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest for the tiny model)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--report", type=Path, help="print the report of a results file written by --json; no run")
    args = parser.parse_args(argv)
    if args.report:
        results = json.loads(args.report.read_text())
        results["differences"] = compare(results)
        print_report(results)
        return results
    if args.steps < 1 or args.seeds < 1 or args.curve_every < 1:
        parser.error("--steps, --seeds and --curve-every must be >= 1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    torch.set_num_threads(args.threads)

    from evoenv.sandbox import SandboxedEnv, open_sandbox
    from evoenv.train.rewards import RewardScorer
    from evoenv.train.tiny import build_model, build_tokenizer

    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f}s] {message}", flush=True)

    results: dict = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                     "levels": LEVELS, "train_kinds": list(TRAIN_ENVS), "held_out_kind": HELD_OUT_ENV[0]}
    with tempfile.TemporaryDirectory() as tmp, open_sandbox("process", workers=2) as sandbox:
        tmp = Path(tmp)
        admission_url = f"sqlite:///{tmp / 'admission.db'}"
        admitted = admit_all(admission_url, sandbox, log)
        results["admission"] = admitted["stages"]
        env_ids = admitted["records"]

        dataset = tmp / "fixed.parquet"
        results["fixed_rows"] = export_fixed(admission_url, dataset, args.dataset_rows, sandbox)
        log(f"exported {results['fixed_rows']} verl rows at level {MIDDLE} for the fixed arm")

        train_rows = []
        for code in TRAIN_ENVS.values():
            env = SandboxedEnv(code, sandbox)
            train_rows += env.render_many([(s, level) for level in range(1, LEVELS + 1)
                                           for s in range(args.pretrain_rows)])
        calibration_cases = [c for c in render_cases(sandbox, CALIBRATION_SEED, args.calibration_m)
                             if c[0] in TRAIN_ENVS]
        eval_cases = render_cases(sandbox, HELD_OUT_SEED, args.eval_instances)
        curve_cases = render_cases(sandbox, HELD_OUT_SEED + 10**6, args.curve_instances)
        tokenizer = build_tokenizer([r.prompt + completion_text(r.reference) for r in train_rows[::7]], 300)
        scorer = RewardScorer(sandbox, chunk=1024)

        runs: dict = {arm: [] for arm in ARMS}
        pretrained = []
        for model_seed in range(args.seeds):
            model = build_model(tokenizer, hidden=args.hidden, layers=args.layers, heads=args.heads,
                                seed=model_seed).to(args.device)
            n_params = sum(p.numel() for p in model.parameters())
            t0 = time.perf_counter()
            tiny_pretrain(model, tokenizer, train_rows, lr=3e-3, batch=32, max_steps=args.pretrain_steps, log=log,
                          seed=model_seed)
            model.eval()
            calibration = summarize(pass_table(model, tokenizer, calibration_cases, scorer, 1, seed=model_seed))
            before = pass_table(model, tokenizer, eval_cases, scorer, args.eval_samples, seed=123)
            pretrained.append({"final": summarize(before), "final_table": before})
            log(f"seed {model_seed}: {n_params:,} parameters, pretrained {args.pretrain_steps} steps in "
                f"{time.perf_counter() - t0:.0f} s; calibration per level "
                + json.dumps({n: [round(v, 2) for v in lv.values()] for n, lv in calibration["per_level"].items()}))
            base = tmp / f"pretrained-{model_seed}"
            model.cpu().save_pretrained(base)
            tokenizer.save_pretrained(base)
            seed_db = tmp / f"seed-{model_seed}.db"
            shutil.copy(tmp / "admission.db", seed_db)
            rates = {n: {int(k): v for k, v in lv.items()} for n, lv in calibration["per_level"].items()}
            record_calibration(f"sqlite:///{seed_db}", env_ids, rates, args.calibration_m, f"pretrained-s{model_seed}")
            for arm in ARMS:
                arm_db = tmp / f"{arm}-{model_seed}.db"
                shutil.copy(seed_db, arm_db)
                t0 = time.perf_counter()
                run = run_arm(arm, base=base, db_url=f"sqlite:///{arm_db}", dataset=dataset,
                              out=tmp / f"run-{arm}-{model_seed}", args=args, sandbox=sandbox, tokenizer=tokenizer,
                              curve_cases=curve_cases, eval_cases=eval_cases, scorer=scorer,
                              model_seed=model_seed, log=log)
                run["seconds"] = time.perf_counter() - t0
                run["model_seed"] = model_seed
                runs[arm].append(run)
                log(f"{arm} seed {model_seed}: {run['steps']} steps, {run['sequences']} sequences, "
                    f"{run['completion_tokens']} completion tokens, {run['seconds']:.0f} s; held-out pass rate "
                    f"trained kinds {run['final']['train_mean']:.3f}, "
                    f"held-out kind {run['final']['held_out_mean']:.3f}")
        results["params"] = n_params

    results["pretrained"] = [p["final"] for p in pretrained]
    results["arms"] = {arm: [{k: v for k, v in run.items() if k != "final_table"} for run in rs]
                       for arm, rs in runs.items()}
    results["per_level"] = per_level_table({"pretrained": pretrained, **runs})
    results["differences"] = compare(results)
    results["curve"] = {arm: [{"step": pts[0]["step"],
                               "train_mean": statistics.fmean(p["train_mean"] for p in pts),
                               "held_out_mean": statistics.fmean(p["held_out_mean"] for p in pts)}
                              for pts in zip(*[r["curve"] for r in runs[arm]])] for arm in ARMS}
    results["total_seconds"] = time.perf_counter() - started
    print_report(results)
    print(json.dumps({k: results[k] for k in ("per_level", "differences", "curve", "total_seconds")}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return results


#: the paired comparisons reported; "pretrained" is the checkpoint every arm starts from
PAIRS = (("calibrated", "uniform"), ("calibrated", "fixed"), ("uniform", "fixed"),
         ("calibrated", "pretrained"), ("uniform", "pretrained"), ("fixed", "pretrained"))


def compare(results: dict) -> dict:
    """Paired differences (by model seed) of the held-out means, from a results dict (or its JSON)."""
    finals = {arm: [r["final"] for r in runs] for arm, runs in results["arms"].items()}
    finals["pretrained"] = results["pretrained"]
    return {f"{a} - {b}, {key}": paired_difference([f[key] for f in finals[a]], [f[key] for f in finals[b]])
            for a, b in PAIRS for key in ("train_mean", "held_out_mean")}


def per_level_table(runs: dict) -> dict:
    """arm -> kind group ("trained", "held_out") -> level -> mean over seeds, SE over seeds, and the
    binomial SE over all samples pooled."""
    out: dict = {}
    for arm, rs in runs.items():
        out[arm] = {}
        for group, names in (("trained", list(TRAIN_ENVS)), ("held_out", [HELD_OUT_ENV[0]])):
            out[arm][group] = {}
            for level in range(1, LEVELS + 1):
                per_seed = [statistics.fmean(v for n in names for v in r["final_table"][n][level]) for r in rs]
                cells = [v for r in rs for n in names for v in r["final_table"][n][level]]
                mean, se = mean_se(per_seed)
                pooled = statistics.fmean(cells)
                out[arm][group][str(level)] = {"mean": mean, "se_seeds": se, "instances": len(cells),
                                               "se_pooled": statistics.stdev(cells) / math.sqrt(len(cells))
                                               if len(cells) > 1 else float("nan"), "pooled": pooled}
    return out


def print_report(results: dict) -> None:
    print()
    print("held-out pass rate per level (mean over model seeds +- SE over seeds)")
    for group in ("trained", "held_out"):
        label = "trained kinds" if group == "trained" else f"held-out kind ({results['held_out_kind']})"
        print(f"  {label}")
        print("    arm         " + "".join(f"  level {lv:<6}" for lv in range(1, LEVELS + 1)))
        for arm in ("pretrained", *ARMS):
            cells = results["per_level"][arm][group]
            print(f"    {arm:<11} " + "".join(f"  {c['mean']:.3f}+-{c['se_seeds']:.3f}"
                                               for c in (cells[str(lv)] for lv in range(1, LEVELS + 1))))
    print("pretrained (before GRPO), trained kinds per seed: "
          + ", ".join(f"{p['train_mean']:.3f}" for p in results["pretrained"]))
    print("difference of arms (paired over model seeds; 95% t interval)")
    for key, d in results["differences"].items():
        print(f"  {key:<40} {d['mean']:+.4f}  [{d['ci95'][0]:+.4f}, {d['ci95'][1]:+.4f}]  (n={d['n_seeds']})")
    print("curve: step: held-out pass rate of the trained kinds / of the held-out kind (curve set, mean over seeds)")
    for arm in ARMS:
        print(f"  {arm:<11} " + "  ".join(f"{p['step']}: {p['train_mean']:.3f}/{p['held_out_mean']:.3f}"
                                          for p in results["curve"][arm]))
    print(f"total {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
