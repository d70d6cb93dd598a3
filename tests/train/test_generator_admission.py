"""The generator role with the real prompts, code extraction and admission pipeline."""

import random

from evoenv.admission import AdmissionConfig
from evoenv.registry import open_registry
from evoenv.sandbox import SandboxedEnv
from evoenv.sources import load_seed
from evoenv.train.curriculum import PoolEnv
from evoenv.train.generator_admission import AdmissionHooks

from train_envs import PROPOSAL



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
        assert again.reason == f"the same code as environment {stored.id}: nothing new"
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
                                                    "max_new_tokens": 8},
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
    finally:
        registry.close()
