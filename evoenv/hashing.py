"""Content addresses for environment source.

``code_sha256`` hashes the source after a light normalisation (newlines,
trailing whitespace, surrounding blank lines), so the same program saved by two
editors gets one address. Renamed or reformatted copies are caught by the
behavioural fingerprint in the novelty stage, not here.
"""

from __future__ import annotations

import hashlib


def normalize_source(code: str) -> str:
    lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n") + "\n"


def code_sha256(code: str) -> str:
    return hashlib.sha256(normalize_source(code).encode("utf-8")).hexdigest()
