"""The index of admitted environments that the novelty stage compares a candidate with.

``NoveltyIndex`` keeps the admitted environments' mixed MiniLM vectors (see ``embedding``) in one
float32 matrix, so a query is one matrix-vector product plus a partial sort (about 768 x N flops: a
few ms at 100k environments; see bench/admission.py), with their behavioural fingerprints (sha256 of
the prompts and references on the canonical seeds), and, for behaviour comparisons, their code and
canonical renders. Built from a registry or from source files (the seeds); grow, training and
``evoenv validate`` share one per run. The stage itself is ``novelty.check_novelty``.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from evoenv.admission.config import AdmissionConfig
from evoenv.admission.embedding import DIM, embed_environments, model_key
from evoenv.hashing import code_sha256
from evoenv.sandbox import Rendered, Sandbox, SandboxedEnv


class _AdmittedRecord(Protocol):
    @property
    def id(self) -> Hashable: ...
    @property
    def name(self) -> str: ...


class _Observed(Protocol):
    @property
    def embedding(self) -> Any: ...
    @property
    def fingerprint(self) -> str | None: ...
    @property
    def canonical(self) -> list[Rendered]: ...


class _AdmittedCandidate(Protocol):
    """What ``NoveltyIndex.add_admitted`` reads of an admitted ``Candidate`` (a structural type, so the
    index does not depend on the stages' candidate module, which refers to the index)."""

    @property
    def code(self) -> str: ...
    @property
    def code_sha256(self) -> str: ...
    @property
    def observed(self) -> _Observed: ...


def fingerprint(renders: list[Rendered], max_difficulty: int, config: AdmissionConfig) -> str:
    """sha256 of prompts and references over the canonical seeds at low, middle and max difficulty."""
    seeds = set(range(config.seed_base, config.seed_base + config.fingerprint_seeds))
    levels = set(config.difficulties(max_difficulty))
    rows = sorted([r.seed, r.difficulty, r.prompt, r.reference] for r in renders
                  if r.seed in seeds and r.difficulty in levels)
    body = json.dumps([max_difficulty, rows], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def canonical_renders(code: str, sandbox: Sandbox, config: AdmissionConfig) -> tuple[int, list[Rendered]]:
    """max_difficulty and the renders at ``config.canonical_pairs`` of an admitted program, from the disk cache
    (keyed by code hash and seeds; renders are deterministic, L3 checked it) or rendered in the sandbox.
    Raises what ``SandboxedEnv`` raises when the program no longer renders."""
    from evoenv.paths import cache_dir

    key = hashlib.sha256(json.dumps(["renders-2", code_sha256(code), config.seed_base, config.fingerprint_seeds]).encode()).hexdigest()
    path = cache_dir() / "renders" / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        renders = [Rendered(int(s), int(d), dict(i), str(p), str(r)) for s, d, i, p, r in data["renders"]]
        if renders and isinstance(data["max_difficulty"], int):
            return data["max_difficulty"], renders
    except (OSError, ValueError, KeyError, TypeError):
        pass
    env = SandboxedEnv(code, sandbox)
    max_difficulty = env.info().max_difficulty
    renders = env.render_many(config.canonical_pairs(max_difficulty))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"max_difficulty": max_difficulty, "renders": [
            [r.seed, r.difficulty, r.instance, r.prompt, r.reference] for r in renders]}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full cache only costs speed
    return max_difficulty, renders


def canonical_prompt(renders: list[Rendered], max_difficulty: int, config: AdmissionConfig) -> str:
    """The prompt embedded for novelty: the first seed at the middle difficulty."""
    middle = config.difficulties(max_difficulty)[len(config.difficulties(max_difficulty)) // 2]
    for r in renders:
        if r.seed == config.seed_base and r.difficulty == middle:
            return r.prompt
    return renders[0].prompt


@dataclass
class Neighbour:
    key: Hashable  # registry id, or a seed name for an index built from source files
    name: str
    similarity: float
    prompt_similarity: float
    code_similarity: float

    def as_dict(self) -> dict:
        return {"id": self.key, "name": self.name, "similarity": round(self.similarity, 4),
                "prompt_similarity": round(self.prompt_similarity, 4),
                "code_similarity": round(self.code_similarity, 4)}


class NoveltyIndex:
    """Admitted environments' mixed vectors and fingerprints. Thread-safe for add + query."""

    def __init__(self, lam: float = 0.5, name_of: Callable[[Hashable], str] | None = None,
                 find_fingerprint: Callable[[str], tuple[Hashable, str] | None] | None = None,
                 find_key_of_hash: Callable[[str], Hashable | None] | None = None,
                 code_of: Callable[[Hashable], str] | None = None):
        self.lam = lam
        self.model = model_key(lam)
        self.keys: list[Hashable] = []
        self._names: dict[Hashable, str] = {}
        self._matrix = np.zeros((0, 2 * DIM), dtype=np.float32)
        self._pending: list[np.ndarray] = []
        self._fingerprints: dict[str, tuple[Hashable, str]] = {}
        self._name_of = name_of
        self._find_fingerprint = find_fingerprint
        self._row: dict[Hashable, int] = {}
        self._key_of_hash: dict[str, Hashable] = {}  # code_sha256 -> key, to skip a candidate's own entry
        self._find_key_of_hash = find_key_of_hash
        self._codes: dict[Hashable, str] = {}
        self._code_of = code_of
        self._renders: dict[Hashable, list[Rendered]] = {}  # canonical renders, for behaviour comparisons
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, key: Hashable, name: str, vector: np.ndarray, fp: str | None = None,
            code_sha256: str | None = None, code: str | None = None,
            renders: list[Rendered] | None = None) -> None:
        with self._lock:
            if code is not None:
                self._codes[key] = code
            if renders:
                self._renders[key] = list(renders)
            self._row[key] = len(self.keys)
            self.keys.append(key)
            self._names[key] = name
            if code_sha256:
                self._key_of_hash[code_sha256] = key
            self._pending.append(np.asarray(vector, dtype=np.float32).reshape(1, -1))
            if fp:
                self._fingerprints[fp] = (key, name)

    def add_admitted(self, record: _AdmittedRecord, candidate: _AdmittedCandidate) -> None:
        """Add an environment just admitted (its registry record and the candidate that passed), so
        later candidates of the same run are compared with it."""
        observed = candidate.observed
        if observed.embedding is not None:
            self.add(record.id, record.name, observed.embedding, observed.fingerprint,
                     code_sha256=candidate.code_sha256, code=candidate.code, renders=observed.canonical)

    def add_many(self, keys: list[Hashable], matrix: np.ndarray) -> None:
        """Many entries at once (names are looked up with ``name_of`` when a query shows them)."""
        with self._lock:
            self._row.update((key, len(self.keys) + i) for i, key in enumerate(keys))
            self.keys.extend(keys)
            self._pending.append(np.asarray(matrix, dtype=np.float32).reshape(len(keys), -1))

    @property
    def matrix(self) -> np.ndarray:
        with self._lock:
            if self._pending:
                self._matrix = np.vstack([self._matrix, *self._pending])
                self._pending = []
            return self._matrix

    def name(self, key: Hashable) -> str:
        if key not in self._names and self._name_of is not None:
            self._names[key] = self._name_of(key)
        return self._names.get(key, str(key))

    def key_of_hash(self, code_sha256: str) -> Hashable | None:
        """The entry holding exactly this code, if any (a candidate is not compared with itself)."""
        key = self._key_of_hash.get(code_sha256)
        if key is None and self._find_key_of_hash is not None:
            key = self._find_key_of_hash(code_sha256)
        return key

    def nearest(self, vector: np.ndarray, k: int = 5, exclude: Hashable | None = None) -> list[Neighbour]:
        matrix = self.matrix
        if not len(matrix):
            return []
        vector = np.asarray(vector, dtype=np.float32)
        sims = matrix @ vector
        if exclude is not None and exclude in self._row:
            sims[self._row[exclude]] = -np.inf
        k = min(k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top])]
        half = DIM
        out = []
        for i in top:
            if not np.isfinite(sims[i]):
                continue
            prompt_sim = float(matrix[i, :half] @ vector[:half]) / self.lam if self.lam else 0.0
            code_sim = float(matrix[i, half:] @ vector[half:]) / (1 - self.lam) if self.lam < 1 else 0.0
            out.append(Neighbour(self.keys[i], self.name(self.keys[i]), float(sims[i]), prompt_sim, code_sim))
        return out

    def behaviour(self, key: Hashable, sandbox: Sandbox, config: AdmissionConfig) -> tuple[str, list[Rendered]] | None:
        """An entry's code and canonical renders (rendered in the sandbox on first use, then kept); None
        when its code is unknown or no longer renders."""
        code = self._codes.get(key)
        if code is None and self._code_of is not None:
            code = self._code_of(key)
            with self._lock:
                self._codes[key] = code
        if code is None:
            return None
        renders = self._renders.get(key)
        if renders is None:
            try:
                renders = canonical_renders(code, sandbox, config)[1]
            except Exception:  # an entry that no longer renders has no behaviour to compare
                return None
            with self._lock:
                self._renders[key] = renders
        return code, renders

    def find_fingerprint(self, fp: str) -> tuple[Hashable, str] | None:
        with self._lock:
            hit = self._fingerprints.get(fp)
        if hit is None and self._find_fingerprint is not None:
            hit = self._find_fingerprint(fp)
        return hit

    # --- builders

    @classmethod
    def from_registry(cls, registry, lam: float = 0.5) -> NoveltyIndex:
        """The admitted environments of a registry (``evoenv.registry.Registry``)."""

        def name_of(key):
            return registry.get(key).name

        def lookup(fp):
            record = registry.find_fingerprint(fp)
            return None if record is None else (record.id, record.name)

        def key_of_hash(sha):
            record = registry.by_hash(sha)
            return None if record is None else record.id

        def code_of(key):
            return registry.get(key).code

        index = cls(lam, name_of=name_of, find_fingerprint=lookup, find_key_of_hash=key_of_hash, code_of=code_of)
        ids, matrix = registry.admitted_embeddings(index.model)
        if len(ids):
            index.add_many(list(ids), matrix)
        return index

    @classmethod
    def from_sources(cls, sources: list[tuple[str, str]], sandbox: Sandbox,
                     config: AdmissionConfig | None = None) -> NoveltyIndex:
        """An index of environments given as (name, code), e.g. the seeds when there is no registry."""
        config = config or AdmissionConfig()
        index = cls(config.novelty_lambda)
        items, rows = [], []
        for name, code in sources:
            max_difficulty, renders = canonical_renders(code, sandbox, config)
            rows.append((name, fingerprint(renders, max_difficulty, config), code_sha256(code), code, renders))
            items.append((canonical_prompt(renders, max_difficulty, config), code))
        vectors = embed_environments(items, config.novelty_lambda, config.embed_threads)
        for (name, fp, sha, code, renders), vector in zip(rows, vectors):
            index.add(name, name, vector, fp, code_sha256=sha, code=code, renders=renders)
        return index
