"""Issue 14 item 10: embedding without torch, and caches that let `evoenv validate` skip the model
and the seeds' renders. Speed itself is measured in bench/admission.py, never asserted here."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from evoenv.admission import AdmissionConfig, embedding
from evoenv.admission.embedding import code_text, embed_texts
from evoenv.admission.novelty_index import NoveltyIndex
from evoenv.paths import cache_dir


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOENV_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_numpy_minilm_equals_sentence_transformers(seed_sources):
    from sentence_transformers import SentenceTransformer

    texts = ["Count the inversions of [3, 1, 2].", "A directed graph has nodes 0 to 7 and these edges:\n0 -> 1 (weight 3)",
             code_text(seed_sources["shortest_path"]), "ünïcödé ✓ " * 100]  # the last is truncated at 256 tokens
    ours = embed_texts(texts, cache=False)
    reference = SentenceTransformer(str(embedding.model_folder()), device="cpu").encode(
        texts, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.shape == (4, embedding.DIM) and ours.dtype == np.float32
    assert np.min(np.sum(ours * reference, axis=1)) > 0.99999
    assert np.max(np.abs(ours - reference)) < 1e-4


def test_embedding_does_not_import_torch():
    code = ("import sys; from evoenv.admission.embedding import embed_texts; embed_texts(['hello'], cache=False); "
            "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out.stderr[-2000:]


def test_cached_texts_need_no_model(fresh_cache, monkeypatch):
    first = embed_texts(["sum the digits of 1234", "def f(): pass"])
    assert len(list((fresh_cache / "embeddings").rglob("*.npy"))) == 2

    def refuse():
        raise AssertionError("the model was loaded although every text was cached")

    monkeypatch.setattr(embedding, "load_model", refuse)
    assert np.array_equal(embed_texts(["def f(): pass", "sum the digits of 1234"]), first[::-1])
    with pytest.raises(AssertionError, match="was loaded"):
        embed_texts(["a text never embedded before"])


def test_a_corrupt_cache_entry_is_recomputed(fresh_cache):
    vector = embed_texts(["corrupt me"])[0]
    (entry,) = (fresh_cache / "embeddings").rglob("*.npy")
    entry.write_bytes(b"not a numpy file")
    assert np.allclose(embed_texts(["corrupt me"])[0], vector)


class CountingSandbox:
    def __init__(self, sandbox):
        self.sandbox, self.jobs = sandbox, 0

    def run(self, *args, **kwargs):
        self.jobs += 1
        return self.sandbox.run(*args, **kwargs)


def test_the_seed_index_is_rebuilt_from_the_cache_without_sandbox_jobs(fresh_cache, sandbox, seed_sources):
    sources = sorted(seed_sources.items())[:3]
    counting = CountingSandbox(sandbox)
    first = NoveltyIndex.from_sources(sources, counting, AdmissionConfig())
    assert counting.jobs >= 3 and cache_dir() == fresh_cache
    jobs = counting.jobs
    second = NoveltyIndex.from_sources(sources, counting, AdmissionConfig())
    assert counting.jobs == jobs  # renders and vectors both came from the cache
    assert np.array_equal(first.matrix, second.matrix)
    assert first._fingerprints == second._fingerprints
