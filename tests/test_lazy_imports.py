"""JAX is imported on first use (causaldsl.model.lazy_modules): importing causaldsl, loading a BIF
and asking exact questions (answered in NumPy) import no JAX; Monte Carlo and the compiled tier
import it when they need it, in whichever thread comes first, and still compute in float64.

Each check runs in a fresh interpreter (the test process imported JAX long ago) and prints one
JSON object; the answers are checked here against pgmpy's variable elimination.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pgmpy
from pgmpy.inference import VariableElimination
from pgmpy.readwrite import BIFReader

ROOT = Path(__file__).resolve().parents[1]
ASIA = os.path.join(os.path.dirname(pgmpy.__file__), "utils", "example_models", "asia.bif.gz")

# Modules whose presence in sys.modules means that JAX's (or NumPyro's, scipy.special's) code ran:
# sys.modules["jax"] itself is there from the start, as a module whose code has not run yet.
HEAVY = ("jax._src", "jaxlib", "ml_dtypes", "numpyro", "scipy.special._ufuncs")

_PRELUDE = f"""
    import json, sys, threading
    HEAVY = {HEAVY!r}
    def heavy():
        return sorted(m for m in HEAVY if m in sys.modules)
"""


def _run(code: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if k != "CAUSALDSL_COMPILATION_CACHE"}
    environ.update(PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(_PRELUDE) + textwrap.dedent(code)],
                         cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _asia_gzip_text() -> str:
    import gzip

    with gzip.open(ASIA, "rt") as f:
        return f.read()


def _pgmpy(target: str, evidence: dict, do: dict = None) -> float:
    """P(target = yes | evidence) on asia, or on the network with the arcs into ``do`` cut."""
    bn = BIFReader(string=_asia_gzip_text()).get_model()
    if do:
        bn = bn.do(list(do))
        for x, v in do.items():  # the cut node held at v: its table a point mass
            from pgmpy.factors.discrete import TabularCPD

            states = bn.get_cpds(x).state_names[x]
            bn.remove_cpds(bn.get_cpds(x))
            bn.add_cpds(TabularCPD(x, len(states), [[1.0 if s == v else 0.0] for s in states],
                                   state_names={x: states}))
        evidence = {**evidence, **do}
    q = VariableElimination(bn).query([target], evidence=evidence, show_progress=False)
    return float(q.values[q.state_names[target].index("yes")])


def test_exact_answers_on_a_bif_import_no_jax_and_monte_carlo_still_works():
    got = _run(f"""
    import causaldsl as cd
    after_import = heavy()
    m = cd.from_bif({ASIA!r})
    conditional = m.query("P(dysp = yes | smoke = yes, xray = yes)")
    do = m.query("P(dysp = yes | do(smoke = yes))")
    after_exact = heavy()
    mc = m.query("P(dysp = yes | do(smoke = yes))", method="monte-carlo", samples=20_000)
    import jax
    print(json.dumps({{"after_import": after_import, "after_exact": after_exact, "after_mc": heavy(),
                      "conditional": [conditional.value, conditional.method], "do": do.value,
                      "mc": [mc.value, mc.stderr, mc.method], "x64_after": bool(jax.config.jax_enable_x64)}}))
    """)
    assert got["after_import"] == [] and got["after_exact"] == []
    assert {"jax._src", "ml_dtypes"} <= set(got["after_mc"])
    assert got["conditional"][1] == "exact"
    assert abs(got["conditional"][0] - _pgmpy("dysp", {"smoke": "yes", "xray": "yes"})) < 1e-9
    exact_do = _pgmpy("dysp", {}, do={"smoke": "yes"})
    assert abs(got["do"] - exact_do) < 1e-9
    value, stderr, method = got["mc"]
    assert method == "monte-carlo" and 0 < stderr < 0.02 and abs(value - exact_do) < 5 * stderr
    assert got["x64_after"] is False  # the switch was per call, and JAX arrived inside one


def test_the_compile_worker_imports_jax_while_numpy_answers():
    """The second ask compiles in the background: the worker thread is the first to import JAX
    (under the lazy modules' lock), the answers meanwhile are NumPy's, and the compiled program,
    traced in the worker, computes in float64 (it agrees with NumPy's answer to 1e-12)."""
    got = _run(f"""
    import causaldsl as cd
    from causaldsl.engines.exact import wait_compiled
    from causaldsl.model.lazy_modules import on_load
    first = []
    on_load(sys.modules["jax"], lambda: first.append(threading.current_thread().name))
    m = cd.from_bif({ASIA!r})
    q = "P(lung = yes | xray = yes, dysp = no)"
    answers, tiers = [], []
    for _ in range(2):
        answers.append(m.query(q).value)
        tiers.append([p.tier for p in m.engine.exact.values()])
    wait_compiled()
    answers.append(m.query(q).value)
    tiers.append([p.tier for p in m.engine.exact.values()])
    print(json.dumps({{"first": first[:1], "answers": answers, "tiers": tiers, "heavy": heavy()}}))
    """)
    assert got["first"] == ["causaldsl-compile"]
    assert got["tiers"] == [["numpy"], ["numpy"], ["compiled"]]
    expected = _pgmpy("lung", {"xray": "yes", "dysp": "no"})
    assert all(abs(a - expected) < 1e-12 for a in got["answers"]), (got["answers"], expected)
    assert "jax._src" in got["heavy"]


def test_float64_reaches_the_calls_that_began_before_jax_loaded():
    """A call under engines.config.float64 that began before JAX was imported computes in float64
    whether its own thread loads JAX or waits while another thread does; the switch is off again
    after it, and the user's JAX stays float32."""
    got = _run("""
    import time
    from causaldsl.engines.config import float64
    from causaldsl.model.lazy_modules import lazy_module, loaded
    jnp = lazy_module("jax.numpy")
    started, out = threading.Event(), {}

    @float64
    def other_thread_loads():
        started.set()
        out["loader"] = str(jnp.ones(1).dtype)

    @float64
    def main_waits():
        before = loaded(jnp)
        worker = threading.Thread(target=other_thread_loads)
        worker.start()
        started.wait()
        time.sleep(0.05)  # the worker is inside JAX's import (about a second): this read waits for it
        dtype = str(jnp.ones(1).dtype)
        worker.join()
        return before, dtype

    before, dtype = main_waits()
    import jax
    print(json.dumps({"before": before, "waiter": dtype, "loader": out["loader"],
                      "after": str(jnp.ones(1).dtype), "x64": bool(jax.config.jax_enable_x64)}))
    """)
    assert got == {"before": False, "waiter": "float64", "loader": "float64", "after": "float32", "x64": False}
