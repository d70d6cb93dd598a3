"""The guest side of the EvoEnv sandbox: stdlib only, importable without evoenv.

Everything here runs INSIDE the sandbox (a forked, isolated child of the
zygote in ``worker.py``). ``protocol.py`` is the one small protocol the host
and the guest share.
"""
