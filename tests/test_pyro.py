"""m.pyro() under Pyro's and ChiRho's own handlers agrees with m.query.

Each check draws N units in one vectorised run of the Pyro model and compares a Monte Carlo
estimate (importance-weighted where there is evidence) with our answer (exact for discrete
models), within 4 standard errors; the hand-computed values of issue 22 check the shift,
functional and stochastic interventions on the ChiRho side.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import causaldsl as cd
from causaldsl.language.errors import CausalDSLError
from models import GAUSS

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
N = 100_000

DRUG = """model drug {
    Z ~ Bernoulli(0.4)
    X ~ Bernoulli(if Z then 0.7 else 0.2)
    Y ~ Bernoulli(0.1 + 0.5 * X + 0.3 * Z)
}"""


@pytest.fixture(scope="module")
def pt():
    """torch, pyro and ChiRho's handlers, imported once for the module (torch is slow to import)."""
    import pyro
    import pyro.distributions as dist
    import torch
    from chirho.counterfactual.handlers import MultiWorldCounterfactual
    from chirho.indexed.ops import IndexSet, gather
    from chirho.interventional.handlers import do
    from chirho.observational.handlers import condition

    class NS:
        pass

    ns = NS()
    ns.torch, ns.pyro, ns.dist = torch, pyro, dist
    ns.MultiWorld, ns.IndexSet, ns.gather, ns.do, ns.condition = MultiWorldCounterfactual, IndexSet, gather, do, condition
    return ns


def tutorial(file: str, name: str = None):
    return cd.load(TUTORIALS / file, name=name)


def agree(estimate: float, se: float, expected: float, floor: float = 2e-3) -> None:
    """``estimate`` within 4 standard errors of ``expected`` (``floor``: float32 rounding)."""
    assert abs(estimate - expected) <= 4 * se + floor, (estimate, se, expected)


def mean_se(values) -> tuple[float, float]:
    v = np.asarray(values, dtype=float).reshape(-1)
    return float(v.mean()), float(v.std() / np.sqrt(v.size))


def weighted(values, log_w) -> tuple[float, float]:
    """Self-normalised importance estimate and its delta-method standard error."""
    v = np.asarray(values, dtype=float).reshape(-1)
    w = np.exp(np.asarray(log_w, dtype=float) - np.max(log_w))
    w = w / w.sum()
    est = float(np.sum(w * v))
    return est, float(np.sqrt(np.sum(w * w * (v - est) ** 2)))


def unit_log_weights(tr, torch):
    """Each unit's log likelihood of the evidence: the observed sites' log densities, summed
    over everything but the units' plate (dim -1; ChiRho masks the worlds that are not factual)."""
    tr.compute_log_prob()
    total = 0.0
    for site in tr.nodes.values():
        if site["type"] == "sample" and site["is_observed"] and site["log_prob"].dim():
            lp = site["log_prob"]
            total = total + lp.reshape(-1, lp.shape[-1]).sum(0)
    return total.detach().numpy()


def run(pt, fn, seed=0, n=N):
    """A trace of ``fn(n)`` (handlers are applied around the call by the caller)."""
    pt.pyro.set_rng_seed(seed)
    return pt.pyro.poutine.trace(fn).get_trace(n)


def counterfactual(pt, fn, actions, evidence, site, world, seed=0):
    """``E[site in world | evidence]`` under ChiRho's MultiWorldCounterfactual: the evidence
    conditions the factual world, ``actions`` open the counterfactual ones (``world``, an IndexSet
    spec such as ``{"X": {1}}``, picks one)."""
    torch = pt.torch
    data = {k: torch.full((N,), float(v)) for k, v in evidence.items()}
    with pt.MultiWorld():
        tr = run(pt, pt.condition(data=data)(pt.do(actions=actions)(fn)), seed)
        value = pt.gather(tr.nodes[site]["value"], pt.IndexSet(**world)).reshape(-1)
        return weighted(value.detach().numpy(), unit_log_weights(tr, torch))


# ------------------------------------------------------------------ rung 1: Predictive, conditioning

@pytest.mark.parametrize("file, name, event, site, level", [
    ("smoking.causal", None, "P(cancer = 1)", "cancer", 1),
    ("smoking.causal", None, "P(tar = 1)", "tar", 1),
    ("kidney.causal", None, "P(treatment = B)", "treatment", 1),  # levels A, B: codes 0, 1
    ("mediation.causal", "mediation_confounded", "P(Y = 1)", "Y", 1),
])
def test_predictive_marginals_discrete(pt, file, name, event, site, level):
    m = tutorial(file, name)
    pt.pyro.set_rng_seed(1)
    draws = pt.pyro.infer.Predictive(m.pyro(), num_samples=1)(n=N)
    agree(*mean_se(draws[site].numpy() == level), m.query(event).value)


def test_predictive_marginals_continuous(pt):
    m = tutorial("linear_gaussian.causal", "lg")
    pt.pyro.set_rng_seed(2)
    draws = pt.pyro.infer.Predictive(m.pyro(), num_samples=1)(n=N)
    y = draws["y"].numpy().reshape(-1)
    agree(*mean_se(y), 0.0)
    agree(*mean_se(y > 3), m.query("P(y > 3)").value)
    agree(*mean_se((y - y.mean()) ** 2), 13.86, floor=0.02)  # Var(y), from the file's comment


# Every family of the language, with parameters that depend on a parent (so the values go
# through the quantile functions of causaldsl.model.distributions or their torch closed forms),
# and every kind of expression.
FAMILIES = """model fam {
    a ~ Bernoulli(0.3)
    c ~ Categorical(lo: 0.2, mid: table(a) {0: 0.5, 1: 0.3}, hi: table(a) {0: 0.3, 1: 0.5})
    b ~ Binomial(if a then 4 else 2, 0.4)
    p ~ Poisson(1 + 2 * a)
    n ~ Normal(a - 1, 1 + a)
    ln ~ LogNormal(0.1 * a, 0.5)
    t ~ StudentT(3 + 2 * a, 1, 2)
    u ~ Uniform(0, 1 + a)
    e ~ Exponential(1 + a)
    g ~ Gamma(2 + a, 3)
    be ~ Beta(2 + a, 3)
    h ~ HalfNormal(1 + a)
    s := sigmoid(n) + exp(-abs(t)) + sqrt(u) + log(1 + e) + min(g, be, 0.5) + max(h, 0.2) + 2 ** a
    k := (b >= 2 and not (p == 0)) or (c != 1 and ln > 1)
}"""


@pytest.fixture(scope="module")
def family_draws(pt):
    """Draws of FAMILIES from Pyro and from our Monte Carlo engine (m.sample: one compiled
    program for every variable, where thirteen queries compiled thirteen)."""
    m = cd.model(FAMILIES)
    pt.pyro.set_rng_seed(3)
    return pt.pyro.infer.Predictive(m.pyro(), num_samples=1)(n=N // 2), m.sample(N // 2, seed=3)


@pytest.mark.slow
@pytest.mark.parametrize("var", ["c", "b", "p", "n", "ln", "t", "u", "e", "g", "be", "h", "s", "k"])
def test_every_family_and_expression(family_draws, var):
    ours, theirs = family_draws
    mine = ours[var].numpy().reshape(-1)
    ref = np.asarray(theirs[var])
    if var == "c":  # levels lo, mid, hi: codes 0, 1, 2
        mine, ref = mine == 2, ref == "hi"
    (a, sa), (b, sb) = mean_se(mine), mean_se(ref.astype(float))
    agree(a, np.hypot(sa, sb), b)


def test_conditioning_on_data(pt):
    """Evidence passed as data (level names allowed) or with pyro.condition: importance weights
    give the conditional, on a ~ variable and on a := one."""
    kidney = tutorial("kidney.causal")
    tr = run(pt, lambda n: kidney.pyro()(data={"treatment": np.array(["A"] * n)}))
    agree(*weighted(tr.nodes["recovery"]["value"].numpy(), unit_log_weights(tr, pt.torch)),
          kidney.query("P(recovery = 1 | treatment = A)").value)
    squad = tutorial("firing_squad.causal", "nervous_rifleman")
    fn = pt.pyro.condition(squad.pyro(), data={"D": pt.torch.ones(N)})
    tr = run(pt, fn)
    agree(*weighted(tr.nodes["U"]["value"].numpy(), unit_log_weights(tr, pt.torch)),
          squad.query("P(U = 1 | D = 1)").value)
    lg = tutorial("linear_gaussian.causal", "lg")
    tr = run(pt, pt.pyro.condition(lg.pyro(), data={"x": pt.torch.ones(N)}))
    agree(*weighted(tr.nodes["y"]["value"].numpy(), unit_log_weights(tr, pt.torch)), lg.query("E[y | x = 1]").value)


def test_parameters_prior_predictive(pt):
    """``param q[x] ~ Beta(2, 3)``: a site outside the plate, each unit reading its own entry,
    also with Predictive's parallel draws. Two units share q: P(y₁ = y₂ = 1) is E[q²] = 0.2 where
    their x agree and E[q]² = 0.16 where not (the entries are independent)."""
    m = cd.model("model pm {\n param q[x] ~ Beta(2, 3)\n x ~ Bernoulli(0.5)\n y ~ Bernoulli(q[x])\n}")
    pt.pyro.set_rng_seed(11)
    d = pt.pyro.infer.Predictive(m.pyro(), num_samples=N, parallel=True)(n=2)
    x, y = d["x"].numpy().reshape(N, 2), d["y"].numpy().reshape(N, 2)
    assert d["q"].shape == (N, 1, 2)
    same, both = x[:, 0] == x[:, 1], (y[:, 0] == 1) & (y[:, 1] == 1)
    agree(*mean_se(both[same]), 0.2)
    agree(*mean_se(both[~same]), 0.16)
    agree(*mean_se(y), m.query("P(y = 1)").value)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Found vars in model but not guide")  # the noise sites, on purpose
def test_svi_fits_a_parameter_from_data(pt):
    """A PyTorch user's fit: SVI with an AutoNormal guide on the parameter, data passed to the
    model; the posterior of mu (prior Normal(0, 10), unit noise) is centred at
    sum(y - 2x) / (n + 1/100)."""
    from pyro.infer import SVI, Trace_ELBO
    from pyro.infer.autoguide import AutoNormal

    pyro = pt.pyro
    fn = cd.model("model fitme {\n param mu ~ Normal(0, 10)\n x ~ Bernoulli(0.5)\n y ~ Normal(mu + 2 * x, 1)\n}").pyro()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, 200).astype(float)
    y = 1.5 + 2 * x + rng.normal(size=200)
    pyro.set_rng_seed(0)
    pyro.clear_param_store()
    guide = AutoNormal(pyro.poutine.block(fn, expose=["mu"]))  # the noise sites stay with the model
    svi = SVI(fn, guide, pyro.optim.Adam({"lr": 0.05}), Trace_ELBO())
    for _ in range(600):
        svi.step(data={"x": x, "y": y})
    assert float(guide.median()["mu"]) == pytest.approx((y - 2 * x).sum() / (200 + 0.01), abs=0.03)


# ------------------------------------------------------------------ rung 2: ChiRho's do

@pytest.mark.parametrize("file, name, action, event, site, level", [
    ("smoking.causal", None, {"smoking": 1.0}, "P(cancer = 1 | do(smoking = 1))", "cancer", 1),
    ("kidney.causal", None, {"treatment": 0.0}, "P(recovery = 1 | do(treatment = A))", "recovery", 1),
    ("firing_squad.causal", "nervous_rifleman", {"A": 0.0}, "P(D = 1 | do(A = 0))", "D", 1),
    ("linear_gaussian.causal", "lg", {"x": 1.0}, "E[y | do(x = 1)]", "y", None),
])
def test_chirho_do_matches_do_queries(pt, file, name, action, event, site, level):
    m = tutorial(file, name)
    actions = {k: pt.torch.tensor(v) for k, v in action.items()}
    tr = run(pt, pt.do(actions=actions)(m.pyro()), seed=4)
    v = tr.nodes[site]["value"].numpy()
    agree(*mean_se(v if level is None else v == level), m.query(event).value)


def test_chirho_do_on_our_intervened_model(pt):
    """m.do(...) then .pyro() is the same model as ChiRho's do on m.pyro()."""
    m = tutorial("smoking.causal")
    tr = run(pt, m.do(smoking=0).pyro(), seed=5)
    agree(*mean_se(tr.nodes["cancer"]["value"].numpy()), m.query("P(cancer = 1 | do(smoking = 0))").value)


# ------------------------------------------------------------------ rung 3: MultiWorldCounterfactual

@pytest.mark.parametrize("file, name, action, evidence, site, query", [
    ("smoking.causal", None, {"smoking": 0.0}, {"smoking": 1, "cancer": 1}, "cancer",
     "P(cancer[smoking = 0] = 1 | smoking = 1, cancer = 1)"),
    ("kidney.causal", None, {"treatment": 1.0}, {"treatment": 0, "recovery": 1}, "recovery",
     "P(recovery[treatment = B] = 1 | treatment = A, recovery = 1)"),
    ("firing_squad.causal", "nervous_rifleman", {"A": 0.0}, {"D": 1}, "D", "P(D[A = 0] = 1 | D = 1)"),
    ("mediation.causal", "mediation_confounded", {"M": 0.0}, {"X": 1, "Y": 1}, "Y", "P(Y[M = 0] = 1 | X = 1, Y = 1)"),
    ("linear_gaussian.causal", "lg", {"x": 0.0}, {"x": 1, "y": 3}, "y", "E[y[x = 0] | x = 1, y = 3]"),
])
def test_multiworld_counterfactuals(pt, file, name, action, evidence, site, query):
    m = tutorial(file, name)
    (var,) = action
    est = counterfactual(pt, m.pyro(), {k: pt.torch.tensor(v) for k, v in action.items()}, evidence, site,
                         {var: {1}}, seed=6)
    agree(*est, m.query(query).value)


def test_multiworld_shares_noise_without_evidence(pt):
    """Two worlds of a linear model differ by exactly the effect; a discrete one gives the
    model's PNS-style joint of the two worlds, which needs the shared noise."""
    lg = tutorial("linear_gaussian.causal", "lg")
    with pt.MultiWorld():
        tr = run(pt, pt.do(actions={"x": (pt.torch.tensor(0.0), pt.torch.tensor(1.0))})(lg.pyro()))
        y = tr.nodes["y"]["value"]
        diff = (pt.gather(y, pt.IndexSet(x={2})) - pt.gather(y, pt.IndexSet(x={1}))).numpy()
    assert np.allclose(diff, 2.0, atol=1e-4)
    drug = cd.model(DRUG)
    with pt.MultiWorld():
        tr = run(pt, pt.do(actions={"X": (pt.torch.tensor(0.0), pt.torch.tensor(1.0))})(drug.pyro()))
        y = tr.nodes["Y"]["value"]
        both = ((pt.gather(y, pt.IndexSet(X={2})) == 1) & (pt.gather(y, pt.IndexSet(X={1})) == 0)).numpy()
    agree(*mean_se(both), drug.query("P(Y[X = 1] = 1, Y[X = 0] = 0)").value)
    assert drug.query("P(Y[X = 1] = 1, Y[X = 0] = 0)").value == pytest.approx(0.5)  # the comonotone coupling


def test_multiworld_nested_counterfactual(pt):
    """E[Y[X = 1, M = M[X = 0]]], the term of the natural direct effect, with a confounded
    mediator: ChiRho's nested do (M set to its value in the world X = 0) agrees with ours."""
    m = tutorial("mediation.causal", "mediation_confounded")
    torch, gather, IndexSet = pt.torch, pt.gather, pt.IndexSet
    with pt.MultiWorld():
        fn = pt.do(actions={"X": (torch.tensor(0.0), torch.tensor(1.0))})(
            pt.do(actions={"M": lambda mm: gather(mm, IndexSet(X={1}))})(m.pyro()))
        tr = run(pt, fn, seed=12)
        y = gather(tr.nodes["Y"]["value"], IndexSet(X={2}, M={1})).numpy()
    agree(*mean_se(y), m.query("E[Y[X = 1, M = M[X = 0]]]").value)


# ------------------------------------------------------------------ issue 22's hand values, ChiRho side

def test_stochastic_intervention(pt):
    """P(Y = 1 | do(X ~ Bernoulli(0.3))) = 0.37: the action draws X afresh."""
    torch, dist = pt.torch, pt.dist
    fn = cd.model(DRUG).pyro()
    act = {"X": lambda x: pt.pyro.sample("X_do", dist.Bernoulli(torch.full_like(x, 0.3)))}
    tr = run(pt, pt.do(actions=act)(fn), seed=7)
    ours = cd.model(DRUG).query("P(Y = 1 | do(X ~ Bernoulli(0.3)))")
    assert ours.method == "exact" and ours.value == pytest.approx(0.37, abs=1e-12)
    agree(*mean_se(tr.nodes["Y"]["value"].numpy()), ours.value)


@pytest.mark.parametrize("regime, text, expected", [(lambda z: z, "Z", 0.42), (lambda z: 1 - z, "1 - Z", 0.52)])
def test_functional_intervention(pt, regime, text, expected):
    """P(Y = 1 | do(X = Z)) = 0.42 and do(X = 1 - Z) = 0.52: the action reads Z from the trace."""
    fn = cd.model(DRUG).pyro()
    pt.pyro.set_rng_seed(8)
    with pt.pyro.poutine.trace() as tr:
        pt.do(actions={"X": lambda x: regime(tr.trace.nodes["Z"]["value"])})(fn)(N)
    ours = cd.model(DRUG).query(f"P(Y = 1 | do(X = {text}))")
    assert ours.method == "exact" and ours.value == pytest.approx(expected, abs=1e-12)
    agree(*mean_se(tr.trace.nodes["Y"]["value"].numpy()), ours.value)


def test_shift_intervention(pt):
    """E[Y | do(X = X + 1)] = 2 and E[Y[X = X + 1] | X = 1, Y = 3] = 5 (linear Gaussian)."""
    fn = cd.model(GAUSS).pyro()
    tr = run(pt, pt.do(actions={"X": lambda x: x + 1})(fn), seed=9)
    agree(*mean_se(tr.nodes["Y"]["value"].numpy()), 2.0)
    assert cd.model(GAUSS).query("E[Y | do(X = X + 1)]").value == pytest.approx(2.0, abs=1e-12)  # exact (Gaussian)
    ours = cd.model(GAUSS).query("E[Y | do(X = X + 1)]", samples=400_000, method="monte-carlo")
    assert abs(ours.value - 2.0) < 4 * ours.stderr
    chirho_mean, chirho_se = mean_se(tr.nodes["Y"]["value"].numpy())
    assert abs(chirho_mean - ours.value) < 4 * np.hypot(chirho_se, ours.stderr)
    cf = cd.model(GAUSS).query("E[Y[X = X + 1] | X = 1, Y = 3]")
    assert cf.value == pytest.approx(5.0, abs=1e-9)
    agree(*counterfactual(pt, fn, {"X": lambda x: x + 1}, {"X": 1, "Y": 3}, "Y", {"X": {1}}, seed=10), cf.value)


# ------------------------------------------------------------------ the translation itself

PARAMS = {"Bernoulli": (0.3,), "Categorical": (0.2, 0.5, 0.3), "Binomial": (6.0, 0.35), "Poisson": (2.5,),
          "Normal": (1.5, 0.7), "LogNormal": (0.2, 0.9), "StudentT": (3.0, 1.0, 2.0), "Uniform": (-1.0, 3.0),
          "Exponential": (1.5,), "Gamma": (2.5, 3.0), "Beta": (2.0, 3.0), "HalfNormal": (1.3,)}


@pytest.mark.parametrize("family", sorted(PARAMS))
def test_quantiles_and_cdfs_are_the_languages(pt, family):
    """The torch/SciPy quantile and CDF of each family are those of causaldsl.model.distributions
    (the engines' coupling), and the site's log density is the family's."""
    import jax
    import jax.numpy as jnp
    import scipy.special

    from causaldsl.engines import pyro_backend as pb
    from causaldsl.model.distributions import FAMILIES as FAMS

    torch, fam = pt.torch, FAMS[family]
    u = np.array([0.013, 0.2, 0.5, 0.77, 0.991])
    noise = scipy.special.ndtri(u) if family in pb.Z_NOISE else u
    params = tuple(torch.tensor(p, dtype=torch.float64) for p in PARAMS[family])
    mine = pb.quantile(family, params, torch.tensor(noise, dtype=torch.float64)).numpy()
    with jax.enable_x64(True):
        jp = tuple(jnp.full(u.shape, p) for p in PARAMS[family])
        kmax = {"Bernoulli": 1, "Categorical": 2, "Binomial": 6}.get(family)
        ref = np.asarray(fam.from_z(jp, jnp.asarray(noise)) if family in pb.Z_NOISE else fam.quantile(jp, jnp.asarray(u), kmax))
        back = pb.cdf(family, params, torch.tensor(ref, dtype=torch.float64)).numpy()
        ref_cdf = np.asarray(fam.to_z(jp, jnp.asarray(ref)) if family in pb.Z_NOISE  # discrete CDFs: their NumPy form
                             else fam.cdf(tuple(np.asarray(p) for p in jp), ref) if fam.discrete
                             else fam.cdf(jp, jnp.asarray(ref)))
        lp = (np.log(fam.pmf(tuple(np.float64(p) for p in PARAMS[family]), ref)) if fam.discrete
              else np.asarray(fam.log_prob(jp, jnp.asarray(ref))))
    np.testing.assert_allclose(mine, ref, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(back, ref_cdf, rtol=1e-6, atol=1e-9)
    site = pb.mechanism_class()(family, params, torch.tensor(noise, dtype=torch.float64))
    np.testing.assert_allclose(site.log_prob(torch.tensor(ref, dtype=torch.float64)).numpy(), lp, rtol=1e-6)


def test_an_expression_compiles_once_for_torch_too(pt):
    from causaldsl.language.parser import parse_query
    from causaldsl.model.expressions import compile_expr

    torch = pt.torch
    e = parse_query("E[if x > 1 and not (y == 0) then 2 * x / y + max(x, y, 0.5) else -sigmoid(x) + "
                    "table(y) {0: 1, 2: 3} + abs(x) ** 2]").expr
    env = {"x": np.array([0.0, 3.0, 2.0]), "y": np.array([2.0, 2.0, 0.0])}
    with np.errstate(divide="ignore"):  # 2 * 2 / 0 in the branch not taken
        np_out = compile_expr(e, np)(env)
    th_out = compile_expr(e, torch)({k: torch.tensor(v) for k, v in env.items()})
    np.testing.assert_allclose(th_out.numpy(), np_out, rtol=1e-6)


# ------------------------------------------------------------------ errors, imports

def test_bad_data_is_a_causaldsl_error(pt):
    fn = tutorial("kidney.causal").pyro()
    with pytest.raises(CausalDSLError, match="not a variable") as e:
        fn(data={"treatmnt": np.zeros(3)})
    assert "treatment" in e.value.hint
    with pytest.raises(CausalDSLError, match="not a level") as e:
        fn(data={"treatment": np.array(["C"])})
    assert "A, B" in e.value.hint


def test_missing_pyro_is_a_causaldsl_error(monkeypatch):
    from causaldsl.engines import pyro_backend

    monkeypatch.setitem(sys.modules, "pyro", None)  # import pyro raises ImportError
    with pytest.raises(CausalDSLError, match="needs PyTorch and Pyro") as e:
        pyro_backend._torch()
    assert "causaldsl[pyro]" in e.value.hint


def test_import_causaldsl_does_not_import_torch():
    code = "import causaldsl, sys; m = causaldsl.model('model m {\\n x ~ Bernoulli(0.5)\\n}'); " \
           "m.query('P(x = 1)'); assert 'torch' not in sys.modules and 'pyro' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
