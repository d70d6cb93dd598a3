"""GRPO training on the environment pool: ``GRPOConfig`` + ``GRPOTrainer``."""

from evoenv.train.config import ConfigError, GRPOConfig, load_config

__all__ = ["ConfigError", "GRPOConfig", "GRPOTrainer", "load_config"]


def __getattr__(name):  # the trainer pulls in torch/transformers; import it on first use
    if name == "GRPOTrainer":
        from evoenv.train.trainer import GRPOTrainer

        return GRPOTrainer
    raise AttributeError(name)
