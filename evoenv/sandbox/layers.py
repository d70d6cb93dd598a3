"""Which isolation layers a backend provides, and the configured minimum.

The guest probes its layers for real at start (``evoenv_guest.probe.probe_layers``)
and reports them in its ready frame; a backend refuses to run when a required layer is
missing, with a message that says how to allow it. The layer names and hints are the
protocol's (``protocol.LAYERS``), so reading them loads no guest isolation code.
"""

from __future__ import annotations

import os

from evoenv.sandbox.base import Limits, SandboxUnavailable, protocol

LAYERS = protocol.LAYERS  # re-exported: every layer, in report order, with how to get it

#: Required unless configured otherwise: the layers every supported Linux host provides.
DEFAULT_MIN_LAYERS = ("rlimits", "scratch", "no_new_privs", "seccomp")
ENV_VAR = "EVOENV_SANDBOX_MIN_LAYERS"


def parse_layer_list(text: str) -> tuple[str, ...]:
    """ "all", "none"/"" or a comma list of layer names (unknown names are an error)."""
    text = text.strip().lower()
    if text == "all":
        return tuple(LAYERS)
    if text in ("", "none"):
        return ()
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in LAYERS]
    if unknown:
        raise ValueError(f"unknown sandbox layer(s) {', '.join(unknown)} in {ENV_VAR}; "
                         f"known: {', '.join(LAYERS)}")
    return names


#: Required by default wherever the machine gives jobs a mount namespace (the zygote could
#: isolate itself): losing the minimal root there must not pass silently.
DEFAULT_WITH_MOUNT = ("rootfs",)
#: Required by default in Docker: the zygote, container root, gives each job these itself.
DEFAULT_DOCKER = ("mount", "pid", "non_root")


def required_layers(limits: Limits | None, active: dict[str, bool] | None = None,
                    backend: str | None = None) -> tuple[str, ...]:
    """The configured minimum, else the default for this backend and what it reported."""
    if limits is not None and limits.min_layers is not None:
        return parse_layer_list(",".join(limits.min_layers)) if limits.min_layers else ()
    if ENV_VAR in os.environ:
        return parse_layer_list(os.environ[ENV_VAR])
    required = DEFAULT_MIN_LAYERS
    if backend == "docker":
        required += DEFAULT_DOCKER
    if (active or {}).get("mount") or backend == "docker":
        required += DEFAULT_WITH_MOUNT
    return required


def missing_layers(active: dict[str, bool], required: tuple[str, ...]) -> list[str]:
    return [name for name in required if not active.get(name)]


def enforce(backend: str, active: dict[str, bool], required: tuple[str, ...], notes: list[str] = ()) -> None:
    missing = missing_layers(active, required)
    if missing:
        how = "\n".join(f"  - {name}: {LAYERS[name]}" for name in missing)
        why = "".join(f"\n  the worker says: {note}" for note in notes[:8])
        raise SandboxUnavailable(
            f"the {backend} sandbox lacks required isolation layer(s): {', '.join(missing)}\n{how}{why}\n"
            f"See `evoenv sandbox check`. To accept fewer layers set {ENV_VAR} "
            f"(e.g. {ENV_VAR}={','.join(n for n in required if n not in missing) or 'none'}) "
            "or Limits(min_layers=...)."
        )


def report(active: dict[str, bool], required: tuple[str, ...]) -> list[dict]:
    """Rows for `evoenv sandbox check`."""
    return [{"layer": name, "active": bool(active.get(name)), "required": name in required, "how": hint}
            for name, hint in LAYERS.items()]
