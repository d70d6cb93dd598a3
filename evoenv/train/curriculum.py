"""The curriculum: which environment, at which difficulty, for each group.

(Just over ~400 lines: the sampling rule, the per-environment state and its two pool sources
belong together.)

Each environment has a current difficulty and a window of recent pass/fail
results at that difficulty. When the window's pass rate leaves the target band
(default 0.3-0.7) the difficulty moves one level to bring it back. Environments
are sampled with weight ``exp(-(p - target)^2 / (2 sigma^2))`` (the paper's
difficulty reward Q, target 0.3), never below ``min_weight``; an environment
with too few results yet has weight 1, so new ones get explored. At least
``seed_floor`` of each step's groups come from seed environments.

When no level of an environment has 0 < p < 1 (the band is empty), it starts at
the top level if every measured level was solved (p = 1), at level 1 if none
was (p = 0), and otherwise just above the highest level solved every time; it
keeps being sampled (weight >= ``min_weight``) and measured, so it moves as soon
as the policy changes (see ``start_level``).

``difficulty = "uniform"`` draws environment and level uniformly instead (no
adaptation), and ``dataset`` serves the rows of a pre-exported dataset in a
shuffled order, epoch after epoch: the baselines a calibrated curriculum is
compared with (bench/curriculum.py).

Environments come from a *pool*: ``RegistryPool`` (admitted environments, pool
rotation and calibration written back to the registry) or ``SourcesPool``
(seed names or .py files given in the config; nothing persisted).
"""

from __future__ import annotations

import json
import math
import random
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from evoenv.hashing import code_sha256
from evoenv.train.config import CurriculumConfig


@dataclass(frozen=True)
class PoolEnv:
    id: str  # registry id as text, or the source's name
    name: str
    code: str
    origin: str  # "seed" for seed environments
    max_difficulty: int
    description: str = ""


@dataclass(frozen=True)
class Task:
    env: PoolEnv
    difficulty: int
    #: the instance seed; None draws a fresh training seed (a dataset row fixes it)
    seed: int | None = None


class Pool(Protocol):
    def active(self) -> list[PoolEnv]: ...
    def advance_epoch(self, max_epochs: int) -> list[str]: ...
    def initial_difficulty(self, env: PoolEnv, target: float) -> int | None: ...
    def record_calibration(self, env: PoolEnv, checkpoint: str, difficulty: int, n: int, passes: int) -> None: ...
    def record_usage(self, env: PoolEnv, step: int, mean_reward: float) -> None: ...


def closest_calibrated_level(points, target: float) -> tuple[int, int, int] | None:
    """``(level, n, passes)`` of the level whose pooled pass rate is closest to ``target`` (ties: the
    lower level), from calibration points ``(difficulty, n, passes, rate)``; None with no results."""
    totals: dict[int, list[int]] = {}
    for difficulty, n, passes, _rate in points:
        counts = totals.setdefault(int(difficulty), [0, 0])
        counts[0] += int(n)
        counts[1] += int(passes)
    rated = [(abs(passes / n - target), level, n, passes) for level, (n, passes) in totals.items() if n > 0]
    return min(rated)[1:] if rated else None


def start_level(points, target: float, max_difficulty: int) -> int | None:
    """Where an environment starts, from calibration points ``(difficulty, n, passes, rate)``.

    The in-band level (0 < p < 1) closest to ``target``. When the band is empty: the top level if
    every measured level was solved (p = 1), level 1 if none was (p = 0), else the level just
    above the highest one solved below the easiest unsolved one. None with no results."""
    totals: dict[int, list[int]] = {}
    for difficulty, n, passes, _rate in points:
        counts = totals.setdefault(int(difficulty), [0, 0])
        counts[0] += int(n)
        counts[1] += int(passes)
    rates = {level: passes / n for level, (n, passes) in totals.items() if n > 0}
    if not rates:
        return None
    in_band = [(abs(rate - target), level) for level, rate in rates.items() if 0 < rate < 1]
    if in_band:
        return min(in_band)[1]
    unsolved = [level for level, rate in rates.items() if rate == 0]
    if not unsolved:
        return max_difficulty
    solved_below = [level for level, rate in rates.items() if rate == 1 and level < min(unsolved)]
    return min(max_difficulty, max(solved_below) + 1) if solved_below else 1


class SourcesPool:
    """A fixed list of environments given as seed names or .py files."""

    def __init__(self, envs: list[PoolEnv]):
        self.envs = list(envs)

    @classmethod
    def from_refs(cls, refs: list[str], sandbox) -> SourcesPool:
        from evoenv.sandbox import SandboxedEnv
        from evoenv.sources import resolve

        envs = []
        for ref in refs:
            source = resolve(ref)
            info = SandboxedEnv(source.code, sandbox).info()
            envs.append(PoolEnv(info.name, info.name, source.code, source.origin, info.max_difficulty,
                                info.description))
        return cls(envs)

    def add(self, env: PoolEnv) -> None:
        if all(e.id != env.id for e in self.envs):
            self.envs.append(env)

    def active(self) -> list[PoolEnv]:
        return list(self.envs)

    def advance_epoch(self, max_epochs: int) -> list[str]:
        return []

    def initial_difficulty(self, env: PoolEnv, target: float) -> int | None:
        return None

    def record_calibration(self, env, checkpoint, difficulty, n, passes) -> None:
        pass

    def record_usage(self, env, step, mean_reward) -> None:
        pass


class RegistryPool:
    """Admitted environments of an ``evoenv.registry.Registry``."""

    def __init__(self, registry, run_id=None, max_size: int = 1000):
        self.registry = registry
        self.run_id = run_id
        self.max_size = max_size

    @staticmethod
    def _env(record) -> PoolEnv:
        return PoolEnv(str(record.id), record.name, record.code, record.origin, int(record.max_difficulty),
                       record.description)

    def active(self) -> list[PoolEnv]:
        return [self._env(r) for r in self.registry.list_envs(status="admitted", limit=self.max_size)]

    def advance_epoch(self, max_epochs: int) -> list[str]:
        return [str(i) for i in self.registry.advance_pool_epoch(max_epochs)]

    def initial_difficulty(self, env: PoolEnv, target: float) -> int | None:
        """``start_level`` of the recorded calibration, all checkpoints together."""
        curve = self.registry.calibration_curve(int(env.id))
        return start_level([point for rows in curve.values() for point in rows], target, env.max_difficulty)

    def record_calibration(self, env, checkpoint, difficulty, n, passes) -> None:
        self.registry.record_calibration(int(env.id), checkpoint=checkpoint, difficulty=difficulty, n=n, passes=passes)

    def record_usage(self, env, step, mean_reward) -> None:
        self.registry.record_usage(int(env.id), run_id=self.run_id, step=step, mean_reward=mean_reward)


@dataclass
class EnvState:
    difficulty: int
    recent: deque = field(default_factory=deque)  # bools at the current difficulty
    #: difficulty -> [n, passes] since calibration was last written
    unwritten: dict[int, list[int]] = field(default_factory=dict)
    #: rewards this step, for registry usage
    step_rewards: list[float] = field(default_factory=list)
    #: difficulty -> [n, passes] over the whole run (for metrics)
    total: dict[int, list[int]] = field(default_factory=dict)


class Curriculum:
    def __init__(self, cfg: CurriculumConfig, pool: Pool):
        self.cfg = cfg
        self.pool = pool
        self.envs: dict[str, PoolEnv] = {}
        self.state: dict[str, EnvState] = {}
        self.added: list[PoolEnv] = []  # admitted during training: checkpoints keep them (a sources pool forgets)
        self.dropped: set[str] = set()  # quarantined by the runtime audit: never drawn again
        self.refresh()
        #: rows (code hash, seed, difficulty) of ``cfg.dataset``, served in ``order`` from ``position``
        self.rows = read_dataset(cfg.dataset) if cfg.dataset else []
        self.order: list[int] = []
        self.position = 0
        if self.rows:
            self._check_rows()

    # --- the pool ---

    def refresh(self) -> None:
        """Re-read the pool; new environments start at their calibrated (or the start) difficulty."""
        self.envs = {env.id: env for env in self.pool.active() if env.id not in self.dropped}
        for env in self.envs.values():
            if env.id not in self.state:
                start = self.pool.initial_difficulty(env, self.cfg.target) or self.cfg.start_difficulty
                self.state[env.id] = EnvState(self._clamp(env, start), deque(maxlen=self.cfg.window))

    def add(self, env: PoolEnv) -> None:
        """An environment admitted during training joins the pool now."""
        if all(e.id != env.id for e in self.added):
            self.added.append(env)
        if hasattr(self.pool, "add"):
            self.pool.add(env)
        self.refresh()

    def drop(self, env_id: str) -> None:
        """Never draw this environment again (the runtime audit quarantined it)."""
        self.dropped.add(env_id)
        self.envs.pop(env_id, None)
        self.state.pop(env_id, None)  # its rollouts still in flight are not counted

    def rotate(self, step: int) -> list[str]:
        """Advance the pool epoch every ``pool_epoch_steps`` steps; returns retired ids."""
        every = self.cfg.pool_epoch_steps
        if not every or step == 0 or step % every:
            return []
        retired = self.pool.advance_epoch(self.cfg.max_pool_epochs)
        self.refresh()
        return retired

    # --- sampling ---

    @staticmethod
    def _clamp(env: PoolEnv, difficulty: int) -> int:
        return max(1, min(env.max_difficulty, int(difficulty)))

    def pass_rate(self, env_id: str) -> float | None:
        """Recent pass rate at the current difficulty; None until ``min_samples`` results."""
        recent = self.state[env_id].recent
        if len(recent) < self.cfg.min_samples:
            return None
        return sum(recent) / len(recent)

    def weight(self, env_id: str) -> float:
        if self.cfg.difficulty == "uniform":
            return 1.0
        rate = self.pass_rate(env_id)
        if rate is None:
            return 1.0
        q = math.exp(-((rate - self.cfg.target) ** 2) / (2 * self.cfg.sigma ** 2))
        return max(self.cfg.min_weight, q)

    def _draw(self, candidates: list[PoolEnv], rng: random.Random) -> PoolEnv:
        return rng.choices(candidates, weights=[self.weight(e.id) for e in candidates], k=1)[0]

    def _check_rows(self) -> None:
        by_hash = {code_sha256(e.code) for e in self.envs.values()}
        for i, (sha, _seed, _difficulty) in enumerate(self.rows):
            if sha not in by_hash:
                raise RuntimeError(f"curriculum.dataset {self.cfg.dataset}: row {i} is from environment code "
                                   f"{sha[:12]}, which is not in the training pool")

    def _sample_rows(self, n_groups: int, rng: random.Random) -> list[Task]:
        by_hash = {code_sha256(e.code): e for e in self.envs.values()}
        tasks = []
        while len(tasks) < n_groups:
            if self.position >= len(self.order):  # a new epoch over the dataset
                self.order = list(range(len(self.rows)))
                rng.shuffle(self.order)
                self.position = 0
            sha, seed, difficulty = self.rows[self.order[self.position]]
            self.position += 1
            env = by_hash.get(sha)
            if env is None:
                raise RuntimeError(f"curriculum.dataset {self.cfg.dataset}: environment {sha[:12]} left the pool "
                                   "(set pool_epoch_steps = 0 to train on a fixed dataset)")
            tasks.append(Task(env, self._clamp(env, difficulty), seed))
        return tasks

    def sample(self, n_groups: int, rng: random.Random) -> list[Task]:
        if not self.envs:
            raise RuntimeError("the training pool is empty: every environment was rotated out or none was admitted")
        if self.rows:
            return self._sample_rows(n_groups, rng)
        envs = sorted(self.envs.values(), key=lambda e: e.id)
        seeds = [e for e in envs if e.origin == "seed"]
        n_seed = math.ceil(self.cfg.seed_floor * n_groups) if seeds and len(seeds) < len(envs) else 0
        chosen = [self._draw(seeds, rng) for _ in range(n_seed)]
        chosen += [self._draw(envs, rng) for _ in range(n_groups - n_seed)]
        rng.shuffle(chosen)
        if self.cfg.difficulty == "uniform":
            return [Task(env, rng.randint(1, env.max_difficulty)) for env in chosen]
        return [Task(env, self.state[env.id].difficulty) for env in chosen]

    # --- feedback ---

    def update(self, results: list[tuple[Task, float]]) -> dict[str, int]:
        """Record rewards; move difficulties whose pass rate left the band. Returns the changes."""
        touched = set()
        for task, reward in results:
            state = self.state.get(task.env.id)
            if state is None:  # rotated out while its rollouts were in flight
                continue
            passed = reward >= self.cfg.pass_threshold
            for counts in (state.unwritten, state.total):
                n_passes = counts.setdefault(task.difficulty, [0, 0])
                n_passes[0] += 1
                n_passes[1] += int(passed)
            state.step_rewards.append(reward)
            if task.difficulty == state.difficulty:
                state.recent.append(passed)
                touched.add(task.env.id)
        changes = {}
        if self.cfg.difficulty != "band" or self.rows:  # levels come from the draw or the rows, not the band
            return changes
        for env_id in touched:
            rate, state, env = self.pass_rate(env_id), self.state[env_id], self.envs[env_id]
            if rate is None:
                continue
            if rate > self.cfg.band_high and state.difficulty < env.max_difficulty:
                state.difficulty += 1
            elif rate < self.cfg.band_low and state.difficulty > 1:
                state.difficulty -= 1
            else:
                continue
            state.recent.clear()
            changes[env_id] = state.difficulty
        return changes

    def write_usage(self, step: int) -> dict[str, float]:
        """Mean reward per environment used this step, written to the pool (registry usage)."""
        used = {}
        for env_id, state in self.state.items():
            if state.step_rewards and env_id in self.envs:
                used[env_id] = sum(state.step_rewards) / len(state.step_rewards)
                self.pool.record_usage(self.envs[env_id], step, used[env_id])
            state.step_rewards = []
        return used

    def write_calibration(self, checkpoint: str) -> dict[str, dict[int, tuple[int, int]]]:
        """Pass counts per environment and difficulty since the last write, recorded for ``checkpoint``."""
        written: dict[str, dict[int, tuple[int, int]]] = {}
        for env_id, state in self.state.items():
            if env_id not in self.envs:
                continue
            for difficulty, (n, passes) in sorted(state.unwritten.items()):
                self.pool.record_calibration(self.envs[env_id], checkpoint, difficulty, n, passes)
                written.setdefault(env_id, {})[difficulty] = (n, passes)
            state.unwritten = {}
        return written

    def summary(self) -> dict[str, dict]:
        out = {}
        for env_id, env in self.envs.items():
            state = self.state[env_id]
            out[env.name] = {"difficulty": state.difficulty, "recent_pass_rate": self.pass_rate(env_id),
                             "weight": round(self.weight(env_id), 4)}
        return out

    # --- checkpointing ---

    #: the state_dict key of the dataset position (environment ids are registry ids or names)
    DATASET_KEY = "_dataset"

    def state_dict(self) -> dict:
        out = {env_id: {"difficulty": s.difficulty, "recent": list(s.recent),
                        "unwritten": {str(d): c for d, c in s.unwritten.items()},
                        "total": {str(d): c for d, c in s.total.items()}}
               for env_id, s in self.state.items()}
        if self.rows:
            out[self.DATASET_KEY] = {"order": list(self.order), "position": self.position}
        return out

    def load_state_dict(self, data: dict) -> None:
        data = dict(data)
        dataset = data.pop(self.DATASET_KEY, None)
        if dataset is not None:
            self.order, self.position = list(dataset["order"]), int(dataset["position"])
        for env_id, s in data.items():
            self.state[env_id] = EnvState(
                int(s["difficulty"]), deque(s["recent"], maxlen=self.cfg.window),
                {int(d): list(c) for d, c in s["unwritten"].items()},
                [], {int(d): list(c) for d, c in s["total"].items()})
        self.refresh()


def read_dataset(path: str) -> list[tuple[str, int, int]]:
    """``(code_sha256, seed, difficulty)`` per row of an exported dataset: ``evoenv export`` JSONL
    (``metadata``) or verl parquet (``extra_info``). Errors name the file and the row."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"curriculum.dataset: no file {path}")
    if file.suffix == ".parquet":
        import pyarrow.parquet as pq

        metas = [row.get("extra_info") for row in pq.read_table(file).to_pylist()]
    else:
        metas = []
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    metas.append(json.loads(line).get("metadata"))
                except (json.JSONDecodeError, AttributeError) as exc:
                    raise ValueError(f"curriculum.dataset {path}, line {number}: not a JSON row ({exc})") from None
    rows = []
    for i, meta in enumerate(metas):
        try:
            if isinstance(meta, str):  # schemas that cannot nest store the metadata as JSON text
                meta = json.loads(meta)
            rows.append((str(meta["code_sha256"]), int(meta["seed"]), int(meta["difficulty"])))
        except (TypeError, KeyError, ValueError) as exc:  # JSONDecodeError is a ValueError
            raise ValueError(f"curriculum.dataset {path}, row {i}: metadata lacks code_sha256/seed/difficulty "
                             f"({exc!r})") from None
    if not rows:
        raise ValueError(f"curriculum.dataset {path}: no rows")
    return rows
