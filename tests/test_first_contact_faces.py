"""Issue 18, the faces (Python, CLI, notebook, set-up): no answer silently wrong, lost or hung.

Numbers are checked against values computed here (closed-form posterior means,
enumeration by hand, EM, least squares), errors by class, line and column.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import causaldsl as cd
from causaldsl.cli import main

ROOT = Path(__file__).resolve().parents[1]
KIDNEY_CSV = ROOT / "tutorials" / "kidney.csv"
SMALL_NUTS = "chains = 1, draws = 300, warmup = 200"

TWO = """model m {
    x ~ Bernoulli(0.3)
    y := x
}
P(y = 1 | x = 1)
P(y = 1 | x = 0, y = 1)
P(x = 1)
"""


def _kidney_program(fit: bool) -> str:
    """tutorials/kidney_bayes.causal with small NUTS settings and the data file's absolute path."""
    text = (ROOT / "tutorials" / "kidney_bayes.causal").read_text()
    text = text.replace('fit kidney to "kidney.csv", chains = 4, draws = 1000',
                        f'fit kidney to "{KIDNEY_CSV}", {SMALL_NUTS}')
    assert f'"{KIDNEY_CSV}"' in text
    if not fit:
        text = "\n".join(ln for ln in text.splitlines() if not ln.startswith("fit "))
    return text


def _kidney_ate_posterior_mean() -> float:
    """E[ATE(A vs B)] under independent Beta(1, 1) priors, from the counts of kidney.csv.

    With complete data every parameter's posterior is Beta(1 + hits, 1 + misses), independent
    of the others, so E[Σ_s P(s)(p_ok[A,s] - p_ok[B,s])] is the same sum of posterior means.
    """
    rows = list(csv.DictReader(KIDNEY_CSV.open()))
    large = sum(r["size"] == "large" for r in rows)
    p_size = {"large": (1 + large) / (2 + len(rows)), "small": (1 + len(rows) - large) / (2 + len(rows))}

    def p_ok(t, s):
        cell = [int(r["recovery"]) for r in rows if r["treatment"] == t and r["size"] == s]
        return (1 + sum(cell)) / (2 + len(cell))

    return sum(p_size[s] * (p_ok("A", s) - p_ok("B", s)) for s in ("small", "large"))


ATE = "ATE(treatment -> recovery, treat = A, control = B)"




# ------------------------------------------------------------------ 1: the fitted model is bound
def test_cell_that_fits_binds_the_fitted_model(shell):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one short chain: the sampler warns about ESS
        r = shell.run_cell("%%causal\n" + _kidney_program(fit=True), store_history=False)
    assert r.success, r.error_in_exec
    rows = r.result.results[0]
    table_ate = next(x for x in rows if x.query == ATE)
    kidney = shell.user_ns["kidney"]
    assert isinstance(kidney, cd.FittedModel)
    bound = kidney.query(ATE)
    assert bound.value == pytest.approx(table_ate.value, abs=1e-12)   # the same posterior draws
    assert bound.value == pytest.approx(_kidney_ate_posterior_mean(), abs=0.01)   # 0.052
    prior = cd.model(_kidney_program(fit=False)).query(ATE)
    assert abs(prior.value) < 0.03 and abs(bound.value - prior.value) > 0.03   # the prior's is about 0
    line = shell.run_line_magic("causal", ATE)                                 # %causal asks the same
    assert line.value == pytest.approx(table_ate.value, abs=1e-12)


def test_load_of_a_file_that_fits_returns_the_fitted_model(tmp_path):
    path = tmp_path / "kidney.causal"
    path.write_text(_kidney_program(fit=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = cd.load(path)
        assert isinstance(m, cd.FittedModel)
        assert m.query(ATE).value == pytest.approx(_kidney_ate_posterior_mean(), abs=0.01)
        rows = m.run()   # the file's fit is not made twice: its rows answer over the same draws
    assert rows[0].value == 700
    assert next(x for x in rows if x.query == ATE).value == pytest.approx(m.query(ATE).value, abs=1e-12)


# ------------------------------------------------------------------ 2: one failing query costs nothing else
def test_cli_prints_every_answer_and_each_error_in_its_place(tmp_path):
    path = tmp_path / "two.causal"
    path.write_text(TWO)
    proc = subprocess.run([sys.executable, "-m", "causaldsl.cli", "run", str(path)], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0] == "model m"
    assert re.fullmatch(r"P\(y = 1 \| x = 1\)\s+1  \[exact\]", lines[1])
    assert lines[2].startswith("P(y = 1 | x = 0, y = 1)  error: ") and "probability zero" in lines[2]
    assert re.fullmatch(r"P\(x = 1\)\s+0\.3  \[exact\]", lines[3])
    assert proc.stderr.startswith(f"{path}:6:1: ZeroProbabilityError: ")
    assert "\nP(y = 1 | x = 0, y = 1)\n^^^" in proc.stderr


def test_cli_flushes_each_answer_before_the_next_is_computed(tmp_path, monkeypatch, capsys):
    """Each line is printed (and flushed) before the next query runs."""
    path = tmp_path / "two.causal"
    path.write_text(TWO)
    seen = []
    real = cd.CausalModel.query

    def spy(self, q, **kw):
        seen.append(capsys.readouterr().out)   # what was printed before this query started
        return real(self, q, **kw)

    monkeypatch.setattr(cd.CausalModel, "query", spy)
    assert main(["run", str(path)]) == 1
    assert seen[0] == "model m\n"
    assert seen[1].startswith("P(y = 1 | x = 1)") and seen[2].startswith("P(y = 1 | x = 0, y = 1)  error")


def test_cell_with_a_failing_query_defines_its_model_and_shows_the_other_answers(shell, capsys):
    r = shell.run_cell("%%causal\n" + TWO, store_history=False)
    err = r.error_in_exec
    assert isinstance(err, cd.ZeroProbabilityError) and (err.line, err.column) == (7, 1)
    m = shell.user_ns["m"]
    assert m.query("P(x = 1)").value == pytest.approx(0.3, abs=1e-12)
    shown = capsys.readouterr().out
    rows: dict = {}
    for ln in shown.splitlines():   # the table's rows come first; the error box quotes the query again
        if ln.startswith("P("):
            rows.setdefault(ln.split("  ")[0], ln)
    assert re.match(r"P\(y = 1 \| x = 1\)\s+1\s+exact", rows["P(y = 1 | x = 1)"])
    assert "error: the conditioning event (x = 0, y = 1) has probability zero" in rows["P(y = 1 | x = 0, y = 1)"]
    assert re.match(r"P\(x = 1\)\s+0\.3\s+exact", rows["P(x = 1)"])
    assert "Traceback" not in shown


def test_python_run_answers_every_query_then_raises_the_first_failure():
    m = cd.model(TWO)
    with pytest.raises(cd.ZeroProbabilityError) as info:
        m.run()
    assert (info.value.line, info.value.column) == (6, 1)
    first, failed, last = info.value.results
    assert first.value == 1.0 and failed is info.value and last.value == pytest.approx(0.3, abs=1e-12)
    assert [type(r).__name__ for r in m.answers()] == ["Result", "ZeroProbabilityError", "Result"]
    with pytest.raises(cd.ZeroProbabilityError) as info:
        cd.run(TWO)
    assert [name for name, _ in info.value.results] == ["m", "m", "m"]


def test_queries_after_a_failed_fit_are_not_answered_over_the_prior(tmp_path):
    (tmp_path / "d.csv").write_text("x\n1\n0\nmaybe\n")
    src = "model c {\n    param p ~ Beta(1, 1)\n    x ~ Bernoulli(p)\n}\nP(x = 1)\nfit c to \"d.csv\"\nP(x = 1)\n"
    rows = list(cd.program(src, tmp_path)[0].answers())   # the data turn out bad when fitting
    assert rows[0].value == pytest.approx(0.5, abs=0.03)          # prior mean of Beta(1, 1), 1,000 draws
    assert isinstance(rows[1], cd.DataError) and "maybe" in rows[1].message
    assert isinstance(rows[2], cd.FitError) and "the fit on line 6 failed" in rows[2].message
    assert (rows[2].line, rows[2].column) == (7, 1)


# ------------------------------------------------------------------ 11: check says what run says
SMOKING_BAD = """model smoking {
    genotype ~ Bernoulli(0.5)
    smoking ~ Bernoulli(if genotype then 0.8 else 0.2)
    tar ~ Bernoulli(if smoking then 0.95 else 0.05)
    cancer ~ Bernoulli(0.3 + 0.6 * tar + 0.5 * genotype)
}
P(cancer = 1)
"""


def test_check_names_the_parent_values_where_a_probability_leaves_0_1(tmp_path, capsys):
    path = tmp_path / "s.causal"
    path.write_text(SMOKING_BAD)
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    words = "ProbabilityError: 'cancer': at tar = 1, genotype = 1 its Bernoulli parameter p is 1.4"   # 0.3 + 0.6 + 0.5
    assert err.startswith(f"{path}:5:5: {words}")
    assert main(["run", str(path)]) == 1                      # run says the same, in the query's row
    out, err = capsys.readouterr()
    assert err.startswith(f"{path}:5:5: {words}")
    with pytest.raises(cd.ProbabilityError) as info:        # and so does the Python face
        cd.model(SMOKING_BAD).query("P(cancer = 1)")
    assert (info.value.line, info.value.column) == (5, 5) and words.split(": ", 1)[1] in info.value.message


def test_check_judges_validity_on_the_query_network_as_run_does(tmp_path, capsys):
    """do(tar = 0) holds tar at 0: the largest p is then 0.8, and both check and run accept it."""
    path = tmp_path / "s.causal"
    path.write_text(SMOKING_BAD.replace("P(cancer = 1)", "P(cancer = 1 | do(tar = 0))"))
    assert main(["check", str(path)]) == 0
    assert main(["run", str(path)]) == 0
    # by hand: 0.3 + 0.5 * P(genotype = 1)
    assert re.search(r"P\(cancer = 1 \| do\(tar = 0\)\)\s+0\.55  \[exact\]", capsys.readouterr().out)


def test_check_names_the_levels_of_a_categorical_that_do_not_sum_to_one(tmp_path, capsys):
    src = ("model w {\n    s ~ Categorical(lo: 0.5, hi: 0.5)\n"
           "    w ~ Categorical(a: 0.2, b: if s == hi then 0.9 else 0.8)\n}\nP(w = a)\n")
    path = tmp_path / "w.causal"
    path.write_text(src)
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:3:5: ProbabilityError: 'w': at s = hi its Categorical probabilities are "
                          "a: 0.2, b: 0.9 (sum 1.1)")


FIT_MODEL = "model c {\n    param p ~ Beta(1, 1)\n    w ~ Categorical(sun: p, rain: 1 - p)\n}\n"


def test_check_reports_a_missing_fit_file_at_its_path(tmp_path, capsys):
    path = tmp_path / "c.causal"
    path.write_text(FIT_MODEL + 'fit c to "nowhere.csv"\nP(w = sun)\n')
    assert main(["check", str(path)]) == 1
    assert capsys.readouterr().err.startswith(f"{path}:5:10: DataError: no such data file: nowhere.csv")


def test_check_reports_an_unknown_level_in_the_fit_file(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("w\nsun\nrain\nsnow\n")
    path = tmp_path / "c.causal"
    path.write_text(FIT_MODEL + 'fit c to "d.csv"\nP(w = sun)\n')
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:3:5: DataError: column 'w', row 3 of d.csv (line 4): 'snow' is not a level")


def test_check_does_not_count_a_fit_as_a_query(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("w\nsun\nrain\n")
    path = tmp_path / "c.causal"
    path.write_text(FIT_MODEL + 'fit c to "d.csv"\nP(w = sun)\n')
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: ok (1 model(s), 1 query, 1 fit)"


# ------------------------------------------------------------------ 12: clean usage errors, editor positions
def test_bad_cell_option_names_it_and_lists_the_valid_ones(shell, capsys):
    r = shell.run_cell("%%causal --sed 3\nmodel q {\n x ~ Bernoulli(0.5)\n}\n", store_history=False)
    assert isinstance(r.error_in_exec, cd.CausalDSLError)
    shown = capsys.readouterr().out
    assert shown.splitlines()[0] == "UsageError: unknown option '--sed' (did you mean '--seed'?)"
    assert "hint: options of %%causal: NAME, --seed N, --method exact|monte-carlo, --samples N, --quiet" in shown
    for noise in ("_UsageError", "%_cell_args", "usage: ::", "positional arguments"):
        assert noise not in shown
    r = shell.run_cell("%causal --method fast P(x = 1)", store_history=False)
    assert "invalid choice: 'fast'" in r.error_in_exec.message
    assert "%_line_args" not in str(r.error_in_exec)


def test_cli_errors_are_file_line_column_and_version(tmp_path, capsys):
    path = tmp_path / "bad.causal"
    path.write_text("model m {\n    x ~ Bernoulli(0.5)\n    y ~ Bernoulli(0.2 + 0.5 * xx)\n}\n")
    assert main(["run", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{path}:3:31: UnknownNameError: unknown variable 'xx'"
    assert err[1] == "    y ~ Bernoulli(0.2 + 0.5 * xx)" and err[2].index("^") == 30
    assert err[3].startswith("hint: ")
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"causaldsl {cd.__version__}"


# ------------------------------------------------------------------ 19 / 20: raw exceptions and lost positions
def test_cli_non_utf8_bytes_are_a_located_error(tmp_path, capsys):
    path = tmp_path / "b.causal"
    path.write_bytes(b"model m {\n    x ~ Bernoulli(0.5) \xe9\n}\n")
    assert main(["run", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:2:24: CausalSyntaxError: byte 0xe9 is not UTF-8 text")
    assert "Traceback" not in err


@pytest.mark.parametrize("option, column, words", [
    ("draws = 1e308", 27, "option 'draws' is 1e+308, outside its range 1 to 10,000,000"),
    ("chains = 0", 28, "option 'chains' is 0, outside its range 1 to 256"),
    ("seed = -1", 26, "option 'seed' is -1, outside its range 0 to 4,294,967,295"),
    ("learning_rate = 0", 35, "option 'learning_rate' is 0, outside its range 1e-12 to 10"),
])
def test_fit_options_out_of_range_are_refused_at_load_with_their_position(tmp_path, option, column, words):
    (tmp_path / "d.csv").write_text("w\nsun\nrain\n")
    src = FIT_MODEL + f'fit c to "d.csv", {option}\n'
    with pytest.raises(cd.QueryError) as info:
        cd.program(src, tmp_path)
    assert (info.value.line, info.value.column) == (5, column) and words in info.value.message


def test_fit_to_a_directory_or_an_unreadable_file_points_at_the_path(tmp_path):
    (tmp_path / "sub").mkdir()
    for load in (cd.api.check, lambda src, base: cd.model(src, base_dir=base)):   # check, and fitting
        with pytest.raises(cd.DataError) as info:
            load(FIT_MODEL + 'fit c to "sub"\n', tmp_path)
        assert (info.value.line, info.value.column) == (5, 10) and "is a directory" in info.value.message
        (tmp_path / "bad.csv").write_bytes(b'w\n"sun\n')   # an unclosed quote: pandas cannot parse it
        with pytest.raises(cd.DataError) as info:
            load(FIT_MODEL + 'fit c to "bad.csv"\n', tmp_path)
        assert (info.value.line, info.value.column) == (5, 10) and "cannot read bad.csv" in info.value.message


# ------------------------------------------------------------------ 13: SVI crashes
def test_svi_sums_out_a_discrete_latent_and_matches_em():
    rng = np.random.default_rng(0)
    z = rng.random(2000) < 0.3
    y = 1.0 + 4.0 * z + rng.normal(size=2000)
    # EM for the same mixture (unit sd, components mu and mu + 4), written independently.
    p, mu = 0.5, 0.0
    for _ in range(500):
        a = p * np.exp(-0.5 * (y - mu - 4) ** 2)
        b = (1 - p) * np.exp(-0.5 * (y - mu) ** 2)
        w = a / (a + b)
        p, mu = w.mean(), np.mean(y - 4 * w)
    m = cd.model("model lat {\n param p ~ Beta(1, 1)\n param mu ~ Normal(0, 3)\n"
                 " latent z ~ Bernoulli(p)\n y ~ Normal(mu + 4 * z, 1)\n}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = m.fit({"y": y}, method="svi", steps=3000, draws=400, learning_rate=0.02)
    assert fit.posterior["p"].mean() == pytest.approx(p, abs=0.02)
    assert fit.posterior["mu"].mean() == pytest.approx(mu, abs=0.05)


def test_svi_with_batch_size_and_missing_cells_matches_least_squares():
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    y = 1.5 * x + 0.5 * rng.normal(size=400)
    y[::7] = np.nan
    seen = ~np.isnan(y)
    slope = np.sum(x[seen] * y[seen]) / np.sum(x[seen] ** 2)
    sd = np.sqrt(np.mean((y[seen] - slope * x[seen]) ** 2))
    m = cd.model("model reg {\n param a ~ Normal(0, 3)\n param s ~ HalfNormal(1)\n"
                 " x ~ Normal(0, 1)\n y ~ Normal(a * x, s)\n}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = m.fit({"x": x, "y": y}, method="svi", steps=3000, draws=400, batch_size=100, learning_rate=0.02)
    assert fit.posterior["a"].mean() == pytest.approx(slope, abs=0.06)
    assert fit.posterior["s"].mean() == pytest.approx(sd, abs=0.06)


# ------------------------------------------------------------------ 14: a table estimate prints
def test_table_estimate_prints_as_a_labelled_table():
    m = cd.model("model m {\n z ~ Bernoulli(0.4)\n x ~ Bernoulli(if z then 0.7 else 0.2)\n"
                 " y ~ Bernoulli(0.1 + 0.5 * x + 0.3 * z)\n}")
    data = m.sample(3000, seed=1)
    est = m.identify("P(y | do(x))").estimate(data)
    lines = str(est).splitlines()
    assert lines[0].startswith("P(y | do(x))  [plug-in (back-door)")
    assert lines[1].split() == ["y", "x", "estimate", "95%", "interval"]
    # back-door adjustment by hand from the same rows: Σ_z P(y | x, z) P(z)
    z, x, y = (np.asarray(data[k]) for k in ("z", "x", "y"))
    for line in lines[2:]:
        yv, xv, value = line.split()[:3]
        want = sum(np.mean(y[(x == int(xv)) & (z == zv)] == int(yv)) * np.mean(z == zv) for zv in (0, 1))
        assert float(value) == pytest.approx(want, abs=1e-5)
    assert len(lines) == 6


# ------------------------------------------------------------------ 21: names that would break the notebook
@pytest.mark.parametrize("name, why", [("__builtins__", "Python's own"), ("list", "Python's own"),
                                       ("lambda", "a Python keyword"), ("Out", "one IPython keeps")])
def test_cell_refuses_names_that_shadow_python(shell, name, why):
    before = shell.user_ns.get(name, "absent")
    r = shell.run_cell(f"%%causal\nmodel {name} {{\n x ~ Bernoulli(0.5)\n}}\n", store_history=False)
    err = r.error_in_exec
    assert isinstance(err, cd.CausalDSLError) and (err.line, err.column) == (2, 7) and why in err.message
    assert "rename" in err.hint
    assert shell.user_ns.get(name, "absent") is before
    assert shell.run_cell("1 + 1", store_history=False).result == 2   # later cells still work


# ------------------------------------------------------------------ 16: set up once
def test_make_installs_once_and_demo_skips_the_test_extras(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)

    def dry(target):
        return subprocess.run(["make", "-n", target, f"VENV={venv}"], cwd=ROOT, capture_output=True,
                              text=True, timeout=60).stdout

    demo = dry("demo")
    assert "pip install --quiet -e .\n" in demo and "[test]" not in demo
    assert 'pip install --quiet -e ".[test]"' in dry("test")
    for stamp in (".stamp-demo", ".stamp-test"):
        (venv / stamp).touch()
    os.utime(ROOT / "pyproject.toml", (1, 1))   # older than the stamps (git does not track mtimes)
    try:
        for target in ("demo", "test", "lab"):
            assert "pip" not in dry(target), target
    finally:
        os.utime(ROOT / "pyproject.toml", None)
    assert "hypothesis" in (ROOT / "pyproject.toml").read_text()


def test_check_reports_every_mistaken_query_at_once(tmp_path, capsys):
    # A compiler lists every mistake, not the first: each query is checked on its own.
    path = tmp_path / "two.causal"
    path.write_text("model m {\n x ~ Bernoulli(0.3)\n}\nP(x = 1)\nP(x = 2)\nP(x + 1)\nP(zz = 1)\n")
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    located = [line.split(": ")[0] for line in err.splitlines() if line.startswith(str(path))]
    assert located == [f"{path}:5:7", f"{path}:6:3", f"{path}:7:3"]
    assert "ok" not in out
