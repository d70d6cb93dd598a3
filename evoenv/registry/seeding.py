"""Loading the ten seed environments into the registry.

Each seed's name, description and levels come from running its ``describe`` op in
the sandbox; the host never imports environment code. Seeds enter as ``candidate``
with origin ``seed``; ``evoenv init`` then admits them through
``evoenv.admission.seeding.admit_seeds``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evoenv.hashing import code_sha256
from evoenv.registry.database import RegistryError
from evoenv.registry.records import EnvRecord
from evoenv.registry.store import Registry

if TYPE_CHECKING:
    from evoenv.sandbox import Sandbox


@dataclass(frozen=True)
class SeedLoad:
    record: EnvRecord
    new: bool  # False when the registry already had this program


def load_seeds(registry: Registry, sandbox: Sandbox | None = None, on_progress: Callable[[str], None] | None = None) -> list[SeedLoad]:
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

