"""``evoenv serve`` refuses bad options with one clear line, before binding anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _serve(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evoenv", "serve", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO), **env})


def test_serve_help_lists_the_options():
    out = _serve("--help")
    assert out.returncode == 0
    for option in ("--host", "--port", "--db", "--admin-token", "--sandbox"):
        assert option in out.stdout


def test_serve_refuses_bad_options(registry_url, tmp_path):
    bad_sandbox = _serve("--db", registry_url, "--sandbox", "vm")
    assert bad_sandbox.returncode == 2 and "--sandbox 'vm' is not a backend" in bad_sandbox.stderr
    short_token = _serve("--db", registry_url, "--admin-token", "abc")
    assert short_token.returncode == 2 and "at least 8 characters" in short_token.stderr
    no_schema = _serve("--db", f"sqlite:///{tmp_path / 'empty.db'}")
    assert no_schema.returncode == 2 and "evoenv db upgrade" in no_schema.stderr
    missing = tmp_path / "missing.db"  # no --db: $EVOENV_DB names the registry
    from_env = _serve(EVOENV_DB=f"sqlite:///{missing}")
    assert from_env.returncode == 2 and f"no registry database at {missing}" in from_env.stderr
    bad_port = _serve("--port", "70000")
    assert bad_port.returncode == 2 and "65535" in bad_port.stderr
