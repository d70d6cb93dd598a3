"""EvoEnv: one policy writes the environments it trains on.

The trusted host side. Environment code is only ever text here; it runs inside
the sandbox (see ``evoenv.sandbox``).
"""

__version__ = "0.1.0"
