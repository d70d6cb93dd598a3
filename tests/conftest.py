"""Shared fixtures. Heavier backends (Docker, PostgreSQL, Chromium) skip with a
reason on a laptop that lacks them, but FAIL under CI (``CI=true``), where
``.ci/run`` installs and starts all of them: nothing skips to go green."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from evoenv.sandbox import SandboxUnavailable, open_sandbox
from evoenv.sandbox.docker_backend import docker_client
from evoenv.sources import SEED_NAMES, load_seed

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARTIFACTS = Path(os.environ.get("EVOENV_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"))


def require(available: bool, reason: str) -> None:
    """Skip locally, fail in CI, when a real backend is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI must provide it; see .ci/run)")
    pytest.skip(reason)


def docker_available() -> tuple[bool, str]:
    if shutil.which("docker") is None:
        return False, "docker CLI not installed"
    try:
        docker_client(timeout=5)  # the pool's own check: connect and ping
    except SandboxUnavailable as exc:
        return False, str(exc)
    return True, ""


@pytest.fixture(scope="session")
def sandbox():
    """One process-backend pool for the whole session."""
    with open_sandbox("process", workers=2) as pool:
        yield pool


@pytest.fixture(scope="session")
def seed_sources():
    return {name: load_seed(name).code for name in SEED_NAMES}


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
