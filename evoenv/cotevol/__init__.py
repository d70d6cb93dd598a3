"""CoTEvol: evolutionary chain-of-thought synthesis, with environment scorers as the verifier.

Modules: ``fitness`` (R = R_ac + R_fmt + R_len), ``diversity`` (ROUGE-L),
``selection`` (Boltzmann), ``crossover`` (reflective), ``mutation``
(uncertainty-guided), ``evolve`` (the loop and ``CoTEvolConfig``),
``baselines`` (best-of-N, self-refine), ``report`` (rows and metrics),
``runner`` (one run end to end). See docs/cotevol.md.
"""

from evoenv.cotevol.evolve import CoTEvolConfig, InstanceResult, evolve
from evoenv.cotevol.trajectory import Problem, Trajectory

__all__ = ["CoTEvolConfig", "InstanceResult", "Problem", "Trajectory", "evolve"]
