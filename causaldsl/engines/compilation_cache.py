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

Entries are JAX's: JAX writes each one (``<key>-cache``, its executable compressed with zlib,
or zstd where ``zstandard`` is installed) under its lock file, so processes that compile at the
same time do not write over each other; but a process killed while writing leaves a truncated
entry, which JAX then fails to read (a warning and a full compile in every later session) and
never rewrites (an entry that exists is kept). So turning the cache on repairs the directory
first (:func:`repair`): every entry not checked before is decompressed, under JAX's lock, and
one that fails is deleted, for the next compile to write again. What was checked is listed in
``causaldsl-checked.json`` beside the entries (name, size, modification time), written to a
temporary file and moved into place with ``os.replace``, so that a later session reads only
the new entries, and a reader never sees half a list.

Needs: ``filelock`` (JAX's lock and its size bound; a declared dependency of causaldsl) and,
for entries JAX compressed with zstd, the same ``zstandard`` package JAX used (without it, such
entries are left unchecked).

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

import json
import os
import tempfile
import zlib
from pathlib import Path
from typing import Mapping, Optional, Union

from ..model.lazy_modules import lazy_module
jax = lazy_module("jax")

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
    repair(path)
    if not _saved:
        _saved.update({name: getattr(jax.config, name) for name in _OPTIONS})
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
    jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    return path


SUFFIX, ATIME = "-cache", "-atime"  # JAX's names for an entry and its access-time file
CHECKED = "causaldsl-checked.json"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def intact(data: bytes) -> Optional[bool]:
    """Whether ``data`` (an entry's bytes) decompresses whole: True, False, or None when it is
    zstd and no zstd decoder is installed.

    >>> blob = zlib.compress(b"x" * 1000)
    >>> intact(blob), intact(blob[: len(blob) // 2]), intact(b"")
    (True, False, False)
    """
    try:
        if data[:4] == _ZSTD_MAGIC:
            try:
                from compression import zstd  # Python 3.14
                zstd.decompress(data)
            except ImportError:
                try:
                    import zstandard
                except ImportError:
                    return None
                zstandard.ZstdDecompressor().decompress(data)  # JAX's frames carry their size
            return True
        d = zlib.decompressobj()
        d.decompress(data)
        return d.eof and not d.unused_data
    except Exception:  # noqa: BLE001 - any decoder error means the entry cannot be read
        return False


def repair(path: Union[str, os.PathLike]) -> list[str]:
    """Delete the entries of the cache in ``path`` that do not decompress (module note), with
    their access-time files; returns the names of those deleted.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a-cache").write_bytes(zlib.compress(b"program" * 100))
    >>> _ = (d / "b-cache").write_bytes(zlib.compress(b"program" * 100)[:20])
    >>> repair(d), sorted(p.name for p in d.glob("*-cache"))
    (['b-cache'], ['a-cache'])
    """
    import filelock

    path = Path(path)
    listed = path / CHECKED
    try:
        known = json.loads(listed.read_text())
    except (OSError, ValueError):
        known = {}
    checked, deleted = {}, []
    try:
        with filelock.FileLock(str(path / ".lockfile"), timeout=30):  # JAX's lock: no entry is half written
            for entry in sorted(path.glob("*" + SUFFIX)):
                st = entry.stat()
                mark = [st.st_size, st.st_mtime_ns]
                if known.get(entry.name) == mark or intact(entry.read_bytes()) is not False:
                    checked[entry.name] = mark
                    continue
                entry.unlink()
                (path / (entry.name[: -len(SUFFIX)] + ATIME)).unlink(missing_ok=True)
                deleted.append(entry.name)
            if checked != known:
                _write_atomically(listed, json.dumps(checked))
    except (OSError, filelock.Timeout):  # a read-only or busy directory: JAX copes as before
        pass
    return deleted


def _write_atomically(target: Path, text: str) -> None:
    """``text`` into ``target`` by a temporary file in the same directory and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
