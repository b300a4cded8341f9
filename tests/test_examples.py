"""The tutorials: every query written in tutorials/*.causal, checked against a published
value or a closed form computed here by hand, independently of the engine.

Exact answers are checked to 1e-6; Monte Carlo answers to within 4 standard errors,
with the standard error itself required to be small (< 0.02) so that the check bites.
"""

from __future__ import annotations

import itertools
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import causaldsl as cd

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = ROOT / "tutorials"

EXACT_TOL = 1e-6
MAX_STDERR = 0.02


# ---------------------------------------------------------------------------- helpers
def programs(name: str) -> dict[str, cd.CausalModel]:
    """The models of tutorials/NAME, by model name."""
    return {m.name: m for m in cd.program((TUTORIALS / name).read_text())}


def check(result: cd.Result, expected) -> None:
    """One answer against its expected value (a number, or a dict for P(V))."""
    what = f"{result.query} = {result.answer}, expected {expected}"
    if result.method in ("exact", "exact (gaussian)"):
        assert result.stderr is None, what
        if isinstance(expected, dict):
            assert set(result.value) == set(expected), what
            for k, v in expected.items():
                assert abs(result.value[k] - v) <= EXACT_TOL, what
        else:
            assert abs(result.value - expected) <= EXACT_TOL, what
        return
    assert result.method == "monte-carlo", what
    assert result.stderr is not None and result.stderr < MAX_STDERR, what
    # A deterministic counterfactual has a standard error of ~0; allow rounding.
    assert abs(result.value - expected) <= max(4 * result.stderr, 1e-9), what


def check_all(model: cd.CausalModel, expected: dict, *, method="exact") -> None:
    """Run every query written in the file and check each one, in order.

    The expected table must list exactly the queries of the file, so that a query
    added to a tutorial without a checked answer fails here. ``method``: the method
    of every answer, or a tuple of the methods allowed.
    """
    results = model.run()
    assert [r.query for r in results] == list(expected), \
        f"queries of model {model.name} differ from the checked list"
    for r in results:
        assert r.method in (method if isinstance(method, tuple) else (method,)), str(r)
        check(r, expected[r.query])


# ---------------------------------------------------------------------------- smoking.causal
# genotype ~ Bernoulli(0.5); smoking ~ Bernoulli(if genotype then 0.8 else 0.2);
# tar ~ Bernoulli(if smoking then 0.95 else 0.05); cancer ~ Bernoulli(0.1 + 0.3 tar + 0.5 genotype)
def _p_g(g):
    return 0.5


def _p_s(s, g):
    p = 0.8 if g else 0.2
    return p if s else 1 - p


def _p_t(t, s):
    p = 0.95 if s else 0.05
    return p if t else 1 - p


def _p_c(c, t, g):
    p = 0.1 + 0.3 * t + 0.5 * g
    return p if c else 1 - p


def _smoking_joint():
    """P(g, s, t, c) by enumeration."""
    return {(g, s, t, c): _p_g(g) * _p_s(s, g) * _p_t(t, s) * _p_c(c, t, g)
            for g, s, t, c in itertools.product((0, 1), repeat=4)}


def _smoking_truths():
    J = _smoking_joint()

    def P(pred, given=lambda *a: True):
        num = sum(p for k, p in J.items() if pred(*k) and given(*k))
        return num / sum(p for k, p in J.items() if given(*k))

    # Truncated factorisation: do(s) removes P(s | g).
    def do_s(s):
        return sum(_p_g(g) * _p_t(t, s) * _p_c(1, t, g) for g in (0, 1) for t in (0, 1))

    # PN = P(cancer[s=0] = 0 | s = 1, cancer = 1) under the comonotone coupling.
    # tar: t = 1 iff U_t >= 1 - P(t=1|s): with s = 1, t = 1 iff U_t >= 0.05, and in the
    # world s = 0, t' = 1 iff U_t >= 0.95; so (t, t') = (1, 0) w.p. 0.9, (1, 1) w.p. 0.05,
    # (0, 0) w.p. 0.05. cancer: c = 1 iff U_c >= 1 - p(t, g). c = 1 and c' = 0 needs
    # 1 - p(t, g) <= U_c < 1 - p(t', g), i.e. t = 1, t' = 0, an interval of length 0.3.
    num = sum(_p_g(g) * _p_s(1, g) * 0.9 * 0.3 for g in (0, 1))
    den = sum(_p_g(g) * _p_s(1, g) * (0.95 * _p_c(1, 1, g) + 0.05 * _p_c(1, 0, g)) for g in (0, 1))
    pn = num / den
    return {
        "P(cancer = 1 | do(smoking = 1))": do_s(1),
        "P(cancer = 1 | do(smoking = 0))": do_s(0),
        "ATE(smoking -> cancer)": do_s(1) - do_s(0),
        "P(cancer = 1 | smoking = 1)": P(lambda g, s, t, c: c == 1, lambda g, s, t, c: s == 1),
        "P(cancer = 1 | smoking = 0)": P(lambda g, s, t, c: c == 1, lambda g, s, t, c: s == 0),
        "P(cancer[smoking = 0] = 0 | smoking = 1, cancer = 1)": pn,
        "PN(smoking -> cancer)": pn,
        "P(cancer)": {0.0: P(lambda g, s, t, c: c == 0), 1.0: P(lambda g, s, t, c: c == 1)},
    }


def test_smoking_hand_computation():
    truths = _smoking_truths()
    # The numbers quoted in the brief/DESIGN, recomputed by hand above.
    assert truths["P(cancer = 1 | do(smoking = 1))"] == pytest.approx(0.635, abs=1e-12)
    assert truths["P(cancer = 1 | do(smoking = 0))"] == pytest.approx(0.365, abs=1e-12)
    assert truths["P(cancer = 1 | smoking = 1)"] == pytest.approx(0.785, abs=1e-12)
    assert truths["P(cancer[smoking = 0] = 0 | smoking = 1, cancer = 1)"] == pytest.approx(0.135 / 0.3925)

    m = cd.load(TUTORIALS / "smoking.causal")
    for text, value in truths.items():
        check(m.query(text), value)
    # Every query of the file that has a hand-computed value agrees (the file may grow).
    results = m.run()
    assert {"P(cancer = 1 | do(smoking = 1))", "P(cancer = 1 | do(smoking = 0))",
            "P(cancer = 1 | smoking = 1)"} <= {r.query for r in results}
    for r in results:
        if r.query in truths:
            check(r, truths[r.query])


def test_smoking_front_door_formula():
    """The genotype is latent, yet P(c | do(s)) is identified from P(s, t, c) by the
    front-door formula (Pearl, Causality, 2009, Thm 3.3.4):
    P(c | do(s)) = sum_t P(t | s) sum_s' P(c | t, s') P(s')."""
    J = _smoking_joint()
    obs: dict = {}
    for (g, s, t, c), p in J.items():
        obs[(s, t, c)] = obs.get((s, t, c), 0.0) + p

    def P(**fix):
        keys = ("s", "t", "c")
        return sum(p for k, p in obs.items() if all(k[keys.index(n)] == v for n, v in fix.items()))

    def front_door(s):
        return sum(P(s=s, t=t) / P(s=s) *
                   sum(P(s=s2, t=t, c=1) / P(s=s2, t=t) * P(s=s2) for s2 in (0, 1))
                   for t in (0, 1))

    m = cd.load(TUTORIALS / "smoking.causal")
    for s in (0, 1):
        check(m.query(f"P(cancer = 1 | do(smoking = {s}))"), front_door(s))
    assert front_door(1) == pytest.approx(0.635) and front_door(0) == pytest.approx(0.365)


# ---------------------------------------------------------------------------- kidney.causal
# Charig et al. (1986), BMJ 292:879: (recovered, treated) per treatment and stone size.
KIDNEY = {("A", "small"): (81, 87), ("A", "large"): (192, 263),
          ("B", "small"): (234, 270), ("B", "large"): (55, 80)}


def _kidney_truths():
    n = sum(t for _, t in KIDNEY.values())  # 700
    n_size = {s: sum(KIDNEY[(a, s)][1] for a in "AB") for s in ("small", "large")}  # 357, 343
    n_treat = {a: sum(KIDNEY[(a, s)][1] for s in ("small", "large")) for a in "AB"}  # 350, 350
    rate = {k: r / t for k, (r, t) in KIDNEY.items()}
    rec = {a: sum(KIDNEY[(a, s)][0] for s in ("small", "large")) for a in "AB"}  # 273, 289

    def adjusted(a):  # back-door adjustment over size
        return sum(rate[(a, s)] * n_size[s] / n for s in ("small", "large"))

    def p_size_given(a):
        return {s: KIDNEY[(a, s)][1] / n_treat[a] for s in ("small", "large")}

    ett = sum(p_size_given("A")[s] * (rate[("A", s)] - rate[("B", s)]) for s in ("small", "large"))
    # Probability of necessity under monotonicity (Tian & Pearl 2000; Pearl, Causality, Thm 9.2.15):
    # PN = [P(y) - P(y | do(x'))] / P(x, y).
    p_y = (rec["A"] + rec["B"]) / n
    pn = (p_y - adjusted("B")) / (rec["A"] / n)
    return {
        "P(recovery = 1 | treatment = A)": rec["A"] / n_treat["A"],
        "P(recovery = 1 | treatment = B)": rec["B"] / n_treat["B"],
        "P(size | treatment = A)": p_size_given("A"),
        "P(size | treatment = B)": p_size_given("B"),
        "P(recovery = 1 | treatment = A, size = small)": rate[("A", "small")],
        "P(recovery = 1 | treatment = B, size = small)": rate[("B", "small")],
        "P(recovery = 1 | do(treatment = A))": adjusted("A"),
        "P(recovery = 1 | do(treatment = B))": adjusted("B"),
        "ATE(treatment -> recovery, treat=A, control=B)": adjusted("A") - adjusted("B"),
        "ETT(treatment -> recovery, treat=A, control=B)": ett,
        "P(recovery = 1 | do(treatment = A), size = large)": rate[("A", "large")],
        "PN(treatment -> recovery, treat=A, control=B)": pn,
    }


def test_kidney_every_query():
    truths = _kidney_truths()
    # The published figures: overall 78% (A) vs 83% (B) (Charig et al. 1986;
    # Julious & Mullee 1994), and P(recovery | do(A)) = 0.832 (Pearl, Glymour & Jewell 2016, §3.2).
    assert round(truths["P(recovery = 1 | treatment = A)"], 2) == 0.78
    assert round(truths["P(recovery = 1 | treatment = B)"], 2) == 0.83
    assert truths["P(recovery = 1 | do(treatment = A))"] == pytest.approx(0.8325, abs=1e-4)
    assert truths["P(recovery = 1 | do(treatment = B))"] == pytest.approx(0.7789, abs=1e-4)
    assert abs(truths["P(recovery = 1 | do(treatment = A))"] - 0.832) < 1e-3
    check_all(programs("kidney.causal")["kidney"], truths)


def test_kidney_simpson_reversal_and_pn_by_hand():
    m = programs("kidney.causal")["kidney"]
    q = lambda t: m.query(t).value  # noqa: E731
    # Seeing favours B, doing favours A, and A wins within each stratum.
    assert q("P(recovery = 1 | treatment = B)") > q("P(recovery = 1 | treatment = A)")
    assert q("P(recovery = 1 | do(treatment = A))") > q("P(recovery = 1 | do(treatment = B))")
    for s in ("small", "large"):
        assert q(f"P(recovery = 1 | treatment = A, size = {s})") > q(f"P(recovery = 1 | treatment = B, size = {s})")
    # PN from its definition under the comonotone coupling, as a check on Tian-Pearl:
    # given A and recovery in stratum s (U >= 1 - rA), recovery fails under B iff
    # U < 1 - rB: probability (rA - rB) / rA. Weight strata by P(s | A, recovered) = r_As / 273.
    pn = sum(KIDNEY[("A", s)][0] / 273 * (1 - (KIDNEY[("B", s)][0] / KIDNEY[("B", s)][1]) /
                                           (KIDNEY[("A", s)][0] / KIDNEY[("A", s)][1]))
             for s in ("small", "large"))
    check(m.query("PN(treatment -> recovery, treat=A, control=B)"), pn)
    # Under monotonicity, no one who failed with A would have recovered with B.
    check(m.query("P(recovery[treatment = B] = 1 | treatment = A, recovery = 0)"), 0.0)


# ---------------------------------------------------------------------------- firing_squad.causal
def _firing_squad_truths(p):
    return {
        "P(D = 1)": p,
        "P(U = 1 | D = 1)": 1.0,
        "P(D = 0 | A = 0)": 1.0,
        "P(B = 1 | A = 1)": 1.0,
        "P(D[A = 1] = 1, B[A = 1] = 0 | C = 0)": 1.0,
        "P(D[A = 1] = 1 | C = 0)": 1.0,
        "P(D = 1 | do(A = 0))": p,
        "ATE(A -> D)": 1 - p,
        "P(D[A = 0] = 0 | D = 1)": 0.0,   # Pearl: he would be dead anyway
        "P(D[A = 0] = 1 | D = 1)": 1.0,
        "PN(A -> D)": 0.0,
        "PS(A -> D)": 1.0,
    }


def _nervous_truths(p, q):
    # U ~ B(p), W ~ B(q) independent; C = U, A = U or W, B = U, D = A or B = U or W.
    # P(D = 1) = 1 - (1-p)(1-q) = p + q - pq.
    # D[A=0] = 0 or B = U, so P(D[A=0] = 0 | D = 1) = P(U=0, W=1) / P(D=1) = q(1-p) / (p+q-pq)
    # (Pearl, Causality, 2009, §7.1.3). A = 1 iff D = 1, so PN = P(D[A=0]=0 | A=1, D=1) is the
    # same number. PS: A = 0 means U = 0, and D[A=1] = 1 always: 1. PNS = P(D[A=1]=1, D[A=0]=0)
    # = P(U = 0) = 1 - p. D[W=0] = (U or 0) or U = U.
    d = p + q - p * q
    return {
        "P(D = 1)": d,
        "P(U = 1 | D = 1)": p / d,
        "P(W = 1 | D = 1)": q / d,
        "P(B = 1 | A = 1)": p / d,
        "P(D = 1 | do(A = 0))": p,
        "ATE(A -> D)": 1 - p,
        "P(D[A = 0] = 0 | D = 1)": q * (1 - p) / d,
        "P(D[A = 0] = 1 | D = 1)": p / d,
        "P(D[W = 0] = 1 | D = 1)": p / d,
        "PN(A -> D)": q * (1 - p) / d,
        "PS(A -> D)": 1.0,
        "PNS(A -> D)": 1 - p,
    }


def _nervous_by_enumeration(p, q):
    """The headline counterfactuals by brute force over the exogenous (U, W),
    with the structural equations evaluated under each intervention."""
    def solve(u, w, do=None):
        do = do or {}
        v = {"U": u, "W": w}
        v["C"] = do.get("C", v["U"])
        v["A"] = do.get("A", int(v["C"] or v["W"]))
        v["B"] = do.get("B", v["C"])
        v["D"] = int(v["A"] or v["B"])
        return v

    worlds = [((u, w), (p if u else 1 - p) * (q if w else 1 - q)) for u in (0, 1) for w in (0, 1)]
    dead = sum(pr for (u, w), pr in worlds if solve(u, w)["D"] == 1)
    alive_cf = sum(pr for (u, w), pr in worlds if solve(u, w)["D"] == 1 and solve(u, w, {"A": 0})["D"] == 0)
    pns = sum(pr for (u, w), pr in worlds if solve(u, w, {"A": 1})["D"] == 1 and solve(u, w, {"A": 0})["D"] == 0)
    return dead, alive_cf / dead, pns


def _set_params(text: str, p: float, q: float) -> str:
    text, n_u = re.subn(r"(latent U ~ Bernoulli\()[0-9.]+\)", rf"\g<1>{p!r})", text)
    text, n_w = re.subn(r"(latent W ~ Bernoulli\()[0-9.]+\)", rf"\g<1>{q!r})", text)
    assert (n_u, n_w) == (2, 1), "the firing squad models' U and W lines changed"
    return text


def test_firing_squad_every_query():
    models = programs("firing_squad.causal")
    text = (TUTORIALS / "firing_squad.causal").read_text()
    assert "latent U ~ Bernoulli(0.7)" in text and "latent W ~ Bernoulli(0.2)" in text
    check_all(models["firing_squad"], _firing_squad_truths(0.7))
    check_all(models["nervous_rifleman"], _nervous_truths(0.7, 0.2))
    assert _nervous_truths(0.7, 0.2)["P(D[A = 0] = 0 | D = 1)"] == pytest.approx(0.06 / 0.76)


@pytest.mark.parametrize("p, q", [(0.5, 0.5), (0.1, 0.9), (0.9, 0.05), (0.3, 0.01)])
def test_firing_squad_closed_forms_in_p_and_q(p, q):
    text = _set_params((TUTORIALS / "firing_squad.causal").read_text(), p, q)
    models = {m.name: m for m in cd.program(text)}
    truths = _nervous_truths(p, q)
    dead, alive_cf, pns = _nervous_by_enumeration(p, q)
    assert truths["P(D = 1)"] == pytest.approx(dead)
    assert truths["P(D[A = 0] = 0 | D = 1)"] == pytest.approx(alive_cf)
    assert truths["PNS(A -> D)"] == pytest.approx(pns)
    check_all(models["firing_squad"], _firing_squad_truths(p))
    check_all(models["nervous_rifleman"], truths)


# ---------------------------------------------------------------------------- mediation.causal
# Pearl (2012), Prevention Science 13:426, Tables 1-2; Pearl, Glymour & Jewell (2016), §4.5.
MED_PM = {0: 0.40, 1: 0.75}                                       # P(M = 1 | x)
MED_EY = {(0, 0): 0.20, (0, 1): 0.30, (1, 0): 0.40, (1, 1): 0.80}  # E(Y | x, m)


def _pm(pm, m, x):
    return pm[x] if m else 1 - pm[x]


def mediation_formula(pm, ey):
    """Pearl (2001): NDE = sum_m [E(Y|1,m) - E(Y|0,m)] P(m|0); NIE = sum_m E(Y|0,m)[P(m|1) - P(m|0)]."""
    nde = sum((ey[(1, m)] - ey[(0, m)]) * _pm(pm, m, 0) for m in (0, 1))
    nie = sum(ey[(0, m)] * (_pm(pm, m, 1) - _pm(pm, m, 0)) for m in (0, 1))
    ate = sum(ey[(1, m)] * _pm(pm, m, 1) - ey[(0, m)] * _pm(pm, m, 0) for m in (0, 1))
    return nde, nie, ate


def test_mediation_every_query():
    nde, nie, ate = mediation_formula(MED_PM, MED_EY)
    # The published numbers: NDE = 0.32, NIE = 0.035, TE = 0.46 (Pearl 2012).
    assert (nde, nie, ate) == pytest.approx((0.32, 0.035, 0.46), abs=1e-12)
    nested = sum(MED_EY[(1, m)] * _pm(MED_PM, m, 0) for m in (0, 1))          # E[Y[1, M[0]]]
    ey1 = sum(MED_EY[(1, m)] * _pm(MED_PM, m, 1) for m in (0, 1))             # E[Y[1]]
    truths = {
        "ATE(X -> Y)": ate,
        "NDE(X -> Y via M)": nde,
        "NIE(X -> Y via M)": nie,
        "E[Y[X = 1, M = M[X = 0]]]": nested,
        "NIE(X -> Y via M, treat=0, control=1)": nested - ey1,
        "E[Y | do(X = 1, M = 0)]": MED_EY[(1, 0)],
        "E[Y | do(X = 0, M = 0)]": MED_EY[(0, 0)],
        "E[Y | do(X = 1, M = 1)]": MED_EY[(1, 1)],
        "E[Y | do(X = 0, M = 1)]": MED_EY[(0, 1)],
    }
    # TE = NDE - NIE(reverse transition) (Pearl 2001, Theorem 5).
    assert ate == pytest.approx(nde - truths["NIE(X -> Y via M, treat=0, control=1)"])
    check_all(programs("mediation.causal")["mediation"], truths)


# The confounded variant: latent W ~ B(0.3) confounds M and Y.
CONF_PW = 0.3
CONF_PM = {(0, 0): 0.2, (0, 1): 0.8, (1, 0): 0.6, (1, 1): 0.95}  # P(M = 1 | x, w)
CONF_EY = {(0, 0, 0): 0.10, (0, 1, 0): 0.20, (1, 0, 0): 0.30, (1, 1, 0): 0.50,
           (0, 0, 1): 0.40, (0, 1, 1): 0.70, (1, 0, 1): 0.60, (1, 1, 1): 0.90}  # E(Y | x, m, w)


def test_mediation_confounded_every_query():
    pw = {0: 1 - CONF_PW, 1: CONF_PW}
    pm_w = {w: {x: CONF_PM[(x, w)] for x in (0, 1)} for w in (0, 1)}
    ey_w = {w: {(x, m): CONF_EY[(x, m, w)] for x in (0, 1) for m in (0, 1)} for w in (0, 1)}
    # With W known, the mediation formula holds within each stratum of W; average over P(w).
    per_w = {w: mediation_formula(pm_w[w], ey_w[w]) for w in (0, 1)}
    nde, nie, ate = (sum(pw[w] * per_w[w][i] for w in (0, 1)) for i in range(3))
    # What an analyst who cannot see W would compute: observed P(m | x), E(Y | x, m).
    p_m1 = {x: sum(pw[w] * CONF_PM[(x, w)] for w in (0, 1)) for x in (0, 1)}
    ey_obs = {(x, m): sum(pw[w] * _pm(pm_w[w], m, x) * CONF_EY[(x, m, w)] for w in (0, 1)) /
              sum(pw[w] * _pm(pm_w[w], m, x) for w in (0, 1)) for x in (0, 1) for m in (0, 1)}
    naive_nde, naive_nie, naive_ate = mediation_formula(p_m1, ey_obs)
    truths = {
        "ATE(X -> Y)": ate,
        "NDE(X -> Y via M)": nde,
        "NIE(X -> Y via M)": nie,
        "P(M = 1 | X = 0)": p_m1[0],
        "P(M = 1 | X = 1)": p_m1[1],
        "E[Y | X = 0, M = 0]": ey_obs[(0, 0)],
        "E[Y | X = 0, M = 1]": ey_obs[(0, 1)],
        "E[Y | X = 1, M = 0]": ey_obs[(1, 0)],
        "E[Y | X = 1, M = 1]": ey_obs[(1, 1)],
    }
    assert (nde, nie) == pytest.approx((0.214, 0.0415), abs=1e-12)
    check_all(programs("mediation.causal")["mediation_confounded"], truths)
    # X is randomised, so the total effect is still the observed contrast ...
    assert naive_ate == pytest.approx(ate)
    # ... but the mediation formula on observed conditionals misses the natural effects.
    assert abs(naive_nde - nde) > 0.03 and abs(naive_nie - nie) > 0.003


# ---------------------------------------------------------------------------- linear_gaussian.causal
class Lin:
    """c + a · e, a linear function of the independent standard Normal noises e = (e_z, e_x, e_y)."""

    def __init__(self, c=0.0, a=(0.0, 0.0, 0.0)):
        self.c, self.a = float(c), np.asarray(a, dtype=float)

    def __add__(self, o):
        o = o if isinstance(o, Lin) else Lin(o)
        return Lin(self.c + o.c, self.a + o.a)

    __radd__ = __add__

    def __rmul__(self, k):
        return Lin(k * self.c, k * self.a)


E_Z, E_X, E_Y = Lin(a=(1, 0, 0)), Lin(a=(0, 1, 0)), Lin(a=(0, 0, 1))


def lg_scm(do_x=None):
    """z = e_z, x = 0.8 z + e_x, y = 2 x + 1.5 z + 0.5 e_y (the same noises in every world)."""
    z = E_Z
    x = 0.8 * z + E_X if do_x is None else Lin(do_x)
    y = 2 * x + 1.5 * z + 0.5 * E_Y
    return {"z": z, "x": x, "y": y, "u_x": E_X, "u_y": E_Y}


def cond_mean(f: Lin, obs: list[tuple[Lin, float]]) -> float:
    """E[f | g_i = v_i] for jointly Normal noises: f + Cov(f, g) Cov(g, g)^-1 (v - E g)."""
    if not obs:
        return f.c
    G = np.array([g.a for g, _ in obs])
    v = np.array([val - g.c for g, val in obs])
    return f.c + f.a @ G.T @ np.linalg.solve(G @ G.T, v)


def _phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _lg_truths():
    f, f0, f1 = lg_scm(), lg_scm(do_x=0.0), lg_scm(do_x=1.0)
    x1 = [(f["x"], 1.0)]
    x1y3 = [(f["x"], 1.0), (f["y"], 3.0)]
    sd_y_do = math.sqrt(1.5 ** 2 + 0.5 ** 2)
    lg = {
        "E[y]": cond_mean(f["y"], []),
        "E[z | x = 1]": cond_mean(f["z"], x1),
        "E[y | x = 1]": cond_mean(f["y"], x1),
        "E[y | do(x = 1)]": cond_mean(f1["y"], []),
        "ATE(x -> y, treat=1, control=0)": cond_mean(f1["y"] + (-1) * f0["y"], []),
        "E[y | do(x = 1), z = 1]": cond_mean(f1["y"], [(f1["z"], 1.0)]),
        "P(y > 3 | do(x = 1))": 1 - _phi((3 - f1["y"].c) / sd_y_do),
        "E[y[x = 0] | x = 1, y = 3]": cond_mean(f0["y"], x1y3),
        "E[z | x = 1, y = 3]": cond_mean(f["z"], x1y3),
        "E[y[x = 0] | x = 1]": cond_mean(f0["y"], x1),
    }
    lg_noise = {
        "E[y | do(x = 1)]": lg["E[y | do(x = 1)]"],
        "E[y | x = 1]": lg["E[y | x = 1]"],
        "E[y[x = 0] | x = 1, y = 3]": lg["E[y[x = 0] | x = 1, y = 3]"],
        "E[u_y | x = 1, y = 3]": cond_mean(f["u_y"], x1y3),
        "E[u_x | x = 1, y = 3]": cond_mean(f["u_x"], x1y3),
    }
    return lg, lg_noise


def test_linear_gaussian_closed_forms_by_hand():
    lg, lg_noise = _lg_truths()
    # The same numbers from the moments written in the tutorial's comments.
    assert lg["E[y | do(x = 1)]"] == pytest.approx(2.0)
    assert lg["E[y]"] == pytest.approx(0.0)
    assert lg["E[y | x = 1]"] == pytest.approx(2 + 1.5 * 0.8 / 1.64)
    assert lg["E[y[x = 0] | x = 1, y = 3]"] == pytest.approx(1.0)      # y - 2 (x - 0)
    assert lg["E[z | x = 1, y = 3]"] == pytest.approx(1.7 / 2.66)
    assert lg["E[y[x = 0] | x = 1]"] == pytest.approx(lg["E[y | x = 1]"] - 2)
    assert lg_noise["E[u_y | x = 1, y = 3]"] == pytest.approx(2 - 3 * 1.7 / 2.66)
    assert lg["P(y > 3 | do(x = 1))"] == pytest.approx(0.26355, abs=1e-5)


def test_linear_gaussian_every_query():
    lg, lg_noise = _lg_truths()
    models = programs("linear_gaussian.causal")
    # Queries with evidence are answered by Gaussian conditioning, the others by Monte Carlo.
    check_all(models["lg"], lg, method=("monte-carlo", "exact (gaussian)"))
    check_all(models["lg_noise"], lg_noise, method=("monte-carlo", "exact (gaussian)"))
    r = models["lg"].query("E[y | x = 1]")
    assert r.method == "exact (gaussian)" and r.conditioning == "Gaussian conditioning"
    r = models["lg"].query("E[y | x = 1]", method="monte-carlo")
    assert r.samples == 200_000 and r.conditioning == "likelihood weighting"


def test_linear_gaussian_more_draws_shrink_the_error():
    m = programs("linear_gaussian.causal")["lg"]
    small = m.query("E[y | x = 1]", samples=50_000, seed=3, method="monte-carlo")
    big = m.query("E[y | x = 1]", samples=800_000, seed=3, method="monte-carlo")
    assert big.stderr < small.stderr / 3
    check(big, _lg_truths()[0]["E[y | x = 1]"])


def test_linear_gaussian_unsolvable_conditioning_is_refused():
    # A continuous ":=" that is not linear in a latent noise cannot be conditioned on.
    m = cd.model("model sq {\n    x ~ Normal(0, 1)\n    s := x * x\n}")
    with pytest.raises(cd.QueryError, match="cannot condition on the value of 's'"):
        m.query("E[x | s = 4]")
    # Interventional and forward questions about it are fine: E[s] = Var(x) = 1.
    r = m.query("E[s]")
    assert abs(r.value - 1.0) <= 4 * r.stderr and r.stderr < MAX_STDERR


# ---------------------------------------------------------------------------- the command line
FILES = sorted(p.name for p in TUTORIALS.glob("*.causal"))


def test_every_tutorial_is_listed():
    assert {"smoking.causal", "kidney.causal", "firing_squad.causal",
            "mediation.causal", "linear_gaussian.causal"} <= set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_cli_runs_every_tutorial(name):
    path = TUTORIALS / name
    proc = subprocess.run([sys.executable, "-m", "causaldsl.cli", "run", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    models = cd.program(path.read_text())
    lines = out.splitlines()
    for m in models:
        assert f"model {m.name}" in lines
        for q in m.queries:
            # Each query is printed at the start of its row, followed by its answer.
            rows = [line for line in lines if line.startswith(q.text + "  ")]
            assert rows, f"{q.text} missing from:\n{out}"
            assert all(row[len(q.text):].strip() for row in rows), f"no answer for {q.text}"
