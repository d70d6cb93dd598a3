"""``GrowConfig``: every knob of a grow run. A TOML or YAML file fills it; CLI flags override."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evoenv.configfile import ConfigError, ConfigFileError, build_dataclass, read_config_file
from evoenv.defaults import POOL_MAX_EPOCHS
from evoenv.policy.base import Sampling

if TYPE_CHECKING:  # imported late: it loads every admission stage
    from evoenv.admission import AdmissionConfig


class GrowError(RuntimeError):
    """A grow run cannot start or resume; the message says what to fix."""


@dataclass
class GrowConfig:
    policy: str | None = None
    #: passed to the backend's constructor, e.g. {"concurrency": 16, "timeout": 600}
    policy_options: dict[str, Any] = field(default_factory=dict)
    rounds: int = 1
    batch: int = 4
    #: repairs per failing candidate (0: none); a repair gets the failing stage's reason
    repairs: int = 0
    #: share of proposals that cross two parents over; the rest mutate one
    crossover_rate: float = 0.5
    parents_per_prompt: int = 2
    seed: int = 0
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 4096
    #: candidates admitted at once (threads; each drives the sandbox)
    admission_workers: int = 2
    sandbox: str | None = None
    sandbox_workers: int | None = None
    #: where sandbox jobs run: "local", or "ray" / "ray=ADDRESS" (one warm pool per node; evoenv.cluster)
    executor: str = "local"
    pool_max_epochs: int = POOL_MAX_EPOCHS
    seed_floor: float = 0.2
    #: overrides of evoenv.admission.config.AdmissionConfig fields
    admission: dict[str, Any] = field(default_factory=dict)
    state_dir: str = ".evoenv/runs"

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> GrowConfig:
        """The settings in ``data``, each checked against its field's type; ``where`` names the source."""
        try:
            return build_dataclass(cls, data)
        except ConfigError as exc:
            raise GrowError(f"{where}: {exc}") from None

    def validate(self) -> None:
        checks = [
            (self.rounds >= 1, f"rounds must be >= 1, got {self.rounds}"),
            (self.batch >= 1, f"batch must be >= 1, got {self.batch}"),
            (self.repairs >= 0, f"repairs must be >= 0, got {self.repairs}"),
            (0.0 <= self.crossover_rate <= 1.0, f"crossover_rate must be within [0, 1], got {self.crossover_rate}"),
            (self.parents_per_prompt in (1, 2), f"parents_per_prompt must be 1 or 2, got {self.parents_per_prompt}"),
            (self.admission_workers >= 1, f"admission_workers must be >= 1, got {self.admission_workers}"),
            (self.max_tokens >= 1, f"max_tokens must be >= 1, got {self.max_tokens}"),
            (self.pool_max_epochs >= 1, f"pool_max_epochs must be >= 1, got {self.pool_max_epochs}"),
            (0.0 <= self.seed_floor <= 1.0, f"seed_floor must be within [0, 1], got {self.seed_floor}"),
        ]
        for ok, message in checks:
            if not ok:
                raise GrowError(message)
        from evoenv.cluster import ExecutorError, parse_executor

        try:
            parse_executor(self.executor)
        except ExecutorError as exc:
            raise GrowError(str(exc)) from None
        self.admission_config()

    def admission_config(self) -> AdmissionConfig:
        """The admission settings of the run: ``admission``'s overrides, the pool's knobs from here."""
        from evoenv.intake import admission_config

        try:
            config = admission_config(self.admission, where="admission settings")
        except ConfigError as exc:
            raise GrowError(str(exc)) from None
        config.pool_max_epochs, config.seed_floor = self.pool_max_epochs, self.seed_floor
        return config

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sampling(self) -> Sampling:
        """How the generator samples, for proposals and repairs alike."""
        return Sampling(temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens)


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The settings in a TOML or YAML file; a ``[grow]`` table, when present, holds them."""
    try:
        return read_config_file(Path(path), section="grow")
    except ConfigFileError as exc:
        raise GrowError(str(exc)) from None
