"""A persistent XLA compilation cache, so that a second session pays no compile.

A Monte Carlo or exact query compiles an XLA program the first time its structure is asked
(0.1-0.5 s on a CPU); a later Python session asking the same structure compiles it again.
JAX can keep compiled programs on disk, keyed by the program itself, the JAX version and
the device: on a second session the compile becomes a file read (~1 ms). causaldsl turns
it on when imported, in ``$XDG_CACHE_HOME/causaldsl/jax`` (``~/.cache/causaldsl/jax``):

* programs that compiled in under ``MIN_COMPILE_S`` are not stored (cheaper to redo);
* the directory is kept under ``MAX_BYTES`` (least recently used programs go first; this
  needs the ``filelock`` package, without which it is not bounded);
* ``CAUSALDSL_COMPILATION_CACHE=0`` (or ``off``, ``false``, ``no``) turns it off,
  ``CAUSALDSL_COMPILATION_CACHE=/some/dir`` puts it elsewhere;
* a cache directory the user configured for JAX themselves is left as it is.

The setting is JAX's, so it is process-wide: other JAX programs of the same process that
take longer than ``MIN_COMPILE_S`` to compile are cached there too.

>>> from causaldsl.backends import compilation_cache
>>> compilation_cache.directory({"CAUSALDSL_COMPILATION_CACHE": "off"}) is None
True
>>> str(compilation_cache.directory({"CAUSALDSL_COMPILATION_CACHE": "/tmp/cd-cache"}))
'/tmp/cd-cache'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional

import jax

ENV = "CAUSALDSL_COMPILATION_CACHE"
MIN_COMPILE_S = 0.05
MAX_BYTES = 256 * 2 ** 20
_OFF = {"0", "off", "false", "no", ""}


def directory(environ: Mapping[str, str] = os.environ) -> Optional[Path]:
    """Where the cache goes (None: off), from ``CAUSALDSL_COMPILATION_CACHE`` or the user cache dir."""
    value = environ.get(ENV)
    if value is not None:
        return None if value.strip().lower() in _OFF else Path(value).expanduser()
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "causaldsl" / "jax"


def enable(environ: Mapping[str, str] = os.environ) -> Optional[Path]:
    """Turn the cache on (once per process); returns its directory, or None when it stays off."""
    if jax.config.jax_compilation_cache_dir:  # the user chose one: theirs wins
        return Path(jax.config.jax_compilation_cache_dir)
    path = directory(environ)
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:  # read-only home, etc.: run without it
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
    try:  # eviction needs file locks between processes; without the package the cache just grows
        import filelock  # noqa: F401

        jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    except ImportError:
        pass
    return path
