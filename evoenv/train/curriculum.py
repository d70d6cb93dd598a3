"""The curriculum: which environment, at which difficulty, for each group.

Each environment has a current difficulty and a window of recent pass/fail
results at that difficulty. When the window's pass rate leaves the target band
(default 0.3-0.7) the difficulty moves one level to bring it back. Environments
are sampled with weight ``exp(-(p - target)^2 / (2 sigma^2))`` (the paper's
difficulty reward Q, target 0.3), never below ``min_weight``; an environment
with too few results yet has weight 1, so new ones get explored. At least
``seed_floor`` of each step's groups come from seed environments.

Environments come from a *pool*: ``RegistryPool`` (admitted environments, pool
rotation and calibration written back to the registry) or ``SourcesPool``
(seed names or .py files given in the config; nothing persisted).
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

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


class SourcesPool:
    """A fixed list of environments given as seed names or .py files."""

    def __init__(self, envs: list[PoolEnv]):
        self.envs = list(envs)

    @classmethod
    def from_refs(cls, refs: list[str], sandbox) -> "SourcesPool":
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
        """The difficulty whose recorded pass rate (all checkpoints together) is closest to the target."""
        curve = self.registry.calibration_curve(int(env.id))
        closest = closest_calibrated_level([point for rows in curve.values() for point in rows], target)
        return closest[0] if closest else None

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
        rate = self.pass_rate(env_id)
        if rate is None:
            return 1.0
        q = math.exp(-((rate - self.cfg.target) ** 2) / (2 * self.cfg.sigma ** 2))
        return max(self.cfg.min_weight, q)

    def _draw(self, candidates: list[PoolEnv], rng: random.Random) -> PoolEnv:
        return rng.choices(candidates, weights=[self.weight(e.id) for e in candidates], k=1)[0]

    def sample(self, n_groups: int, rng: random.Random) -> list[Task]:
        if not self.envs:
            raise RuntimeError("the training pool is empty: every environment was rotated out or none was admitted")
        envs = sorted(self.envs.values(), key=lambda e: e.id)
        seeds = [e for e in envs if e.origin == "seed"]
        n_seed = math.ceil(self.cfg.seed_floor * n_groups) if seeds and len(seeds) < len(envs) else 0
        chosen = [self._draw(seeds, rng) for _ in range(n_seed)]
        chosen += [self._draw(envs, rng) for _ in range(n_groups - n_seed)]
        rng.shuffle(chosen)
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

    def state_dict(self) -> dict:
        return {env_id: {"difficulty": s.difficulty, "recent": list(s.recent),
                         "unwritten": {str(d): c for d, c in s.unwritten.items()},
                         "total": {str(d): c for d, c in s.total.items()}}
                for env_id, s in self.state.items()}

    def load_state_dict(self, data: dict) -> None:
        for env_id, s in data.items():
            self.state[env_id] = EnvState(
                int(s["difficulty"]), deque(s["recent"], maxlen=self.cfg.window),
                {int(d): list(c) for d, c in s["unwritten"].items()},
                [], {int(d): list(c) for d, c in s["total"].items()})
        self.refresh()
