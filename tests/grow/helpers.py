"""Set-up shared by the grow tests: a registry holding the ten admitted seeds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def seed_registry(url: str, sandbox) -> None:
    """A fresh registry at ``url`` with the seeds admitted the way ``evoenv init`` admits them
    (mechanical stages and novelty; review and calibration need a policy)."""
    from evoenv.registry import open_registry
    from evoenv.seeding import admit_seeds

    with open_registry(url, upgrade_schema=True) as registry:
        outcomes = admit_seeds(registry, sandbox)
        assert len(outcomes) == 10 and all(o.admitted for o in outcomes), [o.reason for o in outcomes]


def evoenv(args: list[str], db_url: str, cwd: Path, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    # Wide columns: rich wraps help text and tables to the terminal otherwise.
    env = {**os.environ, "EVOENV_DB": db_url, "PYTHONPATH": str(REPO), "EVOENV_SANDBOX": "process",
           "COLUMNS": "400"}
    return subprocess.run([sys.executable, "-m", "evoenv", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, **kwargs)
