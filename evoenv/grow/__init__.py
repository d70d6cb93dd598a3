"""``evoenv grow``: the policy proposes environments, admission judges them, the registry grows.

``config`` (GrowConfig), ``journal`` (what ``--resume`` reads), ``records`` (per proposal, per
round, per run) and ``loop`` (GrowRun, the loop itself). Each proposal goes through
``evoenv.intake`` into the registry.
"""

from evoenv.grow.config import GrowConfig, GrowError, load_config_file
from evoenv.grow.journal import Journal, saved_config
from evoenv.grow.loop import GrowRun
from evoenv.grow.records import GrowReport, RoundSummary, Slot

__all__ = ["GrowConfig", "GrowError", "GrowReport", "GrowRun", "Journal", "RoundSummary", "Slot",
           "load_config_file", "saved_config"]
