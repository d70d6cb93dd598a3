"""Where the non-Python parts of the project live, installed or in a checkout.

A wheel carries ``seeds/`` and ``db/`` inside the package (``evoenv/_seeds``,
``evoenv/_db``) and the guest package ``sandbox/evoenv_guest`` as a top-level
package; an editable checkout reads them from the repository root.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parent


def _locate(installed: str, checkout: str) -> Path:
    inside = _PACKAGE / installed
    return inside if inside.is_dir() else _REPO / checkout


def seeds_dir() -> Path:
    """The folder with the ten seed environments (plain .py source files)."""
    return _locate("_seeds", "seeds")


def migrations_dir() -> Path:
    """The Alembic migration environment of the registry."""
    return _locate("_db", "db")


def guest_root() -> Path:
    """The folder that holds the ``evoenv_guest`` package (put on the guest's sys.path).

    In a checkout it is ``sandbox/`` next to this package, put first on sys.path: the guest
    must match this host code, and an editable install of another checkout leaves a COPY
    of its guest in site-packages that would otherwise shadow it. In a wheel, the installed one."""
    checkout = _REPO / "sandbox"
    if (checkout / "evoenv_guest" / "__init__.py").is_file():
        if str(checkout) not in sys.path:
            sys.path.insert(0, str(checkout))
        return checkout
    import evoenv_guest

    return Path(evoenv_guest.__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Where derived data is cached between runs (embeddings of texts, the seeds' renders for
    novelty): ``$EVOENV_CACHE``, else ``$XDG_CACHE_HOME/evoenv``, else ``~/.cache/evoenv``. Everything
    in it can be deleted; it is rebuilt on use."""
    import os

    explicit = os.environ.get("EVOENV_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "evoenv"
