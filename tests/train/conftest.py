"""Fixtures for the trainer tests: a tiny random model built locally."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The test models are tiny: one thread avoids OpenMP spin-waiting on a shared, loaded machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from evoenv.train.tiny import save_tiny

    return save_tiny(tmp_path_factory.mktemp("tiny-model"))
