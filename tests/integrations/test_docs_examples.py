"""docs/integrations.md's examples run as written: each fenced block after an ``<!-- example: run -->``
marker runs, in order, in one scratch folder (bash blocks with ``evoenv`` from this checkout, Python blocks
in a fresh interpreter), against the seeds (no registry database).

Two substitutions only, for a CPU test machine without downloads: the TRL example's model name becomes a
tiny locally built model, and its ``GRPOConfig`` gets ``use_cpu=True, bf16=False`` and 8-token completions.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "integrations.md"
BLOCK = re.compile(r"<!-- example: run -->\n```(\w+)\n(.*?)```", re.S)


def examples() -> list[tuple[str, str]]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_the_doc_marks_the_verl_trl_and_mix_examples():
    code = "\n".join(body for _lang, body in examples())
    assert "compute_score(\n    data_sources=" in code  # verl's batch manager convention
    assert "GRPOTrainer(" in code and 'load_from_disk("ds")' in code
    assert 'create_dataset("composite"' in code


@pytest.mark.slow
def test_examples_run_as_written(tmp_path):
    from evoenv.train.tiny import CHAT_TEMPLATE, save_tiny

    tiny = save_tiny(tmp_path / "tiny", chat_template=CHAT_TEMPLATE)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "evoenv").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m evoenv "$@"\n')
    (bin_dir / "evoenv").chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "EVOENV_DB": f"sqlite:///{tmp_path / 'absent.db'}"}
    ran = []
    for lang, body in examples():
        if "GRPOTrainer" in body:
            body = body.replace('"Qwen/Qwen2.5-0.5B-Instruct"', repr(str(tiny)))
            body = body.replace("max_completion_length=256", "max_completion_length=8, use_cpu=True, bf16=False")
            assert str(tiny) in body and "use_cpu=True" in body
        command = ["bash", "-euo", "pipefail", "-c", body] if lang == "bash" else [sys.executable, "-c", body]
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{lang} example failed:\n{body}\n--- stderr ---\n{done.stderr[-3000:]}"
        ran.append((lang, done.stdout))
    assert len(ran) == 5
    assert "knapsack" in ran[-1][1] and "sat" in ran[-1][1]
