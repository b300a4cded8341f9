"""Bounds on quantities that are not identified: Tian & Pearl (2000) and the Balke & Pearl (1997) LP.

Every number is checked against an answer computed here independently: by hand, by the
closed forms written out in this file, by the model's own exact counterfactual answer, or
by the published numbers.
"""

import itertools

import numpy as np
import pytest

import causaldsl as cd
from causaldsl.graphs.bounds import BoundsError
from causaldsl.language.errors import CausalDSLError, CausalSyntaxError, DataError, UnknownNameError

HAND = """model m {
    Z ~ Bernoulli(0.4)
    X ~ Bernoulli(if Z then 0.7 else 0.2)
    Y ~ Bernoulli(0.1 + 0.5 * X + 0.3 * Z)
}
"""


# ------------------------------------------------------------------ Tian-Pearl by hand
def test_pns_by_hand_is_half_to_0672():
    b = cd.model(HAND).bounds("PNS(X -> Y)")
    # P(y_x) = 0.6 + 0.3 * 0.4 = 0.72, P(y_x') = 0.1 + 0.12 = 0.22; P(x, y) = 0.28 * 0.9 + 0.12 * 0.6 = 0.324,
    # P(x', y) = 0.12 * 0.4 + 0.48 * 0.1 = 0.096, P(x, y') = 0.076, P(x', y') = 0.504.
    # low = max{0, 0.72 - 0.22, 0.42 - 0.22, 0.72 - 0.42} = 0.5
    # high = min{0.72, 0.78, 0.324 + 0.504, 0.5 + 0.076 + 0.096} = 0.672
    assert (b.low, b.high) == pytest.approx((0.5, 0.672), abs=1e-12)
    assert b.active_low == "P(y_x) - P(y_x')"
    assert b.active_high == "P(y_x) - P(y_x') + P(x, y') + P(x', y)"
    assert "*P(y_x) - P(y_x') = 0.5" in b.formula and b.method == "Tian-Pearl (2000)"


def test_pn_and_ps_by_hand():
    m = cd.model(HAND)
    pn, ps = m.bounds("PN(X -> Y)"), m.bounds("PS(X -> Y)")
    assert (pn.low, pn.high) == pytest.approx(((0.42 - 0.22) / 0.324, (0.78 - 0.504) / 0.324))
    assert (ps.low, ps.high) == pytest.approx(((0.72 - 0.42) / 0.504, (0.72 - 0.324) / 0.504))


def _tp_closed_form(pyx, pyx_, pxy, pxy_, px_y, px_y_):
    """Tian & Pearl (2000), Theorems 1-3, written out again."""
    py = pxy + px_y
    pns = (max(0, pyx - pyx_, py - pyx_, pyx - py), min(pyx, 1 - pyx_, pxy + px_y_, pyx - pyx_ + pxy_ + px_y))
    pn = (max(0, (py - pyx_) / pxy), min(1, (1 - pyx_ - px_y_) / pxy))
    ps = (max(0, (pyx - py) / px_y_), min(1, (pyx - pxy) / px_y_))
    return {"PNS": pns, "PN": pn, "PS": ps}


def _random_confounded(rng):
    """X -> Y with a latent confounder U, and its exact inputs to Tian-Pearl computed here."""
    pu = rng.uniform(0.1, 0.9)
    a = rng.uniform(0.05, 0.95, 2)  # P(X = 1 | U = u)
    b = rng.uniform(0.02, 0.98, (2, 2))  # P(Y = 1 | X = x, U = u)
    src = f"""model r {{
    latent U ~ Bernoulli({pu})
    X ~ Bernoulli(if U then {a[1]} else {a[0]})
    Y ~ Bernoulli(if X then (if U then {b[1, 1]} else {b[1, 0]}) else (if U then {b[0, 1]} else {b[0, 0]}))
}}"""
    w = np.array([1 - pu, pu])
    px = np.array([1 - a, a])  # px[x, u]
    pyx = {x: float(w @ b[x]) for x in (0, 1)}
    pxy = {(x, y): float(w @ (px[x] * (b[x] if y else 1 - b[x]))) for x in (0, 1) for y in (0, 1)}
    return cd.model(src), pyx, pxy


@pytest.mark.parametrize("seed", range(6))
def test_tian_pearl_matches_closed_form_and_holds_the_truth(seed):
    m, pyx, pxy = _random_confounded(np.random.default_rng(seed))
    want = _tp_closed_form(pyx[1], pyx[0], pxy[1, 1], pxy[1, 0], pxy[0, 1], pxy[0, 0])
    for effect in ("PNS", "PN", "PS"):
        b = m.bounds(f"{effect}(X -> Y)")
        assert (b.low, b.high) == pytest.approx(want[effect], abs=1e-9)
        truth = m.query(f"{effect}(X -> Y)").value
        assert b.low - 1e-9 <= truth <= b.high + 1e-9
        # The LP sees only P(X, Y) here (U is latent): valid, and no tighter than Tian-Pearl, which also
        # knows P(y | do(x)).
        lp = m.bounds(f"{effect}(X -> Y)", method="lp")
        assert lp.low - 1e-7 <= b.low and b.high <= lp.high + 1e-7
        assert lp.low - 1e-7 <= truth <= lp.high + 1e-7


@pytest.mark.parametrize("seed", range(4))
def test_lp_with_observations_only_gives_manski_bounds(seed):
    m, _, pxy = _random_confounded(np.random.default_rng(10 + seed))
    b = m.bounds("ATE(X -> Y)")
    px1 = pxy[1, 0] + pxy[1, 1]
    # Manski (1990): E[Y_1] in [P(x, y), P(x, y) + P(x')], E[Y_0] in [P(x', y), P(x', y) + P(x)]
    assert (b.low, b.high) == pytest.approx((pxy[1, 1] - pxy[0, 1] - px1, pxy[1, 1] + (1 - px1) - pxy[0, 1]), abs=1e-7)
    pns = m.bounds("PNS(X -> Y)", method="lp")
    assert (pns.low, pns.high) == pytest.approx((0.0, pxy[1, 1] + pxy[0, 0]), abs=1e-7)


# ------------------------------------------------------------------ the IV model (Balke & Pearl 1997)
def _iv_closed_form(p):
    """Balke & Pearl (1997) eqs. for the ATE in the IV model; p[y, x, z] = P(y, x | z)."""
    P = lambda y, x, z: p[y, x, z]
    low = max(P(1, 1, 1) + P(0, 0, 0) - 1, P(1, 1, 0) + P(0, 0, 1) - 1,
              P(1, 1, 0) - P(1, 1, 1) - P(1, 0, 1) - P(0, 1, 0) - P(1, 0, 0),
              P(1, 1, 1) - P(1, 1, 0) - P(1, 0, 0) - P(0, 1, 1) - P(1, 0, 1),
              -P(0, 1, 1) - P(1, 0, 1), -P(0, 1, 0) - P(1, 0, 0),
              P(0, 0, 1) - P(0, 1, 1) - P(1, 0, 1) - P(0, 1, 0) - P(0, 0, 0),
              P(0, 0, 0) - P(0, 1, 0) - P(1, 0, 0) - P(0, 1, 1) - P(0, 0, 1))
    high = min(1 - P(0, 1, 1) - P(1, 0, 0), 1 - P(0, 1, 0) - P(1, 0, 1),
               -P(0, 1, 0) + P(0, 1, 1) + P(0, 0, 1) + P(1, 1, 0) + P(0, 0, 0),
               -P(0, 1, 1) + P(1, 1, 1) + P(0, 0, 1) + P(0, 1, 0) + P(0, 0, 0),
               P(1, 1, 1) + P(0, 0, 1), P(1, 1, 0) + P(0, 0, 0),
               -P(1, 0, 1) + P(1, 1, 1) + P(0, 0, 1) + P(1, 1, 0) + P(1, 0, 0),
               -P(1, 0, 0) + P(1, 1, 0) + P(0, 0, 0) + P(1, 1, 1) + P(1, 0, 1))
    return low, high


IV = "graph iv {\n    Z -> X -> Y\n    X <-> Y\n}\n"


def _iv_rows(p, pz=0.5, n=100_000):
    """A data set whose frequencies are exactly P(z) P(y, x | z) (rounded to 1/n)."""
    rows = []
    for z, x, y in itertools.product((0, 1), repeat=3):
        rows += [(z, x, y)] * int(round(n * (pz if z else 1 - pz) * p[y, x, z]))
    a = np.array(rows)
    return {"Z": a[:, 0], "X": a[:, 1], "Y": a[:, 2]}


def test_lipid_research_clinics_ate_bounds():
    # Balke & Pearl (1997), Table 1 / Pearl (2009) §8.2.4: 0.392 <= ACE <= 0.780
    p = np.zeros((2, 2, 2))
    p[0, 0, 0], p[0, 1, 0], p[1, 0, 0], p[1, 1, 0] = 0.919, 0.0, 0.081, 0.0
    p[0, 0, 1], p[0, 1, 1], p[1, 0, 1], p[1, 1, 1] = 0.315, 0.139, 0.073, 0.473
    b = cd.graph(IV).bounds("ATE(X -> Y)", data=_iv_rows(p), draws=20)
    assert (b.low, b.high) == pytest.approx((0.392, 0.780), abs=1e-9)
    assert _iv_closed_form(p) == pytest.approx((0.392, 0.780), abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_iv_model_lp_matches_balke_pearl_and_holds_the_truth(seed):
    rng = np.random.default_rng(100 + seed)
    pu, pz = rng.uniform(0.2, 0.8, 2)
    a = rng.uniform(0.05, 0.95, (2, 2))  # P(X = 1 | Z = z, U = u)
    b = rng.uniform(0.05, 0.95, (2, 2))  # P(Y = 1 | X = x, U = u)
    src = f"""model iv {{
    latent U ~ Bernoulli({pu})
    Z ~ Bernoulli({pz})
    X ~ Bernoulli(if Z then (if U then {a[1, 1]} else {a[1, 0]}) else (if U then {a[0, 1]} else {a[0, 0]}))
    Y ~ Bernoulli(if X then (if U then {b[1, 1]} else {b[1, 0]}) else (if U then {b[0, 1]} else {b[0, 0]}))
}}"""
    m = cd.model(src)
    w = np.array([1 - pu, pu])
    p = np.zeros((2, 2, 2))
    for y, x, z in itertools.product((0, 1), repeat=3):
        px = a[z] if x else 1 - a[z]
        p[y, x, z] = w @ (px * (b[x] if y else 1 - b[x]))
    got = m.bounds("ATE(X -> Y)")
    assert (got.low, got.high) == pytest.approx(_iv_closed_form(p), abs=1e-7)
    truth = m.query("ATE(X -> Y)").value
    assert got.low - 1e-7 <= truth <= got.high + 1e-7
    for x in (0, 1):  # P(y | do(x)) too: inside its bounds
        one = m.bounds(f"P(Y = 1 | do(X = {x}))")
        assert one.low - 1e-7 <= m.query(f"P(Y = 1 | do(X = {x}))").value <= one.high + 1e-7
    for effect in ("PNS", "PN", "PS"):  # counterfactuals too
        cf = m.bounds(f"{effect}(X -> Y)", method="lp")
        assert cf.low - 1e-7 <= m.query(f"{effect}(X -> Y)").value <= cf.high + 1e-7


def test_counterfactual_point_query_and_mediation_effects_hold_the_truth():
    m = cd.model("""model med {
    latent U ~ Bernoulli(0.3)
    X ~ Bernoulli(if U then 0.8 else 0.3)
    M ~ Bernoulli(0.2 + 0.6 * X)
    Y ~ Bernoulli(0.1 + 0.3 * X + 0.3 * M + 0.2 * U)
}""")
    for q in ("P(Y[X = 1] = 1, Y[X = 0] = 0)", "P(Y[X = 0] = 0 | X = 1, Y = 1)", "NDE(X -> Y via M)",
              "NIE(X -> Y via M)", "ETT(X -> Y)", "P(Y[X = 1, M = M[X = 0]] = 1)"):
        b = m.bounds(q)
        truth = m.query(q).value
        assert b.low - 1e-7 <= truth <= b.high + 1e-7, q
    # PNS written out and as the named effect are the same programme
    assert m.bounds("P(Y[X = 1] = 1, Y[X = 0] = 0)").value == m.bounds("PNS(X -> Y)", method="lp").value


def test_identified_query_collapses_to_its_value():
    b = cd.model(HAND).bounds("P(Y = 1 | do(X = 1))")
    assert (b.low, b.high) == pytest.approx((0.72, 0.72), abs=1e-9)


# ------------------------------------------------------------------ from data
def _confounded_sample(n, seed):
    rng = np.random.default_rng(seed)
    u = rng.random(n) < 0.4
    x = rng.random(n) < np.where(u, 0.7, 0.3)
    y = rng.random(n) < 0.2 + 0.4 * x + 0.3 * u
    return {"X": x.astype(int), "Y": y.astype(int)}


def test_bounds_from_data_plug_in_and_bands():
    g = cd.graph("graph c {\n X -> Y\n X <-> Y\n}")
    data = _confounded_sample(4000, 0)
    b = g.bounds("ATE(X -> Y)", data=data, draws=100, seed=1)
    x, y = data["X"], data["Y"]
    pxy, px_y, px = np.mean(x * y), np.mean((1 - x) * y), np.mean(x)
    assert (b.low, b.high) == pytest.approx((pxy - px_y - px, pxy + (1 - px) - px_y), abs=1e-9)
    assert b.low_band[0] < b.low < b.low_band[1] and b.high_band[0] < b.high < b.high_band[1]
    assert b.draws.shape == (100, 2) and b.uncertainty == "dirichlet" and b.level == 0.95
    # The population bounds (P(x) = 0.46, P(x, y) = 0.46 * 0.6 + 0.28 * 0.3 = 0.36, P(x', y) = 0.54 * 0.2 + 0.12 * 0.3)
    pop_pxy = 0.4 * 0.7 * 0.9 + 0.6 * 0.3 * 0.6
    pop_px_y = 0.4 * 0.3 * 0.5 + 0.6 * 0.7 * 0.2
    pop_px = 0.4 * 0.7 + 0.6 * 0.3
    assert b.low_band[0] < pop_pxy - pop_px_y - pop_px < b.low_band[1]
    again = g.bounds("ATE(X -> Y)", data=data, draws=100, seed=1)
    assert again.low_band == b.low_band
    boot = g.bounds("ATE(X -> Y)", data=data, draws=30, uncertainty="bootstrap")
    assert boot.uncertainty == "bootstrap" and (boot.low, boot.high) == (b.low, b.high)
    assert "95% band" in b.answer


@pytest.mark.slow
def test_dirichlet_band_covers_population_bound_at_about_the_nominal_rate():
    g = cd.graph("graph c {\n X -> Y\n X <-> Y\n}")
    pop_low = (0.4 * 0.7 * 0.9 + 0.6 * 0.3 * 0.6) - (0.4 * 0.3 * 0.5 + 0.6 * 0.7 * 0.2) - (0.4 * 0.7 + 0.6 * 0.3)
    bands = [g.bounds("ATE(X -> Y)", data=_confounded_sample(500, s), draws=200, level=0.9, seed=s).low_band
             for s in range(40)]
    hits = sum(lo <= pop_low <= hi for lo, hi in bands)
    assert 31 <= hits <= 40  # 90% nominal over 40 data sets (binomial 1st percentile: 31)


def test_data_breaking_the_instrumental_inequality_is_refused():
    # Z moves Y by more than it moves X: no IV model gives this
    p = np.zeros((2, 2, 2))
    p[0, 0, 0], p[1, 1, 1] = 1.0, 0.0
    p[1, 0, 1] = 1.0
    with pytest.raises(BoundsError, match="instrumental inequality"):
        cd.graph(IV).bounds("ATE(X -> Y)", data=_iv_rows(p, n=1000), draws=5)


# ------------------------------------------------------------------ the language, files, CLI
def test_bounds_statement_in_a_model_and_a_graph_with_a_data_file(tmp_path, capsys):
    data = _confounded_sample(2000, 3)
    (tmp_path / "obs.csv").write_text("X,Y\n" + "\n".join(f"{a},{b}" for a, b in zip(data["X"], data["Y"])))
    src = HAND + "bounds PNS(X -> Y)\nbounds ATE(X -> Y), method = lp\n\n" \
        "graph c {\n X -> Y\n X <-> Y\n}\nbounds ATE(X -> Y), data = \"obs.csv\", draws = 50, level = 0.9\n"
    (tmp_path / "b.causal").write_text(src)
    from causaldsl.cli import main

    assert main(["run", str(tmp_path / "b.causal")]) == 0
    out = capsys.readouterr().out
    assert "bounds PNS(X -> Y)" in out and "[0.5, 0.672]" in out and "low = P(y_x) - P(y_x')" in out
    assert "90% band" in out and "linear programme" in out
    rows = cd.run(src, base_dir=tmp_path)
    assert rows[0][1].value == pytest.approx((0.5, 0.672))
    x, y = data["X"], data["Y"]
    pxy, px_y, px = np.mean(x * y), np.mean((1 - x) * y), np.mean(x)
    assert rows[2][1].value == pytest.approx((pxy - px_y - px, pxy + (1 - px) - px_y), abs=1e-9)


def test_bounds_in_a_notebook_cell():
    from causaldsl.notebook.magics import CausalMagics

    out = CausalMagics(shell=None)._cell("", HAND + "bounds PNS(X -> Y)\n")
    html = out._repr_html_()
    assert "[0.5, 0.672]" in html
    b = cd.model(HAND).bounds("PNS(X -> Y)")
    assert "<svg" in b._repr_html_() and "0.672" in b._repr_html_()


def test_bounds_through_query_and_graph_query():
    m = cd.model(HAND)
    assert m.query("bounds PNS(X -> Y)").value == pytest.approx((0.5, 0.672))
    g = cd.graph(IV)
    with pytest.raises(BoundsError, match="need data"):
        g.query("bounds ATE(X -> Y)")


# ------------------------------------------------------------------ mistakes
@pytest.mark.parametrize("text, cls, where, hint", [
    ("bounds PNS(X -> Q)", UnknownNameError, (6, 17), "observed variables are"),
    ("bounds PNS(X -> Y), method = magic", BoundsError, (6, 30), "lp, tian_pearl"),
    ("bounds PNS(X -> Y), draws = 0", BoundsError, (6, 29), "whole number"),
    ("bounds PNS(X -> Y), colour = 1", BoundsError, (6, 21), "options are"),
    ("bounds P(Y = 1 | Y[X = 1] = 1)", BoundsError, (6, 18), "factual"),
    ("bounds P(Y = 3 | do(X = 1))", CausalDSLError, (6, 14), "takes the values"),
])
def test_mistakes_are_located_with_a_hint(text, cls, where, hint):
    with pytest.raises(cls) as err:
        cd.model(HAND + text + "\n")
    assert (err.value.line, err.value.column) == where and hint in str(err.value)


def test_refusals_outside_the_scope():
    m = cd.model(HAND)
    with pytest.raises(BoundsError, match="Tian-Pearl"):
        m.bounds("ATE(X -> Y)", method="tian-pearl")
    with pytest.raises(CausalSyntaxError):
        m.bounds("bounds E[Y | do(X = 1)]")
    with pytest.raises(BoundsError, match="point events"):
        m.bounds("P(Y > 0 | do(X = 1))")
    cont = cd.model("model c {\n X ~ Bernoulli(0.5)\n Y ~ Normal(X, 1)\n}")
    with pytest.raises(BoundsError, match="not discrete"):
        cont.bounds("ATE(X -> Y)")
    with pytest.raises(BoundsError, match="no column"):
        cd.graph(IV).bounds("ATE(X -> Y)", data={"X": [0, 1], "Y": [1, 0]})
    with pytest.raises(DataError, match="missing"):
        cd.graph("graph c {\n X -> Y\n}").bounds("ATE(X -> Y)", data={"X": [0.0, np.nan], "Y": [1, 0]})
    wide = cd.graph("graph w {\n A -> Y; B -> Y; C -> Y; D -> Y; X -> Y\n X <-> Y\n}")
    rows = {v: np.arange(64) >> i & 1 for i, v in enumerate("ABCDXY")}
    with pytest.raises(BoundsError, match="response types"):
        wide.bounds("ATE(X -> Y)", data=rows, draws=1)


# ------------------------------------------------------------------ Tian-Pearl from observational and experimental data
def _rows(cells):
    """Columns X, Y with each (x, y) repeated as often as ``cells`` says."""
    xs, ys = [], []
    for (x, y), k in cells.items():
        xs += [x] * k
        ys += [y] * k
    return {"X": np.array(xs), "Y": np.array(ys)}


# The hand model's P(X, Y) (0.324, 0.076, 0.096, 0.504) and P(y | do(x)) (0.72, 0.22), as exact frequencies
HAND_OBS = _rows({(1, 1): 324, (1, 0): 76, (0, 1): 96, (0, 0): 504})
HAND_RCT = _rows({(1, 1): 720, (1, 0): 280, (0, 1): 220, (0, 0): 780})


def test_tian_pearl_from_observational_and_experimental_data():
    g = cd.graph("graph c {\n X -> Y\n X <-> Y\n}")
    b = g.bounds("PNS(X -> Y)", data=HAND_OBS, experiment=HAND_RCT, draws=100)
    assert (b.low, b.high) == pytest.approx((0.5, 0.672), abs=1e-12)
    assert b.method == "Tian-Pearl (2000)" and b.active_low == "P(y_x) - P(y_x')"
    assert b.low_band[0] < 0.5 < b.low_band[1] and b.high_band[0] < 0.672 < b.high_band[1]
    pn = g.bounds("PN(X -> Y)", data=HAND_OBS, experiment=HAND_RCT, draws=20, uncertainty="bootstrap")
    assert (pn.low, pn.high) == pytest.approx(((0.42 - 0.22) / 0.324, (0.78 - 0.504) / 0.324))


def test_experiment_statement_and_disagreeing_data(tmp_path):
    for name, cols in (("obs.csv", HAND_OBS), ("rct.csv", HAND_RCT)):
        (tmp_path / name).write_text("X,Y\n" + "\n".join(f"{a},{b}" for a, b in zip(cols["X"], cols["Y"])))
    src = 'graph c {\n X -> Y\n X <-> Y\n}\nbounds PS(X -> Y), data = "obs.csv", experiment = "rct.csv", draws = 10\n'
    (row,) = cd.run(src, base_dir=tmp_path)
    assert row[1].value == pytest.approx(((0.72 - 0.42) / 0.504, (0.72 - 0.324) / 0.504))
    # P(x, y) = 0.324 cannot exceed P(y_x): a trial where only 20% recover on treatment contradicts it
    bad = _rows({(1, 1): 200, (1, 0): 800, (0, 1): 220, (0, 0): 780})
    with pytest.raises(BoundsError, match="disagree"):
        cd.graph("graph c {\n X -> Y\n}").bounds("PNS(X -> Y)", data=HAND_OBS, experiment=bad, draws=5)
    with pytest.raises(BoundsError, match="Tian-Pearl"):
        cd.graph("graph c {\n X -> Y\n}").bounds("ATE(X -> Y)", data=HAND_OBS, experiment=HAND_RCT)


def test_bounds_tutorial():
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "tutorials" / "bounds.causal"
    rows = [r for _, r in cd.run(path.read_text(), base_dir=path.parent)]
    by_text = {r.query: r for r in rows}
    assert by_text["bounds PNS(X -> Y)"].value == pytest.approx((0.5, 0.672))
    assert by_text["bounds PS(X -> Y), method = lp"].value[1] < by_text["bounds PS(X -> Y)"].value[1]
    assert by_text["PNS(X -> Y)"].value == pytest.approx(0.5)
    ate = by_text['bounds ATE(X -> Y), data = "compliance.csv", draws = 200']
    assert ate.value == pytest.approx((0.392, 0.780), abs=1e-9)  # Balke & Pearl (1997)
    # one-sided noncompliance (no one on placebo took the drug) identifies P(y | do(x = 0)) = P(y | z = 0)
    assert by_text['bounds P(Y = 1 | do(X = 0)), data = "compliance.csv", draws = 200'].value == \
        pytest.approx((0.081, 0.081), abs=1e-9)


def test_latent_variable_named_in_bounds_is_refused():
    m = cd.model("model m {\n latent U ~ Bernoulli(0.5)\n X ~ Bernoulli(if U then 0.8 else 0.2)\n"
                 " Y ~ Bernoulli(0.2 + 0.5 * U)\n}")
    with pytest.raises(UnknownNameError, match="'U' is latent"):
        m.bounds("PNS(U -> Y)")


def test_cell_answer_table_draws_the_interval():
    from causaldsl.notebook.views import answers_html

    html = answers_html([cd.model(HAND).bounds("PNS(X -> Y)")])
    assert "<svg" in html and 'aria-label="interval from 0.5 to 0.672"' in html


def test_conditioning_on_an_empty_cell_is_a_located_zero_probability_error():
    from causaldsl.language.errors import ZeroProbabilityError

    data = {"X": np.array([0, 0, 1, 1]), "Y": np.array([0, 1, 0, 0])}  # X = 1, Y = 1 never seen
    with pytest.raises(ZeroProbabilityError, match="X = 1, Y = 1"):
        cd.graph("graph c {\n X -> Y\n X <-> Y\n}").bounds("PN(X -> Y)", data=data, draws=5)


@pytest.mark.parametrize("seed", range(3))
def test_lp_is_valid_on_three_valued_iv_and_on_the_front_door(seed):
    rng = np.random.default_rng(200 + seed)
    a = rng.dirichlet(np.ones(3), size=(3, 2))  # weights whose mean (a1 + 2 a2) sets E[X | Z, U]
    # X = number of successes in 2 trials, its mean set per (Z, U) by a table: a three-valued treatment
    rows = ", ".join(f"({z}, {u}): {a[z, u, 1] + 2 * a[z, u, 2]:.6f}" for z in range(3) for u in range(2))
    iv = cd.model(f"""model iv3 {{
    latent U ~ Bernoulli(0.4)
    Z ~ Categorical(0.3, 0.3, 0.4)
    X ~ Binomial(2, table(Z, U) {{ {rows} }} / 2)
    Y ~ Bernoulli(0.1 + 0.2 * X + 0.3 * U)
}}""")
    for q in ("ATE(X -> Y, treat = 2, control = 0)", "P(Y = 1 | do(X = 1))", "PNS(X -> Y, treat = 2, control = 1)"):
        b = iv.bounds(q, method="lp")
        assert b.low - 1e-7 <= iv.query(q).value <= b.high + 1e-7, q
    fd = cd.model(f"""model fd {{
    latent U ~ Bernoulli({rng.uniform(0.2, 0.8):.4f})
    X ~ Bernoulli(if U then {rng.uniform(0.1, 0.9):.4f} else {rng.uniform(0.1, 0.9):.4f})
    M ~ Bernoulli(if X then {rng.uniform(0.1, 0.9):.4f} else {rng.uniform(0.1, 0.9):.4f})
    Y ~ Bernoulli(0.05 + 0.5 * M + 0.4 * U)
}}""")
    b = fd.bounds("P(Y = 1 | do(X = 1))")
    assert b.low - 1e-7 <= fd.query("P(Y = 1 | do(X = 1))").value <= b.high + 1e-7
