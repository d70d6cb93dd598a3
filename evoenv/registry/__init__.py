"""The environment registry: every environment ever proposed, why it was admitted or
rejected, where it came from and how hard it is. No other module writes SQL; they
all go through ``Registry`` (see docs/architecture.md, "The Registry API")."""

from evoenv.registry.core import EVER_ADMITTED, UnknownEnvironment, UnknownRun
from evoenv.registry.database import (
    DEFAULT_URL,
    RegistryError,
    RegistryLocked,
    SchemaOutOfDate,
    database_url,
    head_revision,
    upgrade,
)
from evoenv.registry.models import ORIGINS, RELATIONS, STATUSES
from evoenv.registry.records import EnvRecord, ReviewRow, RunRecord, StageRow
from evoenv.registry.search import SORTS
from evoenv.registry.store import Registry, open_registry

__all__ = [
    "DEFAULT_URL", "EVER_ADMITTED", "ORIGINS", "RELATIONS", "SORTS", "STATUSES", "EnvRecord", "Registry",
    "RegistryError", "RegistryLocked", "ReviewRow", "RunRecord", "SchemaOutOfDate", "StageRow",
    "UnknownEnvironment", "UnknownRun", "database_url", "head_revision", "open_registry", "upgrade",
]
