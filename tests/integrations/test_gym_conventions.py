"""reasoning-gym habits: create_dataset(name, size=, seed=, **config), .size/.seed/.config,
source_dataset/source_index, knobs, a weighted composite mix, inactive environments refused."""

from __future__ import annotations

import pytest

import evoenv
from evoenv.integrations.catalog import InactiveEnvironment
from evoenv.integrations.gym import DatasetSpec


@pytest.fixture
def url(seeds_only_catalog, scorer_for, sandbox, monkeypatch):
    scorer_for(seeds_only_catalog)
    monkeypatch.setattr("evoenv.integrations.export.open_sandbox", lambda: sandbox)
    monkeypatch.setattr(sandbox, "close", lambda: None)  # the session's pool outlives each dataset
    return seeds_only_catalog.registry_url


def test_dataset_carries_size_seed_config_and_source_fields(url):
    data = evoenv.create_dataset("knapsack", size=4, seed=9, difficulty=3, registry_url=url)
    assert (data.size, data.seed, data.config) == (4, 9, {"difficulty": 3})
    assert [e["metadata"]["source_dataset"] for e in data] == ["knapsack"] * 4
    assert [e["metadata"]["source_index"] for e in data] == [0, 1, 2, 3]
    assert [e["metadata"]["seed"] for e in data] == [9, 10, 11, 12]
    assert data.score_answer(data[2]["answer"], data[2]) == 1.0


def test_difficulty_range_knobs_pass_through(url):
    data = evoenv.create_dataset("edit_distance", size=6, seed=0, min_difficulty=2, max_difficulty=4,
                                 registry_url=url)
    assert [e["metadata"]["difficulty"] for e in data] == [2, 3, 4, 2, 3, 4]
    with pytest.raises(ValueError, match="unknown config key 'min_n'.*one knob is its difficulty"):
        evoenv.create_dataset("edit_distance", size=2, min_n=3, registry_url=url)


def test_weighted_composite_mix(url):
    specs = [DatasetSpec("knapsack", weight=3, config={"difficulty": 2}),
             {"name": "congruences", "weight": 1, "config": {"difficulty": 5}}]
    data = evoenv.create_dataset("composite", size=200, seed=1, datasets=specs, registry_url=url)
    assert len(data) == 200 and data.size == 200 and data.seed == 1
    sources = [e["metadata"]["source_dataset"] for e in data]
    assert 120 <= sources.count("knapsack") <= 180 and sources.count("congruences") == 200 - sources.count("knapsack")
    again = evoenv.create_dataset("composite", size=200, seed=1, datasets=specs, registry_url=url)
    assert [e["question"] for e in again] == [e["question"] for e in data]
    # Each entry is the source dataset's own entry at source_index.
    entry = next(e for e in data if e["metadata"]["source_dataset"] == "congruences")
    alone = evoenv.create_dataset("congruences", size=entry["metadata"]["source_index"] + 1, seed=1, difficulty=5,
                                  registry_url=url)
    assert alone[entry["metadata"]["source_index"]]["question"] == entry["question"]
    assert evoenv.score_answer(entry["answer"], entry) == 1.0
    with pytest.raises(ValueError, match="needs datasets="):
        evoenv.create_dataset("composite", size=3, registry_url=url)


def test_rejected_environment_is_refused_unless_asked_for(tmp_path, scorer_for, sandbox, monkeypatch):
    from evoenv.integrations.catalog import Catalog
    from evoenv.registry import open_registry
    from evoenv.sources import load_seed

    db = f"sqlite:///{tmp_path / 'reg.db'}"
    registry = open_registry(db, upgrade_schema=True)
    record = registry.add_candidate(load_seed("knapsack").code.replace("Knapsack", "Bag"), name="bag",
                                    description="x", max_difficulty=10)
    registry.reject(record.id, reason="novelty: behaviourally identical to knapsack")
    scorer_for(Catalog(db))
    monkeypatch.setattr("evoenv.integrations.export.open_sandbox", lambda: sandbox)
    monkeypatch.setattr(sandbox, "close", lambda: None)
    with pytest.raises(InactiveEnvironment, match="'bag' .* is rejected"):
        evoenv.create_dataset("bag", size=2, registry_url=db)
    data = evoenv.create_dataset("bag", size=2, difficulty=3, registry_url=db, allow_rejected_or_retired=True)
    assert len(data) == 2
