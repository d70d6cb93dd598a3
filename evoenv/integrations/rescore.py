"""Rescore answers to exported rows, through the sandbox, from the registry's code.

Rows are grouped by code hash so each environment costs one sandbox job to
re-create missing instances and one to score every answer. Instances are cached
per process: a training run rescores the same rows many times.
"""

from __future__ import annotations

import atexit
import threading
from collections import OrderedDict, defaultdict

from evoenv.integrations.catalog import Catalog
from evoenv.integrations.rows import RowMeta
from evoenv.sandbox import Sandbox, SandboxedEnv, SandboxError, open_sandbox

_INSTANCE_CACHE_SIZE = 50_000


class RowScorer:
    """Scores ``(metadata, answer)`` pairs. Thread-safe; one per process is enough."""

    def __init__(self, catalog: Catalog | None = None, sandbox: Sandbox | None = None):
        self.catalog = catalog or Catalog()
        self._sandbox = sandbox
        self._owns_sandbox = sandbox is None
        self._instances: OrderedDict[tuple[str, int, int], dict] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def sandbox(self) -> Sandbox:
        with self._lock:
            if self._sandbox is None:
                self._sandbox = open_sandbox(workers=2)
            return self._sandbox

    def _instances_for(self, env: SandboxedEnv, sha: str, metas: list[RowMeta]) -> dict[tuple[int, int], dict]:
        wanted = {(m.seed, m.difficulty) for m in metas}
        with self._lock:
            found = {k: self._instances[(sha, *k)] for k in wanted if (sha, *k) in self._instances}
        missing = sorted(wanted - found.keys())
        if missing:
            calls = [{"op": "sample", "seed": s, "difficulty": d} for s, d in missing]
            results = env.run(calls).results
            with self._lock:
                for key, item in zip(missing, results):
                    if item.ok:
                        found[key] = item.value
                        self._instances[(sha, *key)] = item.value
                while len(self._instances) > _INSTANCE_CACHE_SIZE:
                    self._instances.popitem(last=False)
        return found

    def score(self, items: list[tuple[object, str]]) -> list[float]:
        """Scores in [0, 1] for (metadata, extracted answer) pairs.

        Unknown code hashes and malformed metadata raise (a row that cannot be
        rescored is a data error). An environment whose job fails (timeout,
        crash) scores 0 for its rows, as in training.
        """
        metas = [RowMeta.parse(meta) for meta, _ in items]
        groups: dict[str, list[int]] = defaultdict(list)
        for index, meta in enumerate(metas):
            groups[meta.code_sha256].append(index)
        scores = [0.0] * len(items)
        for sha, indices in groups.items():
            entry = self.catalog.by_hash(sha)
            env = SandboxedEnv(entry.code, self.sandbox)
            try:
                instances = self._instances_for(env, sha, [metas[i] for i in indices])
                scorable = [i for i in indices if (metas[i].seed, metas[i].difficulty) in instances]
                calls = [(instances[(metas[i].seed, metas[i].difficulty)], str(items[i][1])) for i in scorable]
                for i, value in zip(scorable, env.score_many(calls)):
                    scores[i] = value
            except SandboxError:
                continue
        return scores

    def close(self) -> None:
        if self._owns_sandbox and self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None


_default: RowScorer | None = None
_default_lock = threading.Lock()


def default_scorer() -> RowScorer:
    """A process-wide scorer (registry at $EVOENV_DB), closed at exit."""
    global _default
    with _default_lock:
        if _default is None:
            _default = RowScorer()
            atexit.register(_default.close)
        return _default
