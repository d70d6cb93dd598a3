import pytest

from evoenv.train.config import ConfigError, GRPOConfig, config_from_dict, load_config


def test_toml_and_yaml_give_the_same_config(tmp_path):
    (tmp_path / "run.toml").write_text(
        'model = "m"\ngroup_size = 4\nbf16 = false\n[curriculum]\nwindow = 16\nseed_floor = 0.5\n'
        '[generator]\nevery = 3\n')
    (tmp_path / "run.yaml").write_text(
        "model: m\ngroup_size: 4\nbf16: false\ncurriculum:\n  window: 16\n  seed_floor: 0.5\ngenerator:\n  every: 3\n")
    toml_cfg, yaml_cfg = load_config(tmp_path / "run.toml"), load_config(tmp_path / "run.yaml")
    assert toml_cfg == yaml_cfg
    assert toml_cfg.group_size == 4 and toml_cfg.bf16 == "false"
    assert toml_cfg.curriculum.window == 16 and toml_cfg.curriculum.seed_floor == 0.5
    assert toml_cfg.generator.every == 3 and toml_cfg.generator.advantage_scale == 0.3
    assert toml_cfg.curriculum.band_low == 0.3 and toml_cfg.curriculum.band_high == 0.7
    assert toml_cfg.curriculum.target == 0.3


def test_overrides_apply_after_the_file(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('model = "m"\nmax_steps = 5\n')
    cfg = load_config(path, ["max_steps=7", "curriculum.window=10", "loss_type=sequence", "learning_rate=1e-5"])
    assert cfg.max_steps == 7 and cfg.curriculum.window == 10 and cfg.loss_type == "sequence"
    assert cfg.learning_rate == pytest.approx(1e-5)


@pytest.mark.parametrize("data, message", [
    ({"model": "m", "groupsize": 4}, "unknown key groupsize"),
    ({"model": "m", "curriculum": {"windw": 4}}, "unknown key curriculum.windw"),
    ({"model": "m", "group_size": "8"}, "group_size: expected int"),
    ({"model": "m", "group_size": 1}, "group_size: must be >= 2"),
    ({"model": "m", "loss_type": "tokens"}, "loss_type"),
    ({"group_size": 4}, "model: is required"),
    ({"model": "m", "curriculum": {"band_low": 0.8, "band_high": 0.2}}, "band_low"),
    ({"model": "m", "curriculum": {"pool": "sources"}}, "curriculum.envs"),
    ({"model": "m", "curriculum": 3}, "curriculum: expected a table"),
    ({"model": "m", "curriculum": {"difficulty": "random"}}, "curriculum.difficulty: 'random' is not"),
])
def test_bad_config_names_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)


def test_bad_file_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("model = \n")
    with pytest.raises(ConfigError, match="broken.toml is not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    other = tmp_path / "run.json"
    other.write_text("{}")
    with pytest.raises(ConfigError, match="use a .toml, .yaml or .yml"):
        load_config(other)


def test_defaults_are_valid_once_a_model_is_named():
    assert GRPOConfig(model="m").validate().loss_type == "token"
