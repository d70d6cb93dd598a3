"""Set-up shared by the grow tests: a registry holding the ten admitted seeds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def seed_registry(url: str, sandbox) -> None:
    """A fresh registry at ``url`` with the seeds admitted through the mechanical stages and
    novelty (review and calibration need a policy; seeds are admitted without them)."""
    from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate, admit_candidate
    from evoenv.admission.novelty import NoveltyIndex
    from evoenv.admission.persist import persist
    from evoenv.registry import open_registry
    from evoenv.sources import list_seeds

    config = AdmissionConfig(admit_without_policy=True)
    with open_registry(url, upgrade_schema=True) as registry:
        index = NoveltyIndex.from_registry(registry, config.novelty_lambda)
        ctx = AdmissionContext(sandbox, config, policy=None, novelty=index)
        for source in list_seeds():
            outcome = admit_candidate(Candidate(source.code, name=source.name, origin="seed"), ctx)
            assert outcome.admitted, (source.name, outcome.reason)
            record = persist(registry, outcome, lam=config.novelty_lambda)
            observed = outcome.candidate.observed
            index.add(record.id, record.name, observed.embedding, observed.fingerprint)


def evoenv(args: list[str], db_url: str, cwd: Path, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    # Wide columns: rich wraps help text and tables to the terminal otherwise.
    env = {**os.environ, "EVOENV_DB": db_url, "PYTHONPATH": str(REPO), "EVOENV_SANDBOX": "process",
           "COLUMNS": "400"}
    return subprocess.run([sys.executable, "-m", "evoenv", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, **kwargs)
