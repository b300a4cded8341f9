"""The notebook face: %%causal / %causal magics, rich output, clean errors, twin networks, the explorer.

Numbers are checked against hand calculations and enumerations written here,
not against the engine. The magics run in a real IPython shell
(``InteractiveShell``), the way a kernel runs them.
"""

import itertools
import math
import re

import numpy as np
import pytest

import causaldsl as cd
from causaldsl.notebook.explore import State, cycle, questions

IPython = pytest.importorskip("IPython")

SMOKING = """model smoking {
    latent genotype ~ Bernoulli(0.5)
    smoking ~ Bernoulli(if genotype then 0.8 else 0.2)
    tar     ~ Bernoulli(if smoking then 0.95 else 0.05)
    cancer  ~ Bernoulli(0.1 + 0.3 * tar + 0.5 * genotype)
}
"""


def _p_cancer_do(s: int) -> float:
    """P(cancer = 1 | do(smoking = s)) by hand: sum over genotype and tar."""
    pt = 0.95 if s else 0.05
    return sum(0.5 * (pt * (0.1 + 0.3 + 0.5 * g) + (1 - pt) * (0.1 + 0.5 * g)) for g in (0, 1))




def run(shell, text):
    return shell.run_cell(text, store_history=False)


# ------------------------------------------------------------------ %%causal
def test_cell_defines_the_model_and_shows_graph_and_answers(shell):
    r = run(shell, "%%causal\n" + SMOKING + "P(cancer = 1 | do(smoking = 1))\nATE(smoking -> cancer)\n")
    assert r.success, r.error_in_exec
    m = shell.user_ns["smoking"]
    assert isinstance(m, cd.CausalModel)
    assert abs(m.query("P(cancer = 1 | do(smoking = 1))").value - _p_cancer_do(1)) < 1e-12
    bundle = r.result._repr_mimebundle_()
    assert {"text/plain", "image/svg+xml", "text/html"} <= set(bundle)
    assert f"{_p_cancer_do(1):.6g}" in bundle["text/plain"]          # 0.635
    assert f"{_p_cancer_do(1) - _p_cancer_do(0):.6g}" in bundle["text/plain"]   # 0.27
    svg = bundle["image/svg+xml"]
    assert 'data-node="genotype" data-mode="none" data-latent="true"' in svg  # latent: dashed
    # Both queries intervene on smoking: the cell draws the graph they are answered on, the mutilated one
    assert 'data-node="smoking" data-mode="do"' in svg and "smoking: do(smoking)" in svg
    assert svg.count('class="cdsl-edge"') == 3 and 'data-source="genotype" data-target="smoking"' not in svg
    assert "cdsl-answers" in bundle["text/html"] and "<svg" in bundle["text/html"]


def test_cell_name_and_options(shell):
    r = run(shell, "%%causal coin --seed 3 --samples 4000 --method monte-carlo\n"
                   "model coin {\n x ~ Bernoulli(0.25)\n y := 1 - x\n}\nE[y]\n")
    assert r.success, r.error_in_exec
    (res,) = r.result.results[0]
    assert res.method == "monte-carlo" and res.samples == 4000
    assert abs(res.value - 0.75) < 5 * res.stderr
    assert shell.user_ns["coin"].name == "coin"


def test_cell_with_a_graph_block(shell):
    r = run(shell, "%%causal\ngraph fd {\n X -> M -> Y\n X <-> Y\n}\nX _||_ Y | M\n")
    assert r.success, r.error_in_exec
    svg = r.result._repr_svg_()
    assert svg.count('class="cdsl-bidirected"') == 1 and svg.count('class="cdsl-edge"') == 2
    assert isinstance(shell.user_ns["fd"], cd.CausalGraph)


def test_intervened_model_is_drawn_without_arrows_into_the_target(shell):
    from causaldsl.notebook.views import model_svg

    svg = model_svg(cd.model(SMOKING).do(smoking=1))
    assert 'data-node="smoking" data-mode="do"' in svg
    assert 'data-target="smoking"' not in svg           # genotype -> smoking is cut
    assert 'data-source="genotype" data-target="cancer"' in svg   # nothing else is


def test_a_mistake_in_a_cell_is_a_clean_located_error(shell, capsys):
    bad = "%%causal\nmodel m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(0.2 + 0.5 * xx)\n}\n"
    r = run(shell, bad)
    assert not r.success
    err = r.error_in_exec
    assert isinstance(err, cd.UnknownNameError)
    assert (err.line, err.column) == (4, 31)     # counted from the %%causal line
    out = capsys.readouterr()
    shown = out.out + out.err
    assert "Traceback" not in shown and 'File "' not in shown
    assert "line 4, column 31" in shown
    assert "    y ~ Bernoulli(0.2 + 0.5 * xx)" in shown
    caret = [ln for ln in shown.splitlines() if set(ln.strip()) == {"^"}]
    assert caret and caret[0].index("^") == 30
    assert "did you mean 'x'?" in shown


def test_syntax_error_position_counts_the_magic_line(shell):
    r = run(shell, "%%causal\nmodel m {\n x ~ Bernoulli(0.5\n}\n")
    assert isinstance(r.error_in_exec, cd.CausalSyntaxError)
    assert r.error_in_exec.line in (3, 4)
    assert r.error_in_exec.source_line is not None


# ------------------------------------------------------------------ %causal
def test_line_magic_answers_against_the_last_model(shell):
    run(shell, "%%causal --quiet\n" + SMOKING)
    r = shell.run_line_magic("causal", "P(cancer = 1 | do(smoking = 0))")
    assert abs(r.value - _p_cancer_do(0)) < 1e-12 and r.method == "exact"


def test_line_magic_options_and_named_model(shell):
    run(shell, "%%causal --quiet\n" + SMOKING)
    run(shell, "%%causal --quiet\nmodel other {\n a ~ Bernoulli(0.5)\n}\n")
    r = shell.run_line_magic("causal", "-m smoking --seed 2 --samples 5000 --method monte-carlo "
                                       "E[cancer | do(smoking = 1)]")
    assert r.method == "monte-carlo" and r.samples == 5000
    assert abs(r.value - _p_cancer_do(1)) < 5 * r.stderr


def test_line_magic_leaves_braces_and_dollars_alone(shell):
    run(shell, "%%causal --quiet\n" + SMOKING)
    shell.user_ns["v"] = 1
    r = run(shell, "%causal P(cancer = {v})")
    assert isinstance(r.error_in_exec, cd.CausalSyntaxError)   # not expanded to "P(cancer = 1)"


def test_line_magic_error_points_into_the_line(shell, capsys):
    run(shell, "%%causal --quiet\n" + SMOKING)
    r = run(shell, "%causal P(cancr = 1)")
    err = r.error_in_exec
    assert isinstance(err, cd.UnknownNameError)
    assert err.source_line == "%causal P(cancr = 1)" and err.column == 11
    assert "did you mean 'cancer'?" in capsys.readouterr().out


def test_line_magic_unknown_model_and_bad_options(shell):
    r = run(shell, "%causal -m smokng P(cancer = 1)")
    assert isinstance(r.error_in_exec, cd.UnknownNameError)
    assert "smoking" in (r.error_in_exec.hint or "")
    r = run(shell, "%causal --seed notanumber P(cancer = 1)")
    assert isinstance(r.error_in_exec, cd.CausalDSLError)


def test_twin_network_of_a_counterfactual(shell):
    run(shell, "%%causal --quiet\n" + SMOKING)
    tw = shell.run_line_magic("causal", "twin P(cancer[smoking = 0] = 0 | smoking = 1, cancer = 1)")
    assert set(tw.noise) == {"U_tar", "U_cancer"}      # genotype is shared as one copy, not a noise node
    assert tw.intervened == {"smoking[smoking=0]": "0"}
    assert tw.worlds["cancer[smoking=0]"] == "smoking=0" and tw.worlds["genotype"] == "factual"
    assert ("U_cancer", "cancer") in tw.edges and ("U_cancer", "cancer[smoking=0]") in tw.edges
    assert ("genotype", "cancer[smoking=0]") in tw.edges          # the latent is shared by both worlds
    assert not any(b == "smoking[smoking=0]" for _, b in tw.edges)  # held fixed: no parents
    svg = tw._repr_mimebundle_()["image/svg+xml"]
    assert svg.count('class="cdsl-cluster"') == 2 and 'data-node="U_cancer"' in svg


# ------------------------------------------------------------------ the explorer
def _enumerate(pz=0.5, px=(0.2, 0.8), py=lambda x, z: 0.1 + 0.5 * x + 0.3 * z):
    """Joint table over (z, x, y, y had x been 0, y had x been 1) with comonotone noise for y."""
    rows = []
    for z, x in itertools.product((0, 1), (0, 1)):
        p = (pz if z else 1 - pz) * (px[z] if x else 1 - px[z])
        # y = 1 iff U < py(x, z); the twin worlds share U, so cut [0, 1] at both thresholds.
        cuts = sorted({0.0, 1.0, py(0, z), py(1, z)})
        for a, b in zip(cuts, cuts[1:]):
            u = (a + b) / 2
            ys = {k: int(u < py(k, z)) for k in (0, 1)}
            rows.append((z, x, ys[x], ys[0], ys[1], p * (b - a)))
    return rows


CONF = ("model conf {\n z ~ Bernoulli(0.5)\n x ~ Bernoulli(if z then 0.8 else 0.2)\n"
        " y ~ Bernoulli(0.1 + 0.5 * x + 0.3 * z)\n}")


def test_explorer_three_rungs_match_enumeration():
    rows = _enumerate()

    def prob(event, given=lambda r: True):
        den = sum(r[-1] for r in rows if given(r))
        return sum(r[-1] for r in rows if given(r) and event(r)) / den

    ex = cd.explore(cd.model(CONF), outcome="y")
    ex.click("x")
    ex.set("x", 0)
    a = ex.answers
    assert abs(a["seeing"]["dist"]["1"] - prob(lambda r: r[2], lambda r: r[1] == 0)) < 1e-9
    assert abs(a["doing"]["dist"]["1"] - prob(lambda r: r[3])) < 1e-9
    assert a["imagining"]["query"] == "P(y[x = 0])"
    # Imagining: x was 1 and y was 1 in fact; what would y have been had x been 0? (PN-like)
    ex.click("y")
    ex.click("y")
    assert ex.state.modes["y"] == "observe"
    ex.set("y", 1)
    ex.set_fact("x", 1)
    a = ex.answers
    assert a["imagining"]["query"] == "P(y[x = 0] | x = 1, y = 1)"
    want = prob(lambda r: r[3] == 1, lambda r: r[1] == 1 and r[2] == 1)
    assert abs(a["imagining"]["dist"]["1"] - want) < 1e-9
    assert a["doing"]["dist"] == {"0": 0.0, "1": 1.0}      # conditioned on the outcome itself
    assert a["imagining"]["method"].startswith("exact")


def test_explorer_click_message_cycles_and_redraws():
    ex = cd.explore(cd.model(CONF))
    ex._on_msg(ex.graph_view, {"event": "click", "node": "x"}, [])
    svg = ex.graph_view.svg
    assert 'data-node="x" data-mode="do"' in svg and 'data-target="x"' not in svg
    ex._on_msg(ex.graph_view, {"event": "click", "node": "x"}, [])
    assert 'data-node="x" data-mode="observe"' in ex.graph_view.svg
    assert 'data-source="z" data-target="x"' in ex.graph_view.svg
    ex._on_msg(ex.graph_view, {"event": "click", "node": "x"}, [])
    assert ex.state.modes == {} and len(ex.controls.children) == 0
    ex._on_msg(ex.graph_view, {"event": "click", "node": "nonsense"}, [])   # ignored
    assert ex.state.modes == {}


def test_explorer_controls_drive_answers_without_recompiling():
    ex = cd.explore(cd.model(CONF))
    ex.click("x")
    control = ex.controls.children[0].children[0]
    assert [v for _, v in control.options] == [0.0, 1.0]
    control.value = 0.0
    first = ex.compilations
    seen = {}
    for v in (1.0, 0.0, 1.0):
        control.value = v
        seen[v] = ex.answers["doing"]["dist"]["1"]
    assert ex.compilations == first
    assert abs(seen[1.0] - (0.6 + 0.15)) < 1e-9 and abs(seen[0.0] - (0.1 + 0.15)) < 1e-9
    assert ex.last_update_ms is not None and ex.last_update_ms > 0
    html = ex.table.value
    assert 'data-setting="doing"' in html and 'data-p-1="0.75"' in html


LG = ("model lg {\n z ~ Normal(0, 1)\n x ~ Normal(0.8 * z, 1)\n y ~ Normal(2 * x + 1.5 * z, 0.5)\n}")


def _phi(t):
    return 0.5 * (1 + math.erf(t / math.sqrt(2)))


def test_explorer_continuous_closed_forms_and_histogram():
    ex = cd.explore(cd.model(LG), samples=20_000, seed=1)
    ex.click("x")
    slider = ex.controls.children[0].children[0]
    first = None
    for a in (-1.0, 0.5, 1.5):
        slider.value = a
        ans = ex.answers
        x = slider.value
        assert abs(ans["doing"]["mean"] - 2 * x) < 5 * ans["doing"]["stderr"]
        seeing = 2 * x + 1.5 * 0.8 / 1.64 * x
        assert abs(ans["seeing"]["mean"] - seeing) < 5 * ans["seeing"]["stderr"]
        # Under do(x), y ~ N(2x, sqrt(1.5^2 + 0.5^2)): the histogram's bins carry that mass.
        edges = ex._edges_for("y")
        sd = math.sqrt(2.5)
        want = np.diff([_phi((e - 2 * x) / sd) for e in edges])
        want[0] += _phi((edges[0] - 2 * x) / sd)           # mass beyond the edges is piled on the end bins
        want[-1] += 1 - _phi((edges[-1] - 2 * x) / sd)
        got = ans["doing"]["mass"]
        assert abs(got.sum() - 1) < 1e-9
        assert 0.5 * np.abs(got - want).sum() < 0.03        # total variation distance
        if first is None:
            first = ex.compilations
    assert ex.compilations == first          # moving the slider compiled nothing
    assert 'class="cdsl-hist"' in ex.chart.value and 'class="cdsl-mean"' in ex.chart.value


def test_explorer_continuous_counterfactual_with_a_fact():
    ex = cd.explore(cd.model(LG), samples=20_000, seed=2)
    ex.click("x")
    ex.click("y")
    ex.click("y")
    ex.set("y", 3.0)
    ex.set_fact("x", 1.0)
    for a in (0.0, 2.0):
        ex.set("x", a)
        im = ex.answers["imagining"]
        assert im["query"] == f"E[y[x = {a:g}] | x = 1, y = 3]"
        # Only the 2x term changes: y[x=a] = 3 + 2 (a - 1) for every such unit.
        assert abs(im["mean"] - (3 + 2 * (a - 1))) < 1e-6


def test_explorer_impossible_evidence_is_shown_not_raised():
    ex = cd.explore(cd.model("model d {\n x ~ Bernoulli(0.5)\n y := x\n}"), outcome="y")
    ex.click("x")
    ex.set("x", 0)
    ex.click("y")
    ex.click("y")
    ex.set("y", 1)
    a = ex.answers
    assert "probability zero" in a["seeing"]["error"]
    assert "probability zero" in a["doing"]["error"]
    assert a["imagining"]["dist"] == {"0": 1.0, "1": 0.0}     # y had x been 0, given y = 1 in fact
    assert "probability zero" in ex.table.value


def test_explorer_bad_calls_are_clear_errors():
    ex = cd.explore(cd.model(CONF))
    with pytest.raises(cd.QueryError, match="neither intervened on nor conditioned on"):
        ex.set("x", 1)
    ex.click("x")
    with pytest.raises(cd.QueryError, match="not a value of 'x'"):
        ex.set("x", 3)
    with pytest.raises(cd.UnknownNameError, match="did you mean 'x'"):
        cd.explore(cd.model(CONF), outcome="xx")


def test_explorer_levels_and_static_copy():
    m = cd.model("model w {\n weather ~ Categorical(sunny: 0.6, rainy: 0.4)\n"
                 " wet ~ Bernoulli(if weather == rainy then 0.9 else 0.1)\n}")
    ex = cd.explore(m, outcome="wet")
    ex.click("weather")
    ex.set("weather", "rainy")
    assert ex.questions()["doing"] == "P(wet | do(weather = rainy))"
    assert abs(ex.answers["doing"]["dist"]["1"] - 0.9) < 1e-12
    assert ex.answers["seeing"]["dist"]["1"] == pytest.approx(0.9)
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "<svg" in bundle["text/html"] and "cdsl-explorer-answers" in bundle["text/html"]
    assert "do(weather = rainy)" in bundle["text/plain"]


def test_state_functions_are_pure():
    s0 = State("y")
    s1 = cycle(s0, "x", 1.0)
    assert s0.modes == {} and s1.modes == {"x": "do"}
    m = cd.model(CONF)
    assert questions(m.ir, s1) == {"seeing": "P(y | x = 1)", "doing": "P(y | do(x = 1))",
                                   "imagining": "P(y[x = 1])"}


def test_explore_from_the_line_magic(shell):
    run(shell, "%%causal --quiet\n" + SMOKING)
    ex = shell.run_line_magic("causal", "explore smoking cancer")
    assert ex.outcome == "cancer"
    ex.click("smoking")
    assert abs(ex.answers["doing"]["dist"]["1"] - _p_cancer_do(1)) < 1e-12
    assert re.search(r"updated in \d+ ms", ex.status.value)


def test_large_sampling_is_chunked_with_a_progress_bar(capsys, monkeypatch):
    import causaldsl.api as api

    monkeypatch.setattr(api, "SAMPLE_CHUNK", 1000)
    m = cd.model("model m {\n x ~ Normal(0, 1)\n y := 2 * x + 1\n}")
    s = m.sample(3500, seed=4, progress=True)
    assert s["x"].shape == (3500,) and np.allclose(s["y"], 2 * s["x"] + 1)
    assert len(np.unique(s["x"])) == 3500                  # the chunks are not copies of each other
    assert "3.50k/3.50k" in capsys.readouterr().err        # tqdm's bar, on stderr outside a notebook
    again = m.sample(3500, seed=4, progress=False)
    assert np.array_equal(again["x"], s["x"])              # same draws with or without the bar
    assert abs(s["x"].mean()) < 5 / math.sqrt(3500) and abs(s["x"].std() - 1) < 0.05
