"""EvoEnv: one policy writes the environments it trains on.

The trusted host side. Environment code is only ever text here; it runs inside
the sandbox (see ``evoenv.sandbox``).
"""

__version__ = "0.1.0"


def create_dataset(name, size=100, seed=0, **config):
    """reasoning-gym style: an indexable dataset of ``{question, answer, metadata}`` with ``.size``,
    ``.seed`` and ``.config``; ``name="composite"`` mixes several (see ``evoenv.integrations.gym``)."""
    from evoenv.integrations.gym import create_dataset as _create

    return _create(name, size=size, seed=seed, **config)


def score_answer(answer, entry) -> float:
    """Score an extracted answer against a dataset entry, in the sandbox."""
    from evoenv.integrations.gym import score_answer as _score

    return _score(answer, entry)
