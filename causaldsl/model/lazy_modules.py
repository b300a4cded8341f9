"""Modules imported on first use: JAX (and scipy.special) load when a question needs them.

Why: importing JAX costs about 0.8 s and 100 MB (``ml_dtypes``' extension alone about 0.5 s),
while the first questions most people ask of a discrete model (every exact answer, computed in
NumPy by :mod:`causaldsl.engines.exact`) need none of it; JAX is needed by Monte Carlo, the
compiled tier of repeated answers, NUTS, fitting and the NumPyro export. So a module that uses
JAX writes ``jnp = lazy_module("jax.numpy")`` where it wrote ``import jax.numpy as jnp``, and
module-level code never reads an attribute of it (no decorator, constant or default argument
taken from JAX): ``import causaldsl`` imports no JAX, and the first attribute read anywhere
(``jnp.where``) imports it, as ``import jax.numpy`` would have.

The name is bound to the very module object that ``sys.modules`` holds, whose code has not run
yet: once loaded it *is* ``jax.numpy``, so identity tests (``xp is jnp``) hold whoever imported
JAX, before or after, and ``import jax.numpy`` elsewhere returns it (and loads it).

This is the standard library's lazy import (``importlib.util.LazyLoader``, the importlib docs'
recipe "Implementing lazy imports": the module object made from its spec, its code run on the
first attribute read), written out because in Python 3.11 that loader does not cover two things
needed here:

* threads: the compile worker of :mod:`causaldsl.engines.exact` may be the first to touch JAX,
  while the main thread answers. ``LazyLoader`` marks a module loaded *before* running its code,
  so a second thread could read a half-built module (CPython gh-114763, fixed in 3.12.3). Here one
  re-entrant lock is held from the first read to the end of the load, so another thread waits
  for the whole module; one lock for all, because loads nest (``jax.numpy`` loads ``jax``);
* submodules: ``importlib.util.find_spec("jax.numpy")`` imports ``jax``. Here the package is made
  lazy too and the submodule found on its path; on the first read the package is imported first,
  as ``import jax.numpy`` does, and the submodule's code runs where the package's ``__init__``
  imports it (or right after), never before its package.

A library that looks for JAX in ``sys.modules`` before touching it (matplotlib's ``cbook``, given
a list to plot) finds it there and loads it by reading an attribute: the right answer, only sooner.

:func:`on_load` runs a function in each thread that meets the load (the loading thread, and any
that waited for it): :mod:`causaldsl.engines.config` uses it to turn JAX's float64 on, for the
calls that began before JAX was there.

>>> import sys
>>> m = lazy_module("json.decoder")          # any module; here one of the standard library
>>> m is sys.modules["json.decoder"], m.JSONDecodeError.__name__, loaded(m)
(True, 'JSONDecodeError', True)
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types
from typing import Callable

_LOCK = threading.RLock()
_STAGE: dict[str, str] = {}  # module being loaded -> "package" (its package first) or "body" (its code)
_ON_LOAD: dict[str, list[Callable[[], None]]] = {}


class _Lazy(types.ModuleType):
    """A module whose code has not run yet: the first attribute read runs it (module note)."""

    def __getattribute__(self, attr):
        name = types.ModuleType.__getattribute__(self, "__name__")
        with _LOCK:
            if type(self) is _Lazy:
                _load(self, name)
            if type(self) is not _Lazy:  # loaded, by this thread or by one this thread waited for
                _call_hooks()
        return types.ModuleType.__getattribute__(self, attr)


def lazy_module(name: str) -> types.ModuleType:
    """The module ``name``, its code run on first use (module note); already imported: itself.

    >>> lazy_module("math") is __import__("math")
    True
    """
    with _LOCK:
        if name in sys.modules:
            return sys.modules[name]
        package, _, _ = name.rpartition(".")
        if package:
            path = types.ModuleType.__getattribute__(lazy_module(package), "__path__")
            spec = importlib.machinery.PathFinder.find_spec(name, path)
        else:
            spec = importlib.util.find_spec(name)
        if spec is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        module = importlib.util.module_from_spec(spec)
        if type(module) is not types.ModuleType or spec.loader is None:
            return importlib.import_module(name)  # an extension module makes its own object: import it now
        module.__class__ = _Lazy
        sys.modules[name] = module
        return module


def loaded(module: types.ModuleType) -> bool:
    """Whether ``module``'s code has run (always, for a module imported the usual way).

    >>> loaded(sys)
    True
    """
    return type(module) is not _Lazy


def on_load(module: types.ModuleType, hook: Callable[[], None]) -> None:
    """Call ``hook()`` when ``module`` loads, in the loading thread and in every thread that waited
    for it; now, if it has loaded. It may be called more than once: make it idempotent.

    >>> calls = []
    >>> on_load(sys, lambda: calls.append("now"))
    >>> calls
    ['now']
    """
    with _LOCK:
        if loaded(module):
            hook()
        else:
            _ON_LOAD.setdefault(types.ModuleType.__getattribute__(module, "__name__"), []).append(hook)


def _load(module: types.ModuleType, name: str) -> None:
    stage = _STAGE.get(name)
    if stage == "body":
        return  # read by its own code while it runs, as in any circular import: as far as it got
    if stage == "package":
        _run(module, name)  # the package's __init__ imports it now: where an eager import runs it
        return
    _STAGE[name] = "package"
    try:
        package = name.rpartition(".")[0]
        if package:
            importlib.import_module(package)
        if type(module) is _Lazy:
            _run(module, name)
    finally:
        del _STAGE[name]


def _run(module: types.ModuleType, name: str) -> None:
    _STAGE[name] = "body"
    spec = types.ModuleType.__getattribute__(module, "__spec__")
    spec.loader.exec_module(module)
    module.__class__ = types.ModuleType
    package, _, child = name.rpartition(".")
    if package:
        setattr(sys.modules[package], child, module)  # as the import system binds a submodule


def _call_hooks() -> None:
    # Every loaded module's: a thread that waited on jax.numpy has waited on jax too.
    for name, hooks in _ON_LOAD.items():
        if loaded(sys.modules[name]):
            for hook in hooks:
                hook()
