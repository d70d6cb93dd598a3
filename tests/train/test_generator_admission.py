"""The generator role with the real prompts, code extraction and admission pipeline."""

import random

import pytest
from train_envs import PROPOSAL

from evoenv.admission import AdmissionConfig
from evoenv.admission.embedding import model_key
from evoenv.configfile import ConfigError
from evoenv.registry import open_registry
from evoenv.sandbox import SandboxedEnv
from evoenv.sources import load_seed
from evoenv.train.curriculum import PoolEnv
from evoenv.train.generator_admission import AdmissionHooks


def test_proposals_are_judged_by_admission_and_admitted_ones_join(tmp_path, sandbox):
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}", upgrade_schema=True)
    try:
        seed = load_seed("count_inversions")
        info = SandboxedEnv(seed.code, sandbox).info()
        record = registry.add_candidate(seed.code, name=info.name, description=info.description,
                                        max_difficulty=info.max_difficulty, origin="seed")
        registry.admit(record.id)
        pool = [PoolEnv(str(record.id), info.name, seed.code, "seed", info.max_difficulty, info.description)]
        # no policy: review and calibration do not run; admit on the mechanical stages + novelty
        config = AdmissionConfig(admit_without_policy=True)
        hooks = AdmissionHooks(registry=registry, sandbox=sandbox, config=config)

        (prompt,) = hooks.prompts(1, pool, random.Random(0))
        text = prompt[-1]["content"] if isinstance(prompt, list) else prompt
        assert "count_inversions" in text and "```python" in text  # the parent is shown to the generator

        garbage, good = hooks.judge([prompt, prompt], ["I would rather not write code today.", PROPOSAL])
        assert not garbage.admitted and garbage.reward == config.invalid_penalty
        assert "no environment code" in garbage.reason
        assert good.admitted, good.reason
        assert good.reward > config.invalid_penalty
        assert good.env is not None and good.env.name == "count_peaks" and good.env.origin == "generated"
        stored = registry.get(int(good.env.id))
        assert stored.status == "admitted" and stored.reward == good.reward

        (again,) = hooks.judge([prompt], [PROPOSAL])  # the same program twice is not new
        assert not again.admitted and again.reward == 0.0
        assert again.reason.startswith(f"same code as environment {stored.id} (count_peaks, admitted)")
        (parent_copy,) = hooks.judge([prompt], [f"```python\n{seed.code}\n```"])  # the parent, copied
        assert not parent_copy.admitted and parent_copy.reward == 0.0 and str(record.id) in parent_copy.reason
        assert registry.count_envs() == 2  # neither copy was stored again
    finally:
        registry.close()


def test_a_generator_step_with_the_default_hooks(tmp_path, tiny_model, sandbox):
    from evoenv.train.config import config_from_dict
    from evoenv.train.trainer import GRPOTrainer

    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}", upgrade_schema=True)
    try:
        seed = load_seed("count_inversions")
        info = SandboxedEnv(seed.code, sandbox).info()
        registry.admit(registry.add_candidate(seed.code, name=info.name, description=info.description,
                                              max_difficulty=info.max_difficulty, origin="seed").id)
        cfg = config_from_dict({
            "model": str(tiny_model), "output_dir": str(tmp_path / "run"), "max_steps": 1, "save_every": 0,
            "max_prompt_tokens": 128, "generator": {"every": 1, "proposals_per_step": 1, "group_size": 2,
                                                    "max_new_tokens": 8,
                                                    "admission": {"novelty_lambda": 0.3, "admit_without_policy": True}},
        })
        trainer = GRPOTrainer(cfg, registry=registry, sandbox=sandbox)
        try:
            record = trainer.train_step()
        finally:
            trainer.close()
        # a random model writes no code: every proposal gets the invalid penalty, none is admitted
        assert record["role"] == "generator" and record["generator_admission_rate"] == 0.0
        assert record["reward_mean"] == AdmissionConfig().invalid_penalty
        assert record["groups_kept"] == 1 and record["completion_tokens"] > 0
        assert registry.count_envs() == 1  # proposals with no code are not stored by a training run
        # the trainer's own hooks judge with [generator.admission] (the tests above show what the hooks
        # store with it)
        assert trainer.generator_hooks.config.novelty_lambda == 0.3
    finally:
        registry.close()


def admitted_seed(registry, sandbox, name):
    seed = load_seed(name)
    info = SandboxedEnv(seed.code, sandbox).info()
    record = registry.admit(registry.add_candidate(seed.code, name=info.name, description=info.description,
                                                   max_difficulty=info.max_difficulty, origin="seed").id)
    return PoolEnv(str(record.id), info.name, seed.code, "seed", info.max_difficulty, info.description)


def test_a_proposal_keeps_its_lineage_and_its_vectors_go_under_the_configured_lambda(tmp_path, sandbox):
    """The training path stores a proposal like a grow run does: a crossover names both parents,
    its generation follows theirs, and its embedding is stored under the run's novelty lambda."""
    with open_registry(f"sqlite:///{tmp_path / 'registry.db'}", upgrade_schema=True) as registry:
        pool = [admitted_seed(registry, sandbox, "count_inversions"), admitted_seed(registry, sandbox, "edit_distance")]
        config = AdmissionConfig(admit_without_policy=True, novelty_lambda=0.3)
        hooks = AdmissionHooks(registry=registry, sandbox=sandbox, config=config, crossover_rate=1.0)
        prompt = next(p for p in hooks.prompts(8, pool, random.Random(1)) if "crossover" in p[-1]["content"])
        (outcome,) = hooks.judge([prompt], [PROPOSAL])
        assert outcome.admitted, outcome.reason
        child = registry.get(int(outcome.env.id))
        parents = registry.lineage(child.id)["parents"]
        assert sorted((p["id"], p["relation"]) for p in parents) == \
            sorted((int(e.id), "crossover") for e in pool)
        assert child.generation == 1
        (proposal,) = registry.proposals(child.id)
        assert "count_inversions" in proposal["prompt"] and "edit_distance" in proposal["prompt"]
        assert child.id in registry.admitted_embeddings(model_key(0.3))[0]
        assert child.id not in registry.admitted_embeddings(model_key(0.5))[0]


def test_a_mutation_records_its_one_parent(tmp_path, sandbox):
    with open_registry(f"sqlite:///{tmp_path / 'registry.db'}", upgrade_schema=True) as registry:
        pool = [admitted_seed(registry, sandbox, "count_inversions"), admitted_seed(registry, sandbox, "edit_distance")]
        hooks = AdmissionHooks(registry=registry, sandbox=sandbox, config=AdmissionConfig(admit_without_policy=True),
                               crossover_rate=0.0)
        (prompt,) = hooks.prompts(1, pool, random.Random(3))
        (outcome,) = hooks.judge([prompt], [PROPOSAL])
        assert outcome.admitted, outcome.reason
        (parent,) = registry.lineage(int(outcome.env.id))["parents"]
        assert parent["relation"] == "mutation" and str(parent["id"]) in {e.id for e in pool}


def test_the_generator_admission_settings_are_checked_when_the_config_loads():
    from evoenv.train.config import config_from_dict

    with pytest.raises(ConfigError, match="generator.admission: unknown key novelty_lamda"):
        config_from_dict({"model": "m", "generator": {"every": 1, "admission": {"novelty_lamda": 0.3}}})
    with pytest.raises(ConfigError, match="generator.admission: review_k: expected int"):
        config_from_dict({"model": "m", "generator": {"every": 1, "admission": {"review_k": "three"}}})
