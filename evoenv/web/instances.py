"""Sample instances for the viewer. Environment code runs only in the sandbox,
never in the server process; renders are cached by (code hash, seed, difficulty)
since the contract makes them deterministic."""

from __future__ import annotations

import threading
from collections import OrderedDict

from evoenv.sandbox import EnvCallError, Limits, Sandbox, SandboxedEnv, SandboxError, open_sandbox

# The platform's one set of job limits: a job must not tell a page view from admission or training.
VIEW_LIMITS = Limits.for_jobs()
MAX_PROMPT_CHARS = 200_000


class InstanceError(RuntimeError):
    """The environment could not render this instance; the message says why."""


class InstanceSampler:
    def __init__(self, sandbox: Sandbox | str | None = None, cache_size: int = 512):
        self._sandbox = sandbox if not isinstance(sandbox, str) and sandbox is not None else None
        self._kind = sandbox if isinstance(sandbox, str) else None
        self._owned = False
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, dict] = OrderedDict()
        self._cache_size = cache_size

    @property
    def sandbox(self) -> Sandbox:
        with self._lock:
            if self._sandbox is None:  # started on first use: list pages never need it
                self._sandbox = open_sandbox(self._kind, workers=2)
                self._owned = True
            return self._sandbox

    def render(self, code: str, code_sha: str, seed: int, difficulty: int) -> dict:
        key = (code_sha, seed, difficulty)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        try:
            item = SandboxedEnv(code, self.sandbox, VIEW_LIMITS).render(seed, difficulty)
        except EnvCallError as exc:
            raise InstanceError(f"the environment raised while rendering: {exc}") from None
        except SandboxError as exc:
            raise InstanceError(f"the sandbox job did not complete ({exc.result.outcome}): "
                                f"{exc.result.detail or 'no detail'}") from None
        value = {"seed": seed, "difficulty": difficulty, "instance": item.instance,
                 "prompt": item.prompt[:MAX_PROMPT_CHARS], "reference": item.reference[:MAX_PROMPT_CHARS]}
        with self._lock:
            self._cache[key] = value
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return value

    def close(self) -> None:
        with self._lock:
            if self._owned and self._sandbox is not None:
                self._sandbox.close()
                self._sandbox = None
                self._owned = False
