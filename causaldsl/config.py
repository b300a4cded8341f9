"""Settings a user may change: how large an exact answer may grow before the engine stops.

``causaldsl.settings.exact_memory`` (bytes, default 2e9) bounds the tables of an exact answer
(an estimate from its factors and the largest step of its contraction) and ``exact_work``
(default 1e11 multiply-adds, about half a minute of NumPy) its arithmetic. Both are checked from shapes alone,
before anything is allocated. Past either, a query with no ``method=`` is answered by Monte
Carlo, and says so (``[monte-carlo (exact would need 32 GB)]``); ``method="exact"`` raises a
:class:`~causaldsl.errors.MethodError` with the estimate. The environment variables
``CAUSALDSL_EXACT_MEMORY`` and ``CAUSALDSL_EXACT_WORK`` set the defaults (``causaldsl run``).

>>> import causaldsl as cd
>>> cd.settings.exact_memory
2000000000.0
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _env(name: str, default: float) -> float:
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return default


@dataclass
class Settings:
    """The engine's limits; change them on ``causaldsl.settings``."""

    exact_memory: float = _env("CAUSALDSL_EXACT_MEMORY", 2e9)  # bytes
    exact_work: float = _env("CAUSALDSL_EXACT_WORK", 1e11)  # multiply-adds


settings = Settings()
