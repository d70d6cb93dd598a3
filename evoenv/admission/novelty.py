"""Novelty: reject a candidate too close to an admitted environment.

Two tests, both against the admitted pool:

- a behavioural fingerprint (sha256 of the prompts and references on the
  canonical seeds and difficulties) catches a renamed or reformatted copy
  exactly, whatever its code looks like;
- MiniLM embeddings of the rendered prompt and the code, mixed with lambda
  (see ``embedding``): reject at similarity >= threshold, and store the
  nearest neighbours with the result.

``NoveltyIndex`` keeps the admitted vectors in one float32 matrix, so a query
is one matrix-vector product plus a partial sort (about 768 x N flops: a few
ms at 100k environments; see bench/admission.py).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Callable, Hashable

import numpy as np

from evoenv.admission.candidate import AdmissionContext, Candidate, failed, not_run, passed, timed
from evoenv.admission.config import AdmissionConfig
from evoenv.admission.embedding import DIM, embed_environments, model_key
from evoenv.hashing import code_sha256
from evoenv.sandbox import EnvCallError, Rendered, Sandbox, SandboxedEnv, SandboxError


def fingerprint(renders: list[Rendered], max_difficulty: int, config: AdmissionConfig) -> str:
    """sha256 of prompts and references over the canonical seeds at low, middle and max difficulty."""
    seeds = set(range(config.seed_base, config.seed_base + config.fingerprint_seeds))
    levels = set(config.difficulties(max_difficulty))
    rows = sorted([r.seed, r.difficulty, r.prompt, r.reference] for r in renders
                  if r.seed in seeds and r.difficulty in levels)
    body = json.dumps([max_difficulty, rows], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


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
                 find_key_of_hash: Callable[[str], Hashable | None] | None = None):
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
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, key: Hashable, name: str, vector: np.ndarray, fp: str | None = None,
            code_sha256: str | None = None) -> None:
        with self._lock:
            self._row[key] = len(self.keys)
            self.keys.append(key)
            self._names[key] = name
            if code_sha256:
                self._key_of_hash[code_sha256] = key
            self._pending.append(np.asarray(vector, dtype=np.float32).reshape(1, -1))
            if fp:
                self._fingerprints[fp] = (key, name)

    def add_admitted(self, record, candidate: Candidate) -> None:
        """Add an environment just admitted (its registry record and the candidate that passed), so
        later candidates of the same run are compared with it."""
        observed = candidate.observed
        if observed.embedding is not None:
            self.add(record.id, record.name, observed.embedding, observed.fingerprint,
                     code_sha256=candidate.code_sha256)

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

    def find_fingerprint(self, fp: str) -> tuple[Hashable, str] | None:
        with self._lock:
            hit = self._fingerprints.get(fp)
        if hit is None and self._find_fingerprint is not None:
            hit = self._find_fingerprint(fp)
        return hit

    # --- builders

    @classmethod
    def from_registry(cls, registry, lam: float = 0.5) -> "NoveltyIndex":
        """The admitted environments of a registry (``evoenv.registry.Registry``)."""

        def name_of(key):
            return registry.get(key).name

        def lookup(fp):
            record = registry.find_fingerprint(fp)
            return None if record is None else (record.id, record.name)

        def key_of_hash(sha):
            record = registry.by_hash(sha)
            return None if record is None else record.id

        index = cls(lam, name_of=name_of, find_fingerprint=lookup, find_key_of_hash=key_of_hash)
        ids, matrix = registry.admitted_embeddings(index.model)
        if len(ids):
            index.add_many(list(ids), matrix)
        return index

    @classmethod
    def from_sources(cls, sources: list[tuple[str, str]], sandbox: Sandbox,
                     config: AdmissionConfig | None = None) -> "NoveltyIndex":
        """An index of environments given as (name, code), e.g. the seeds when there is no registry."""
        config = config or AdmissionConfig()
        index = cls(config.novelty_lambda)
        items, rows = [], []
        for name, code in sources:
            env = SandboxedEnv(code, sandbox)
            info = env.info()
            renders = env.render_many(config.canonical_pairs(info.max_difficulty))
            rows.append((name, fingerprint(renders, info.max_difficulty, config), code_sha256(code)))
            items.append((canonical_prompt(renders, info.max_difficulty, config), code))
        vectors = embed_environments(items, config.novelty_lambda, config.embed_threads)
        for (name, fp, sha), vector in zip(rows, vectors):
            index.add(name, name, vector, fp, code_sha256=sha)
        return index


def embed_candidate(candidate: Candidate, config: AdmissionConfig) -> np.ndarray:
    observed = candidate.observed
    if observed.embedding is None:
        prompt = canonical_prompt(observed.canonical or observed.renders, observed.info.max_difficulty, config)
        observed.embedding = embed_environments([(prompt, candidate.code)], config.novelty_lambda,
                                                config.embed_threads)[0]
    return observed.embedding


@timed("novelty")
def check_novelty(candidate: Candidate, ctx: AdmissionContext):
    """Not a renamed copy (fingerprint) and not too similar (MiniLM) to any admitted environment."""
    config = ctx.config
    observed = candidate.observed
    if not observed.renders or observed.info is None:
        return failed("no renders from L2 to compare (run L2 first)")
    if not observed.canonical:
        # the checks above judged instances at seeds no job can predict; copies are matched on fixed seeds
        try:
            observed.canonical = SandboxedEnv(candidate.code, ctx.sandbox, ctx.limits).render_many(
                config.canonical_pairs(observed.info.max_difficulty))
        except (SandboxError, EnvCallError) as exc:
            return failed(f"rendering the canonical seeds for the fingerprint failed: {exc}")
    fp = fingerprint(observed.canonical, observed.info.max_difficulty, config)
    observed.fingerprint = fp
    if ctx.novelty is None:
        return not_run("novelty", "no index of admitted environments")
    index = ctx.novelty
    itself = index.key_of_hash(candidate.code_sha256)
    hit = index.find_fingerprint(fp)
    if hit is not None and hit[0] != itself:
        key, name = hit
        return failed(f"behaviourally identical to admitted environment {name!r} ({key}): the same prompts and "
                      "references on the canonical seeds, so it is a renamed or reformatted copy",
                      fingerprint=fp, duplicate_of={"id": key, "name": name}, model=index.model)
    vector = embed_candidate(candidate, config)
    neighbours = index.nearest(vector, config.novelty_neighbours, exclude=itself)
    shown = [n.as_dict() for n in neighbours]
    top = neighbours[0] if neighbours else None
    similarity = top.similarity if top else 0.0
    if top and similarity >= config.novelty_threshold:
        result = failed(f"too similar to admitted environment {top.name!r} ({top.key}): similarity "
                        f"{similarity:.3f} >= {config.novelty_threshold:.2f} (prompt {top.prompt_similarity:.3f}, "
                        f"code {top.code_similarity:.3f}, lambda {config.novelty_lambda:g})",
                        neighbours=shown, fingerprint=fp, model=index.model)
        result.score = 1.0 - similarity
        return result
    result = passed((f"nearest admitted environment is {top.name!r} at similarity {similarity:.3f} "
                     f"(< {config.novelty_threshold:.2f})") if top else "no admitted environments to compare with",
                    neighbours=shown, fingerprint=fp, model=index.model, compared=len(index))
    result.score = 1.0 - similarity
    return result
