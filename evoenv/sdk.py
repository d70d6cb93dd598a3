"""The environment SDK, importable on the host as ``evoenv.sdk``.

It is the very module environments import inside the sandbox
(``sandbox/evoenv_guest/sdk.py``, stdlib only), re-exported here so host code
and tests see the same helpers.
"""

from __future__ import annotations

from evoenv.paths import guest_root

guest_root()  # makes ``evoenv_guest`` importable from a checkout
from evoenv_guest.sdk import Environment, parse_int, parse_int_list  # noqa: E402

#: Instance seeds are 0..MAX_SEED everywhere a user gives one (CLI, browser, exports, datasets).
MAX_SEED = 2**31 - 1

__all__ = ["MAX_SEED", "Environment", "parse_int", "parse_int_list"]
