"""AdmissionConfig from user settings: the shared config loader checks every key and type."""

from __future__ import annotations

import pytest

from evoenv.admission import AdmissionConfig
from evoenv.configfile import ConfigError, apply_overrides, build_dataclass
from evoenv.grow import GrowConfig
from evoenv.train.config import CurriculumConfig, GRPOConfig


def test_settings_are_type_checked_and_converted():
    config = AdmissionConfig.from_dict({"blind_max_rate": 1, "calibration_seeds": [1, 2], "hash_seeds": [3, 4],
                                        "notes": {"why": "rerun"}, "cpu_s": None})
    assert config.blind_max_rate == 1.0 and isinstance(config.blind_max_rate, float)
    assert config.calibration_seeds == (1, 2) and config.hash_seeds == (3, 4)
    assert config.notes == {"why": "rerun"} and config.cpu_s is None
    assert config.review_k == AdmissionConfig().review_k  # unset keys keep their defaults


@pytest.mark.parametrize("data, message", [
    ({"blind_max_rat": 0.1}, "unknown key admission.blind_max_rat; known keys: "),
    ({"blind_max_rate": "x"}, "admission.blind_max_rate: expected float, got str 'x'"),
    ({"review_k": 2.5}, "admission.review_k: expected int"),
    ({"hash_seeds": [1]}, r"admission.hash_seeds: expected a list of 2 values"),
    ({"calibration_seeds": [1, "a"]}, r"admission.calibration_seeds\[1\]: expected int"),
    ({"notes": 3}, "admission.notes: expected a table"),
])
def test_a_wrong_setting_names_its_full_key(data, message):
    with pytest.raises(ConfigError, match=message):
        AdmissionConfig.from_dict(data, "admission")


def test_nested_dataclasses_are_built_from_nested_tables():
    config = build_dataclass(GRPOConfig, {"model": "m", "curriculum": {"window": 16}})
    assert config.curriculum.window == 16 and config.reward.chunk == 64
    with pytest.raises(ConfigError, match="curriculum.window: expected int, got str 'x'"):
        build_dataclass(GRPOConfig, {"model": "m", "curriculum": {"window": "x"}})


def test_overrides_set_nested_keys_without_changing_the_input():
    data = {"model": "m", "curriculum": {"window": 8}}
    merged = apply_overrides(data, ["curriculum.window=16", "reward.chunk=4", "max_steps=3"])
    assert merged == {"model": "m", "curriculum": {"window": 16}, "reward": {"chunk": 4}, "max_steps": 3}
    assert data == {"model": "m", "curriculum": {"window": 8}}
    with pytest.raises(ConfigError, match="model is not a section"):
        apply_overrides(data, ["model.x=1"])
    with pytest.raises(ConfigError, match="write KEY=VALUE"):
        apply_overrides(data, ["model"])


def test_one_pool_epoch_limit_and_one_target_rate_everywhere():
    # grow, admission and training retire environments on the same registry counter
    assert GrowConfig().pool_max_epochs == AdmissionConfig().pool_max_epochs == CurriculumConfig().max_pool_epochs
    assert AdmissionConfig().target_pass_rate == CurriculumConfig().target
