"""The ten seed environments into the registry: what ``evoenv init`` does.

``load_seeds`` adds each seed as a candidate (origin ``seed``); its name, description and
levels come from its ``describe`` op in the sandbox (the host never imports environment
code). ``admit_seeds`` then admits them through ``evoenv.intake``: the mechanical stages
and novelty against the seeds admitted before them, exactly like a generated candidate;
review and calibration need a policy and are recorded as not run. A seed that fails is
rejected with its reason, loudly: a seed that cannot pass admission is a bug.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from evoenv.admission import AdmissionConfig, AdmissionOutcome
from evoenv.hashing import code_sha256
from evoenv.registry import EnvRecord, Registry, RegistryError
from evoenv.sandbox import Sandbox


@dataclass(frozen=True)
class SeedLoad:
    record: EnvRecord
    new: bool  # False when the registry already had this program


def load_seeds(registry: Registry, sandbox: Sandbox | None = None,
               on_progress: Callable[[str], None] | None = None) -> list[SeedLoad]:
    """Add every seed not yet in the registry; returns one SeedLoad per seed, in seed order."""
    from evoenv.sandbox import EnvCallError, SandboxedEnv, SandboxError, open_sandbox
    from evoenv.sources import list_seeds

    own_sandbox = sandbox is None
    sandbox = sandbox or open_sandbox(workers=1)
    loads = []
    try:
        for source in list_seeds():
            existing = registry.by_hash(code_sha256(source.code))
            if existing is not None:
                loads.append(SeedLoad(existing, False))
            else:
                try:
                    info = SandboxedEnv(source.code, sandbox).info()
                except (SandboxError, EnvCallError) as exc:
                    raise RegistryError(f"seed {source.name} ({source.path}) does not describe itself: {exc}") from None
                record = registry.add_candidate(source.code, name=info.name, description=info.description,
                                                max_difficulty=info.max_difficulty, origin="seed", tags=("seed",))
                loads.append(SeedLoad(record, True))
            if on_progress is not None:
                on_progress(source.name)
    finally:
        if own_sandbox:
            sandbox.close()
    return loads


def admit_seeds(registry: Registry, sandbox: Sandbox | None = None, config: AdmissionConfig | None = None,
                on_progress: Callable[[str, AdmissionOutcome | None], None] | None = None
                ) -> list[AdmissionOutcome]:
    """Admit every seed not yet decided in the registry; returns the outcomes of those it ran."""
    from evoenv.intake import Intake
    from evoenv.sandbox import open_sandbox
    from evoenv.sources import list_seeds

    config = replace(config or AdmissionConfig(), admit_without_policy=True)
    own_sandbox = sandbox is None
    sandbox = sandbox or open_sandbox()
    outcomes = []
    try:
        intake = Intake(registry, sandbox, config, tags=("seed",))
        for source in list_seeds():
            admitted = intake.admit_seed(source.code)
            if admitted is not None:
                outcomes.append(admitted[0])
            if on_progress:
                on_progress(source.name, admitted[0] if admitted else None)
    finally:
        if own_sandbox:
            sandbox.close()
    return outcomes
