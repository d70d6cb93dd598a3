"""TRL's real GRPOTrainer runs on our dataset and reward function (CPU, tiny random model)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from evoenv.integrations import trl as trl_integration
from evoenv.integrations.export import build_rows
from evoenv.train.tiny import CHAT_TEMPLATE, save_tiny

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_grpo_trainer_two_steps_with_evoenv_rewards(tmp_path, seeds_only_catalog, scorer_for, sandbox, monkeypatch):
    from trl import GRPOConfig, GRPOTrainer

    scorer_for(seeds_only_catalog)
    monkeypatch.setattr(
        "evoenv.integrations.export.build_rows",
        lambda **kw: build_rows(**{**kw, "catalog": seeds_only_catalog, "sandbox": sandbox}),
    )
    dataset = trl_integration.build_dataset(envs="count_inversions,subset_sum", per_env=2, difficulty="1")
    assert len(dataset) == 4 and set(dataset.column_names) == {"prompt", "question", "answer", "metadata"}

    seen: list[float] = []

    def reward(completions, **kwargs):
        rewards = trl_integration.reward_func(completions, **kwargs)
        seen.extend(rewards)
        return rewards

    model_dir = save_tiny(tmp_path / "tiny", chat_template=CHAT_TEMPLATE)
    config = GRPOConfig(
        output_dir=str(tmp_path / "out"), per_device_train_batch_size=4, num_generations=2,
        max_completion_length=8, max_steps=2, use_cpu=True, report_to=[], logging_steps=1,
        save_strategy="no", bf16=False,
    )
    trainer = GRPOTrainer(model=str(model_dir), reward_funcs=reward, args=config, train_dataset=dataset)
    trainer.train()
    assert trainer.state.global_step == 2
    assert len(seen) == 8 and all(0.0 <= r <= 1.0 for r in seen)
    logged = [h for h in trainer.state.log_history if "reward" in h]
    assert len(logged) == 2


@pytest.mark.slow
def test_grpo_trainer_trains_on_the_hf_export_as_it_is(tmp_path, scorer_for):
    """`evoenv export --format hf` then load_from_disk: GRPOTrainer needs a `prompt` column and gets one."""
    import datasets
    from trl import GRPOConfig, GRPOTrainer

    from evoenv.integrations.catalog import Catalog

    url = f"sqlite:///{tmp_path / 'absent.db'}"
    done = subprocess.run([sys.executable, "-m", "evoenv", "export", "--format", "hf", "--envs", "knapsack,sat",
                           "--per-env", "2", "--difficulty", "1", str(tmp_path / "ds")],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO), "EVOENV_DB": url})
    assert done.returncode == 0, done.stderr
    dataset = datasets.load_from_disk(str(tmp_path / "ds"))
    assert {"prompt", "question", "answer", "metadata"} <= set(dataset.column_names)
    assert dataset[0]["prompt"] == [{"role": "user", "content": dataset[0]["question"]}]

    scorer_for(Catalog(url))
    seen: list[float] = []

    def reward(completions, **kwargs):
        rewards = trl_integration.reward_func(completions, **kwargs)
        seen.extend(rewards)
        return rewards

    config = GRPOConfig(output_dir=str(tmp_path / "out"), per_device_train_batch_size=4, num_generations=2,
                        max_completion_length=8, max_steps=1, use_cpu=True, report_to=[], save_strategy="no",
                        bf16=False)
    trainer = GRPOTrainer(model=str(save_tiny(tmp_path / "tiny", chat_template=CHAT_TEMPLATE)), reward_funcs=reward,
                          args=config, train_dataset=dataset)
    trainer.train()
    assert trainer.state.global_step == 1 and len(seen) == 4
