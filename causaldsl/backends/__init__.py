"""Engines that answer planned queries: exact tensor contraction, Monte Carlo, NumPyro."""

from . import compilation_cache as _compilation_cache

_compilation_cache.enable()
