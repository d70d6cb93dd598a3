"""Numbers that more than one part of EvoEnv uses, each defined once.

A leaf module (no imports), so config dataclasses anywhere can take their defaults from here
without loading the part that owns the concept.
"""

#: The calibrated pass rate admission's calibration aims for (the EvoEnv paper's target): the
#: difficulty reward Q peaks there, training's curriculum samples environments near it, ``cotevol
#: --difficulty auto`` picks the level closest to it, and the web's calibration chart dashes it.
TARGET_PASS_RATE = 0.3

#: Admitted environments retire after this many pool epochs. One counter (the registry's pool
#: epoch) whether a grow run advances it (once per round) or training does (every
#: ``curriculum.pool_epoch_steps`` steps), so one default: grow's ``pool_max_epochs``,
#: ``AdmissionConfig.pool_max_epochs`` and training's ``curriculum.max_pool_epochs``.
POOL_MAX_EPOCHS = 20
