"""JAX's persistent compilation cache, on request: a second session then pays no compile.

A Monte Carlo or exact query compiles an XLA program the first time its structure is asked
(0.1-0.5 s on a CPU); a later Python session asking the same structure compiles it again.
JAX can keep compiled programs on disk, keyed by the program itself, the JAX version and
the device: on a second session the compile becomes a file read (~1 ms).

JAX's cache is a setting of the whole process, so importing causaldsl leaves it alone. It is
turned on by ``causaldsl.settings.compilation_cache = DIR`` (``True``: the default directory,
``$XDG_CACHE_HOME/causaldsl/jax``, i.e. ``~/.cache/causaldsl/jax``), by the environment variable
``CAUSALDSL_COMPILATION_CACHE`` (a directory, or ``1``/``on`` for the default one), and by the
``causaldsl`` command, which owns its process (``CAUSALDSL_COMPILATION_CACHE=off`` keeps it off
there too). Turning it on sets exactly three options of ``jax.config``:

* ``jax_compilation_cache_dir`` to the directory;
* ``jax_persistent_cache_min_compile_time_secs`` to ``MIN_COMPILE_S`` (programs that compile
  faster are not stored: cheaper to redo);
* ``jax_compilation_cache_max_size`` to ``MAX_BYTES`` (least recently used programs go first;
  JAX locks the directory between processes with the ``filelock`` package).

They apply to every JAX program of the process that compiles for longer than ``MIN_COMPILE_S``.
A cache directory the user configured for JAX themselves is left as it is. Turning it off
(``causaldsl.settings.compilation_cache = None``) puts the three options back as they were.

>>> from causaldsl.engines import compilation_cache
>>> compilation_cache.requested({"CAUSALDSL_COMPILATION_CACHE": "off"}) is None
True
>>> compilation_cache.requested({}) is None
True
>>> str(compilation_cache.requested({"CAUSALDSL_COMPILATION_CACHE": "/tmp/cd-cache"}))
'/tmp/cd-cache'
>>> compilation_cache.requested({"CAUSALDSL_COMPILATION_CACHE": "on", "XDG_CACHE_HOME": "/c"}).as_posix()
'/c/causaldsl/jax'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional, Union

import jax

ENV = "CAUSALDSL_COMPILATION_CACHE"
MIN_COMPILE_S = 0.05
MAX_BYTES = 256 * 2 ** 20
_OFF = {"0", "off", "false", "no", ""}
_ON = {"1", "on", "true", "yes"}
_OPTIONS = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
            "jax_compilation_cache_max_size")
_saved: dict = {}  # the options as they were before causaldsl set them (empty while it has not)


def default_directory(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_CACHE_HOME/causaldsl/jax`` (``~/.cache/causaldsl/jax`` without the variable)."""
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "causaldsl" / "jax"


def requested(environ: Mapping[str, str] = os.environ) -> Optional[Path]:
    """The directory ``CAUSALDSL_COMPILATION_CACHE`` asks for (None: unset or off)."""
    value = environ.get(ENV)
    if value is None or value.strip().lower() in _OFF:
        return None
    return default_directory(environ) if value.strip().lower() in _ON else Path(value).expanduser()


def use(where: Union[str, os.PathLike, bool, None]) -> Optional[Path]:
    """Turn the cache on in ``where`` (``True``: the default directory), or off (``None``,
    ``False``); returns the directory in use, or None when it is off."""
    if where is None or where is False:
        for name, value in _saved.items():
            jax.config.update(name, value)
        _saved.clear()
        return None
    path = default_directory() if where is True else Path(where).expanduser()
    if jax.config.jax_compilation_cache_dir and not _saved:  # the user chose one for JAX: theirs wins
        return Path(jax.config.jax_compilation_cache_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:  # read-only home, etc.: run without it
        return None
    if not _saved:
        _saved.update({name: getattr(jax.config, name) for name in _OPTIONS})
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
    jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    return path
