"""EvoEnv: one policy writes the environments it trains on.

The trusted host side. Environment code is only ever text here; it runs inside
the sandbox (see ``evoenv.sandbox``).
"""

__version__ = "0.1.0"


def create_dataset(name_or_id, size=100, seed=0, difficulty="auto", registry_url=None):
    """reasoning-gym style: an indexable dataset of ``{question, answer, metadata}``."""
    from evoenv.integrations.gym import create_dataset as _create

    return _create(name_or_id, size=size, seed=seed, difficulty=difficulty, registry_url=registry_url)


def score_answer(answer, entry) -> float:
    """Score an extracted answer against a dataset entry, in the sandbox."""
    from evoenv.integrations.gym import score_answer as _score

    return _score(answer, entry)
