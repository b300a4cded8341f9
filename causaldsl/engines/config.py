"""Settings a user may change, and the numeric precision the engines run in.

``causaldsl.settings.exact_memory`` (bytes, default 2e9) bounds the tables of an exact answer
(an estimate from its factors and the largest step of its contraction) and ``exact_work``
(default 1e10 multiply-adds, tens of seconds of NumPy: its einsum steps over many small axes run
at 1e8-1e9 multiply-adds a second) its arithmetic. Both are checked from shapes alone,
before anything is allocated. Past either, a query with no ``method=`` is answered by Monte
Carlo, and says so (``[monte-carlo (exact would need 32 GB)]``); ``method="exact"`` raises a
:class:`~causaldsl.language.errors.MethodError` with the estimate. The environment variables
``CAUSALDSL_EXACT_MEMORY`` and ``CAUSALDSL_EXACT_WORK`` set the defaults (``causaldsl run``).

``causaldsl.settings.compilation_cache`` is the directory of JAX's persistent compilation cache,
or None (the default: off); see :mod:`causaldsl.engines.compilation_cache` for what turning it
on sets.

The engines compute in float64 (exact answers are promised to 1e-6 and beyond; float32
contractions of large networks drift past that). JAX's float64 switch is a setting of the
process, so causaldsl never flips it: its entry points run under :func:`float64`, which turns
it on for the calling thread and for the duration of the call only.

>>> import causaldsl as cd
>>> cd.settings.exact_memory
2000000000.0
>>> cd.settings.compilation_cache = None  # off: the default, unless CAUSALDSL_COMPILATION_CACHE is set
>>> cd.settings.compilation_cache is None
True
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, TypeVar

from ..model.lazy_modules import lazy_module, loaded, on_load
jax = lazy_module("jax")

from . import compilation_cache as _compilation_cache

F = TypeVar("F", bound=Callable)


def _env(name: str, default: float) -> float:
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return default


@dataclass
class Settings:
    """The engine's limits and its compilation cache; change them on ``causaldsl.settings``."""

    exact_memory: float = _env("CAUSALDSL_EXACT_MEMORY", 2e9)  # bytes
    exact_work: float = _env("CAUSALDSL_EXACT_WORK", 1e10)  # multiply-adds
    _cache_dir: Optional[Path] = field(default=None, repr=False)

    @property
    def compilation_cache(self) -> Optional[Path]:
        """The persistent compilation cache's directory, None while it is off (the default).

        Set a directory (or ``True`` for ``~/.cache/causaldsl/jax``) to turn it on, None to turn it off.
        """
        return self._cache_dir

    @compilation_cache.setter
    def compilation_cache(self, where) -> None:
        self._cache_dir = _compilation_cache.use(where)


settings = Settings()
if _compilation_cache.requested() is not None:  # the user asked for it in the environment
    settings.compilation_cache = _compilation_cache.requested()


def float64(fn: F) -> F:
    """``fn`` run with JAX's float64 on, in the calling thread only, and as it was after.

    Every causaldsl function that traces, compiles or runs JAX code is called under it
    (a jitted function's dtypes depend on the switch both when it is traced and when it
    is called), so answers are float64 while the user's own JAX code keeps its precision.
    JAX is imported on first use (:mod:`causaldsl.model.lazy_modules`): a call that begins
    before it is there (an exact answer in NumPy may never need it) turns the switch on when
    JAX arrives in its thread, until it returns.

    >>> import jax.numpy as jnp
    >>> float64(lambda: jnp.ones(1).dtype)(), jnp.ones(1).dtype
    (dtype('float64'), dtype('float32'))
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if loaded(jax):
            with jax.enable_x64(True):
                return fn(*args, **kwargs)
        return _before_jax(fn, args, kwargs)

    return wrapper


def _before_jax(fn, args, kwargs):
    """``fn`` called before JAX was imported: float64 turned on if JAX arrives during the call."""
    with contextlib.ExitStack() as scope:
        waiting = _waiting_calls()
        waiting.append(scope)
        try:
            return fn(*args, **kwargs)
        finally:
            if scope in waiting:  # still waiting: JAX never came
                waiting.remove(scope)


_thread = threading.local()


def _waiting_calls() -> list:
    """This thread's calls under :func:`float64` that began before JAX was imported, outermost first."""
    if not hasattr(_thread, "waiting"):
        _thread.waiting = []
    return _thread.waiting


def _float64_for_waiting_calls() -> None:
    """JAX has just loaded (in this thread, or in one this thread waited for): float64 on for
    this thread's waiting calls, outermost first so that they turn it off in the right order."""
    waiting = _waiting_calls()
    while waiting:
        waiting.pop(0).enter_context(jax.enable_x64(True))


on_load(jax, _float64_for_waiting_calls)
