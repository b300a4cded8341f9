"""The persistent compilation cache (causaldsl/engines/compilation_cache.py): a truncated entry is
repaired, processes writing at once leave readable entries, the list of checked entries is
replaced atomically. Sessions are subprocesses: JAX's cache is a setting of the whole process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

from causaldsl.engines import compilation_cache as cc

ROOT = Path(__file__).resolve().parents[1]

SESSION = textwrap.dedent('''
    import json, warnings
    warnings.simplefilter("always")
    with warnings.catch_warnings(record=True) as caught:
        import causaldsl as cd
        m = cd.model("model m {\\n x ~ Normal(0, 1)\\n y ~ Normal(2 * x, 1)\\n}")
        r = m.query("E[y | do(x = 1)]", method="monte-carlo", samples=5000, seed=1)  # a program to cache
    print(json.dumps({"value": r.value, "warnings": [str(w.message) for w in caught]}))
''')


def _session(cache: Path) -> subprocess.Popen:
    env = dict(os.environ, CAUSALDSL_COMPILATION_CACHE=str(cache), PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", SESSION], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _result(p: subprocess.Popen) -> dict:
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("*" + cc.SUFFIX))


def test_repair_deletes_what_does_not_decompress_and_keeps_the_rest(tmp_path):
    good = zlib.compress(b"executable" * 1000)
    (tmp_path / "a-cache").write_bytes(good)
    (tmp_path / "a-atime").write_bytes(b"\0" * 8)
    (tmp_path / "b-cache").write_bytes(good[: len(good) // 3])  # a writer killed a third of the way
    (tmp_path / "b-atime").write_bytes(b"\0" * 8)
    (tmp_path / "c-cache").write_bytes(b"")
    assert cc.repair(tmp_path) == ["b-cache", "c-cache"]
    assert [p.name for p in _entries(tmp_path)] == ["a-cache"] and not (tmp_path / "b-atime").exists()
    checked = json.loads((tmp_path / cc.CHECKED).read_text())
    assert list(checked) == ["a-cache"] and checked["a-cache"][0] == len(good)
    assert not list(tmp_path.glob("*.tmp"))                   # the temporary file was moved into place
    assert cc.repair(tmp_path) == []                          # checked entries are not read again
    (tmp_path / "a-cache").write_bytes(good[:10])             # ... unless they changed since
    assert cc.repair(tmp_path) == ["a-cache"]


@pytest.mark.slow
def test_a_truncated_entry_is_rewritten_by_the_next_session(tmp_path):
    first = _result(_session(tmp_path))
    entries = _entries(tmp_path)
    assert entries, "the first session stored its programs"
    for e in entries:  # every entry cut short, as by a process killed while writing
        e.write_bytes(e.read_bytes()[: e.stat().st_size // 2])
    second = _result(_session(tmp_path))
    assert second["value"] == first["value"]
    assert not [w for w in second["warnings"] if "compilation cache" in w]  # JAX never read a bad entry
    assert _entries(tmp_path) and all(cc.intact(e.read_bytes()) for e in _entries(tmp_path))
    third = _result(_session(tmp_path))                                       # and the rewritten ones serve
    assert not [w for w in third["warnings"] if "compilation cache" in w]


@pytest.mark.slow
def test_sessions_writing_at_once_leave_readable_entries(tmp_path):
    results = [_result(p) for p in [_session(tmp_path) for _ in range(3)]]
    assert len({r["value"] for r in results}) == 1
    assert _entries(tmp_path) and all(cc.intact(e.read_bytes()) for e in _entries(tmp_path))
    assert cc.repair(tmp_path) == []
    assert not [w for w in _result(_session(tmp_path))["warnings"] if "compilation cache" in w]
