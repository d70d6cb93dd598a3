"""Fixtures for the trainer tests: a tiny random model built locally."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from evoenv.train.tiny import save_tiny

    return save_tiny(tmp_path_factory.mktemp("tiny-model"))
