"""Importing and using causaldsl changes no setting of the process (issue 19).

JAX's float64 switch and its persistent compilation cache are settings of the whole process:
a peer library or the user's own JAX code in the same process must see what they set. Each
check runs in a fresh interpreter, since the test process has imported causaldsl long ago.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, **env) -> dict:
    """Run ``code`` in a fresh interpreter (without CAUSALDSL_COMPILATION_CACHE unless given);
    it prints one JSON object as its last line."""
    environ = {k: v for k, v in os.environ.items() if k != "CAUSALDSL_COMPILATION_CACHE"}
    environ.update(env, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=environ,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


_STATE = """
    def state():
        import threading
        import jax
        import jax.numpy as jnp
        return {"x64": bool(jax.config.jax_enable_x64), "cache": jax.config.jax_compilation_cache_dir,
                "dtype": str(jnp.ones(1).dtype),
                "threads": sorted(t.name for t in threading.enumerate()
                                  if t is not threading.main_thread() and not t.daemon)}
"""


def test_import_leaves_jax_config_as_it_found_it():
    got = _run(_STATE + """
    import json
    before = state()
    import causaldsl
    print(json.dumps({"before": before, "after": state()}))
    """)
    assert got["before"] == got["after"]
    assert got["after"] == {"x64": False, "cache": None, "dtype": "float32", "threads": []}


def test_answers_are_float64_and_leave_the_users_precision_alone():
    got = _run(_STATE + """
    import json
    import causaldsl as cd
    from causaldsl.engines.exact import wait_compiled

    m = cd.load("tutorials/smoking.causal")
    exact = [m.query("P(cancer = 1 | do(smoking = 1))").value for _ in range(3)]  # NumPy, then compiled
    wait_compiled()
    exact.append(m.query("P(cancer = 1 | do(smoking = 1))").value)
    lg = cd.program(open("tutorials/linear_gaussian.causal").read())[0]
    mc = lg.query("E[y]", method="monte-carlo")  # Monte Carlo's draws (E[y] is exact, by Gaussian)
    draws = lg.sample(4, seed=3)
    print(json.dumps({"exact": exact, "mc": [mc.value, mc.stderr], "draws": str(draws["y"].dtype),
                      "state": state()}))
    """)
    assert all(abs(v - 0.635) <= 1e-15 for v in got["exact"])
    # the same draws as when the whole process runs in float64 (the next test)
    assert got["mc"] == [-0.013793380158434855, 0.008337722946578256]
    assert got["draws"] == "float64"
    # after the compile worker is done, causaldsl holds no thread, and the user's JAX is as it was
    assert got["state"] == {"x64": False, "cache": None, "dtype": "float32", "threads": []}


def test_a_user_in_float64_gets_the_same_answers():
    got = _run("""
    import json
    import jax
    jax.config.update("jax_enable_x64", True)
    import causaldsl as cd
    m = cd.load("tutorials/smoking.causal")
    lg = cd.program(open("tutorials/linear_gaussian.causal").read())[0]
    print(json.dumps({"exact": m.query("P(cancer = 1 | do(smoking = 1))").value,
                      "mc": lg.query("E[y]", method="monte-carlo").value, "x64": bool(jax.config.jax_enable_x64)}))
    """)
    assert got == {"exact": 0.635, "mc": -0.013793380158434855, "x64": True}


def test_the_compilation_cache_is_opt_in_and_reversible(tmp_path):
    got = _run("""
    import json
    import jax
    import causaldsl as cd
    on = [str(cd.settings.compilation_cache), jax.config.jax_compilation_cache_dir]
    cd.settings.compilation_cache = None
    off = [cd.settings.compilation_cache, jax.config.jax_compilation_cache_dir,
           jax.config.jax_persistent_cache_min_compile_time_secs]
    print(json.dumps({"on": on, "off": off}))
    """, CAUSALDSL_COMPILATION_CACHE=str(tmp_path / "jax"))
    assert got["on"] == [str(tmp_path / "jax")] * 2
    assert got["off"] == [None, None, 1.0]  # JAX's own defaults, as they were before


def test_the_compile_worker_takes_no_new_job_once_the_program_ends():
    # A script that asked its questions exits without compiling what it queued: its main thread
    # has ended, so the worker stops after the job in flight.
    got = _run("""
    import json, threading, time
    from causaldsl.engines.exact import COMPILER
    ran, started = [], threading.Event()
    def slow():
        started.set()
        time.sleep(0.3)
        ran.append("first")
    COMPILER.submit(slow)
    for i in range(20):
        COMPILER.submit(lambda i=i: ran.append(i))
    started.wait()
    import atexit
    atexit.register(lambda: print(json.dumps({"ran": ran})))  # atexit runs after threads are joined
    """)
    assert got == {"ran": ["first"]}
