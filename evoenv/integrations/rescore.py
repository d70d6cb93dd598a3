"""Rescore answers to exported rows, through the sandbox, from the registry's code.

Rows are grouped by code hash so each environment costs one sandbox job to
re-create missing instances and one to score every answer. Instances are cached
per process: a training run rescores the same rows many times.

Rescoring is audited like training (``evoenv.audit``): for a share of instances, and for every job
with a single answer, a known-wrong answer is scored in the same job. An environment that pays for
one is quarantined in the registry with the evidence; the rows of a quarantined environment score 0
and the scorer says why (``RowScorer.refused``, and a warning in the log).
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import OrderedDict, defaultdict

from evoenv.audit import DEFAULT_AUDIT_SHARE, audited_batch, quarantine_in_registry
from evoenv.integrations.catalog import Catalog
from evoenv.integrations.rows import RowMeta
from evoenv.sandbox import Sandbox, SandboxedEnv, SandboxError, open_sandbox, protocol

_INSTANCE_CACHE_SIZE = 50_000
log = logging.getLogger("evoenv.integrations.rescore")


class RowScorer:
    """Scores ``(metadata, answer)`` pairs. Thread-safe; one per process is enough."""

    def __init__(self, catalog: Catalog | None = None, sandbox: Sandbox | None = None,
                 audit_share: float = DEFAULT_AUDIT_SHARE):
        self.catalog = catalog or Catalog()
        self._sandbox = sandbox
        self._owns_sandbox = sandbox is None
        #: (code hash, seed, difficulty) -> the rendered instance and its reference
        self._instances: OrderedDict[tuple[str, int, int], dict] = OrderedDict()
        self._lock = threading.Lock()
        self.audit_share = audit_share
        #: code hash -> why its rows score 0 (the environment is quarantined)
        self.refused: dict[str, str] = {}

    def _refuse(self, sha: str, message: str) -> None:
        with self._lock:
            first = sha not in self.refused
            self.refused[sha] = message
        if first:
            log.warning("%s", message)

    def _quarantined(self, entry) -> str | None:
        """Why an environment's rows must not be rescored, or None."""
        if entry.code_sha256 in self.refused:
            return self.refused[entry.code_sha256]
        registry = self.catalog.registry if entry.env_id is not None else None
        found = registry.quarantine_of(entry.env_id) if registry is not None else None
        if found is None:
            return None
        return (f"environment #{entry.env_id} {entry.name!r} is quarantined ({found['reason']}); "
                "its rows score 0 and are not rescored")

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
            # render, as training does (a job that only samples would tell it is being rescored)
            calls = [protocol.render(s, d) for s, d in missing]
            results = env.run(calls).results
            with self._lock:
                for key, item in zip(missing, results):
                    if item.ok and isinstance(item.value, dict) and isinstance(item.value.get("instance"), dict):
                        reference = item.value.get("reference")
                        value = {"instance": item.value["instance"],
                                 "reference": reference if isinstance(reference, str) else None}
                        found[key] = value
                        self._instances[(sha, *key)] = value
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
            refused = self._quarantined(entry)
            if refused is not None:
                self._refuse(sha, refused)
                continue
            env = SandboxedEnv(entry.code, self.sandbox)
            try:
                instances = self._instances_for(env, sha, [metas[i] for i in indices])
                scorable = [i for i in indices if (metas[i].seed, metas[i].difficulty) in instances]
                if not scorable:
                    continue
                rendered = [instances[(metas[i].seed, metas[i].difficulty)] for i in scorable]
                batch = audited_batch([r["instance"] for r in rendered], [str(items[i][1]) for i in scorable],
                                      [r["reference"] for r in rendered], self.audit_share)
                real, found = batch.split(env.run(batch.calls).results, [metas[i].seed for i in scorable],
                                          [metas[i].difficulty for i in scorable], [r["instance"] for r in rendered])
            except SandboxError:
                continue
            if found:
                self._caught(entry, found[0])
                continue
            for i, result in zip(scorable, real):
                scores[i] = float(result.value) if result.ok else 0.0
        return scores

    def _caught(self, entry, finding) -> None:
        """The audit caught this environment paying for a known-wrong answer: quarantine it."""
        registry = self.catalog.registry if entry.env_id is not None else None
        quarantine_in_registry(registry, entry.env_id, finding, "rescoring")
        self._refuse(entry.code_sha256, f"environment {entry.name!r} quarantined: {finding.reason()}; "
                                        "its rows score 0 and are not rescored")

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
