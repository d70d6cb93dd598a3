"""Plug EvoEnv environments into the trainers people already run.

- ``evoenv.integrations.verl.compute_score``: verl's custom reward function;
- ``evoenv.integrations.trl.reward_func``: a TRL GRPOTrainer reward function;
- ``evoenv.create_dataset`` / ``evoenv.score_answer``: the reasoning-gym habit.

Every row carries ``{question, answer, metadata}`` where metadata names the
environment's code hash, seed and difficulty, so any row rescores later through
the sandbox from the code stored in the registry.
"""
