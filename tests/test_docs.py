"""The documentation's code runs, and the numbers its comments claim are the numbers it gives.

Each of README.md, docs/language.md and docs/notebook.md is read as a reader would: its fenced
```` ```python ```` blocks run in order in one namespace per file, statement by statement. A
statement whose line ends in a comment that claims a value is checked against it:

* ``print(...)  # P(...) = 0.635  [exact]``: the printed text must match the comment, ``...``
  standing for any text and each number agreeing at the precision it is written with;
* ``expr  # 0.27`` / ``expr  # 0.3439..., None, 'exact'`` / ``expr  # 'front-door'``: the
  expression's value (a ``Result``'s ``.value``; a tuple item by item) must equal the literals
  at the head of the comment (a number written with ``...`` is a truncation, otherwise rounded).

Comments that describe (``# dict of NumPy arrays``) are not claims and are not checked.

The DSL blocks (plain ```` ``` ````) that are whole programs (``model NAME { ... }`` or
``graph NAME { ... }`` followed by statements) are read by ``cd.program`` (every query checked)
and answered by ``cd.run``; ``%%causal`` blocks run through the magic in an IPython shell, the
way a kernel runs them (the ``shell`` fixture of tests/conftest.py).

Data a doc uses but does not define gets a fixture here (``namespace`` and ``block_fixtures``:
``df``, ``data``, ``model``, ``m``, ``text``, ``fit``; ``_fixture_dir``: ``alarm.bif.gz`` copied from
pgmpy's example models, ``kidney.csv``, ``tutorials/``); a python block that cannot run here would
be listed in ``SKIP`` with its reason (none is), and the slow ones (NUTS fits) in ``SLOW``, run
with the slow tests (CI's ``make test`` runs them all; ``-m "not slow"`` leaves them out locally).
Every plain and sh block is in a ledger (``PLAIN_BLOCKS``, ``SH_BLOCKS``) that names the test
checking it or why none does; a new block fails ``test_every_plain_block_is_accounted_for`` until
it is entered there. Printed outputs shown in prose blocks are checked by the named tests below.

Also here: every public function and method has a docstring with an example (run by
``--doctest-modules``), and README's Layout and docs/architecture.md name every module.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import shutil
import tokenize
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import causaldsl as cd
from models import KIDNEY

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", "docs/language.md", "docs/notebook.md"]

# (file, index of the block among that file's ```python blocks, counted from 0) -> why it is not run.
SKIP: dict[tuple[str, int], str] = {}

# (file, index among its ```python blocks): run only with -m slow (CI's `make test` runs them).
SLOW: dict[tuple[str, int], str] = {
    ("README.md", 4): "fits the kidney model by NUTS (4 chains)",
    ("docs/notebook.md", 3): "plots a NUTS fit (its fixture fits the kidney model)",
}

# DSL blocks (by index among a file's plain ``` blocks) that are whole programs but need a file
# they name: run with the fixture files of _fixture_dir, and slow where they fit.
SLOW_DSL: dict[tuple[str, int], str] = {
    ("docs/language.md", 2): "fit kidney to \"kidney.csv\", chains = 4, draws = 1000: NUTS",
}


@dataclass
class Block:
    file: str
    lang: str
    line: int          # the line of the opening fence, counted from 1
    text: str


def blocks(file: str) -> list[Block]:
    """Every fenced block of ``file``, in order, with its info string (``python``, ``sh``, or empty)."""
    out, lines = [], (ROOT / file).read_text().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if m:
            j = i + 1
            while not lines[j].startswith("```"):
                j += 1
            out.append(Block(file, m.group(1), i + 1, "\n".join(lines[i + 1:j]) + "\n"))
            i = j
        i += 1
    return out


def python_blocks(file: str) -> list[Block]:
    return [b for b in blocks(file) if b.lang == "python"]


def dsl_blocks(file: str) -> list[Block]:
    return [b for b in blocks(file) if b.lang == ""]


# ------------------------------------------------------------------ claims in comments
NUMBER = r"[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?(?:\.\.\.)?"


def agrees(claimed: str, actual: float) -> bool:
    """``actual`` agrees with the number written as ``claimed``: rounded to its digits, or
    truncated where it ends in ``...``."""
    truncated = claimed.endswith("...")
    text = claimed.rstrip(".").replace(",", "")
    digits = len(text.split(".")[1]) if "." in text and "e" not in text.lower() else 0
    want = float(text)
    if "e" in text.lower():                   # 1.5e-3: half a unit of its last significant digit
        mantissa, exponent = text.lower().split("e")
        places = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return abs(actual - want) <= 0.5 * 10 ** (int(exponent) - places) + 1e-15
    if truncated:
        return float(np.trunc(actual * 10 ** digits)) / 10 ** digits == want
    return abs(actual - want) <= 0.5 * 10 ** -digits + 1e-12


def _literal_head(comment: str) -> list | None:
    """The literals a comment starts with (``0.3439..., None, 'exact'``), or None where it starts
    with prose."""
    items = []
    rest = comment.strip()
    while rest:
        m = re.match(rf"({NUMBER})|(None|True|False)|('[^']*'|\"[^\"]*\")", rest)
        if not m:
            break
        items.append(m.group(0))
        rest = rest[m.end():]
        if not rest.startswith(","):
            break
        rest = rest[1:].lstrip()
    return items or None


def _value(x):
    return x.value if isinstance(x, cd.Result) else x


def check_value(claim: list[str], value, where: str) -> None:
    values = list(value) if len(claim) > 1 else [value]
    assert len(values) == len(claim), f"{where}: {len(values)} values against the claim {claim}"
    for c, v in zip(claim, values):
        v = _value(v)
        if re.fullmatch(NUMBER, c):
            assert agrees(c, float(v)), f"{where}: the comment says {c}, the code gives {v!r}"
        else:
            assert v == ast.literal_eval(c), f"{where}: the comment says {c}, the code gives {v!r}"


def check_output(comment: str, output: str, where: str) -> None:
    """The printed ``output`` matches ``comment``: ``...`` any text, numbers at their precision."""
    pattern, claimed = "", []
    for tok in re.finditer(rf"(\.\.\.)|({NUMBER})|(\s+)|(.)", comment.strip()):
        dots, num, space, ch = tok.groups()
        if dots:
            pattern += ".*?"
        elif num:
            pattern += f"({NUMBER})"
            claimed.append(num)
        elif space:
            pattern += r"\s+"
        else:
            pattern += re.escape(ch)
    m = re.search(pattern, output, re.S)
    assert m, f"{where}: the comment says {comment.strip()!r}, the code prints {output.strip()!r}"
    for c, got in zip(claimed, m.groups()):
        assert agrees(c, float(got.rstrip(".").replace(",", ""))), \
            f"{where}: the comment says {c}, the code prints {got} ({output.strip()!r})"


def comments(source: str) -> dict[int, str]:
    """Line (from 1) -> the text of the comment that ends it."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string[1:].strip()
    return out


def _is_print(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "print")


def claims_output(comment: str) -> bool:
    """A print's comment that shows what is printed (a number, a probability, a sum) rather than
    describing it."""
    return bool(re.search(r"\d|^[PEΣ]\(|^Σ", comment))


def run_block(block: Block, ns: dict) -> int:
    """Run ``block`` in ``ns`` statement by statement, checking each claim; the number checked."""
    tree = ast.parse(block.text)
    notes = comments(block.text)
    checked = 0
    for stmt in tree.body:
        where = f"{block.file}:{block.line + stmt.end_lineno}"
        comment = notes.get(stmt.end_lineno)
        code = ast.get_source_segment(block.text, stmt)
        if _is_print(stmt) and comment and claims_output(comment):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(code, where, "exec"), ns)
            check_output(comment, buf.getvalue(), where)
            checked += 1
        elif isinstance(stmt, ast.Expr) and comment and _literal_head(comment):
            value = eval(compile(code, where, "eval"), ns)
            check_value(_literal_head(comment), value, where)
            checked += 1
        else:
            exec(compile(code, where, "exec"), ns)
    return checked


# ------------------------------------------------------------------ fixtures: what the docs take as given
SMOKING = """model smoking {
    latent genotype ~ Bernoulli(0.5)
    smoking ~ Bernoulli(if genotype then 0.8 else 0.2)
    tar     ~ Bernoulli(if smoking then 0.95 else 0.05)
    cancer  ~ Bernoulli(0.1 + 0.3 * tar + 0.5 * genotype)
}"""

def kidney_rows(n: int = 700, seed: int = 0) -> dict[str, np.ndarray]:
    """Rows of the kidney-stone study's shape (Charig et al. 1986): size, treatment, recovery."""
    rng = np.random.default_rng(seed)
    size = (rng.random(n) < 0.5).astype(int)
    treatment = (rng.random(n) < np.where(size == 1, 0.75, 0.25)).astype(int)
    p = np.array([[0.87, 0.69], [0.93, 0.73]])[treatment, size]
    return {"size": size, "treatment": treatment, "recovery": (rng.random(n) < p).astype(int)}


def iv_rows(n: int = 2000, seed: int = 0) -> dict[str, np.ndarray]:
    """Rows of an instrument Z -> X -> Y with X and Y confounded (README's g.bounds(..., data=df))."""
    rng = np.random.default_rng(seed)
    u = rng.random(n) < 0.5
    z = rng.random(n) < 0.5
    x = rng.random(n) < 0.1 + 0.6 * z + 0.2 * u
    y = rng.random(n) < 0.2 + 0.4 * x + 0.3 * u
    return {"Z": z.astype(int), "X": x.astype(int), "Y": y.astype(int)}


def _fixture_dir(tmp_path: Path) -> Path:
    """The files the docs name: alarm.bif.gz (pgmpy's copy of bnlearn's), kidney.csv, tutorials/."""
    import pgmpy  # a test extra: the docs test fails, rather than skips, without it

    shutil.copy(Path(pgmpy.__file__).parent / "utils/example_models/alarm.bif.gz", tmp_path / "alarm.bif.gz")
    rows = kidney_rows()
    lines = ["size,treatment,recovery"] + [f"{s},{t},{r}" for s, t, r in zip(rows["size"], rows["treatment"], rows["recovery"])]
    (tmp_path / "kidney.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "tutorials").symlink_to(ROOT / "tutorials")
    return tmp_path


def namespace(file: str, slow: bool) -> dict:
    """What a block of ``file`` may use without defining it (said where in the module docstring)."""
    ns: dict = {"__name__": "__docs__", "cd": cd}
    if file == "README.md":
        smoking = cd.model(SMOKING)
        ns["data"] = smoking.sample(5_000, seed=1)                 # observational data for estimate()
        ns["df"] = iv_rows()                                        # g.bounds(..., data=df); block 4: kidney_rows
    if file == "docs/notebook.md":
        ns["model"] = cd.model(SMOKING)                             # cd.explore(model)
        ns["m"] = cd.model("model m {\n z ~ Bernoulli(0.4)\n x ~ Bernoulli(if z then 0.7 else 0.2)\n"
                           " y ~ Bernoulli(0.1 + 0.5 * x + 0.3 * z)\n}")   # m.draw(), m.do(x=1)
        ns["text"] = "graph g {\n x -> y\n}"                        # cd.graph(text)
        if slow:
            ns["fit"] = cd.model(KIDNEY).fit(kidney_rows(), draws=200, warmup=200, chains=1, progress=False)
    return ns


def block_fixtures(file: str, index: int, slow: bool) -> dict:
    """Names a single block takes as given where the file's earlier blocks defined something else."""
    if (file, index) == ("README.md", 4):
        return {"df": kidney_rows()}                                # m.fit(df): the kidney rows
    if (file, index) == ("docs/notebook.md", 2):
        return {"m": cd.model(SMOKING)}                             # m.twin(...) of the smoking model
    return {}


def _run_file(file: str, slow: bool, tmp_path: Path, monkeypatch) -> int:
    monkeypatch.chdir(_fixture_dir(tmp_path))
    ns, checked = namespace(file, slow), 0
    for i, block in enumerate(python_blocks(file)):
        if (file, i) in SKIP or ((file, i) in SLOW and not slow):
            continue
        ns.update(block_fixtures(file, i, slow))
        try:
            checked += run_block(block, ns)
        except AssertionError:
            raise
        except Exception as e:                       # say which block, then fail as it failed
            raise AssertionError(f"{file}:{block.line}: python block {i} raised {type(e).__name__}: {e}") from e
    return checked


@pytest.mark.parametrize("file", DOCS)
def test_python_blocks_run_and_their_claims_hold(file, tmp_path, monkeypatch):
    checked = _run_file(file, slow=False, tmp_path=tmp_path, monkeypatch=monkeypatch)
    if file == "README.md":      # the checker is not vacuous: it finds the README's numbers
        assert checked >= 7


@pytest.mark.slow
@pytest.mark.parametrize("file", [f for f in DOCS if any(k[0] == f for k in SLOW)])
def test_python_blocks_run_with_the_slow_ones(file, tmp_path, monkeypatch):
    _run_file(file, slow=True, tmp_path=tmp_path, monkeypatch=monkeypatch)


def test_the_claim_checker_fails_on_a_wrong_number():
    ns = {"cd": cd}
    bad = Block("x.md", "python", 1, "x = 0.6349\nx  # 0.634\n")
    with pytest.raises(AssertionError, match="the comment says 0.634"):
        run_block(bad, ns)
    run_block(Block("x.md", "python", 1, "x  # 0.635\nx  # 0.6349...\n(x, None)  # 0.63..., None\n"), ns)
    with pytest.raises(AssertionError, match="prints"):
        run_block(Block("x.md", "python", 1, "print('P(y) = 0.5  [exact]')  # P(...) = 0.6  [exact]\n"), ns)
    run_block(Block("x.md", "python", 1, "print('P(y = 1) = 0.5  [exact]')  # P(...) = 0.50  [exact]\n"), ns)
    assert agrees("1.5e-3", 0.00152) and not agrees("1.5e-3", 0.0016) and agrees("1,778", 1778)


# ------------------------------------------------------------------ DSL blocks that are whole programs
def whole_programs(file: str) -> list[tuple[int, Block]]:
    """The plain blocks of ``file`` that are whole programs: they open a model or graph block
    and close it, with nothing elided."""
    out = []
    for i, b in enumerate(dsl_blocks(file)):
        text = b.text.strip()
        if re.match(r"^(model|graph)\s+[A-Za-z_]\w*\s*\{", text) and "..." not in text and "NAME" not in text:
            out.append((i, b))
    return out


@pytest.mark.parametrize("file,index", [
    pytest.param(f, i, marks=[pytest.mark.slow] if (f, i) in SLOW_DSL else [])
    for f in DOCS for i, _ in whole_programs(f)])
def test_dsl_programs_check_and_run(file, index, tmp_path):
    block = dsl_blocks(file)[index]
    directory = _fixture_dir(tmp_path)
    models = cd.program(block.text, directory)
    assert models, f"{file}:{block.line}: no model or graph"
    answers = cd.run(block.text, directory)
    assert len(answers) == sum(len(m.queries) for m in models)


def test_the_dsl_programs_are_found():
    assert {i for i, _ in whole_programs("docs/language.md")} >= {2}
    assert whole_programs("docs/notebook.md") == []      # its model cell is a %%causal cell


# ------------------------------------------------------------------ outputs shown in prose blocks
def _section(file: str, index: int) -> str:
    return dsl_blocks(file)[index].text


def test_language_combination_outputs():
    """docs/language.md, "Questions that combine": the printed lines, for the models it names."""
    from scipy import stats

    shown = _section("docs/language.md", 3).splitlines()
    m = cd.model("model m {\n Z ~ Bernoulli(0.4)\n X ~ Bernoulli(if Z then 0.7 else 0.2)\n"
                 " Y ~ Bernoulli(0.1 + 0.5 * X + 0.3 * Z)\n}")
    # By hand: P(Z = 1 | X = 1) = 0.28 / 0.4 = 0.7, P(Z = 1 | X = 0) = 0.12 / 0.6 = 0.2.
    p_x1, p_x0 = 0.6 + 0.3 * 0.7, 0.1 + 0.3 * 0.2
    assert (p_x1, p_x0) == pytest.approx((0.81, 0.16))
    do1, do0 = 0.6 + 0.3 * 0.4, 0.1 + 0.3 * 0.4
    assert (do1, do0) == pytest.approx((0.72, 0.22))
    check_output(shown[0], str(m.query("P(Y = 1 | X = 1) - P(Y = 1 | X = 0)")), "language.md:341")
    assert agrees(re.search(r"= (\S+)", shown[0]).group(1), p_x1 - p_x0)
    check_output(shown[1], str(m.query("RR(X -> Y)")), "language.md:342")
    assert agrees(re.search(r"= (\S+)", shown[1]).group(1), do1 / do0)
    # The third: the linear model of "Interventions that replace a mechanism". Closed form:
    # X ~ Normal(0, sd √2), E[Z | X] = X / 2, so E[Y | X] = 2.5 X.
    lin = cd.model("model l {\n Z ~ Normal(0, 1)\n X ~ Normal(Z, 1)\n Y ~ Normal(2 * X + Z, 1)\n}")
    s = np.sqrt(2)
    truth = 2.5 * (s * stats.norm.pdf(1 / s) / stats.norm.sf(1 / s) + s * stats.norm.pdf(0) / 0.5)
    r = lin.query("E[Y | X > 1] - E[Y | X < 0]")
    assert abs(r.value - truth) < 4 * r.stderr
    claimed = float(re.search(r"= (\S+) ±", shown[2]).group(1))
    assert abs(claimed - truth) < 4 * float(re.search(r"± (\S+)", shown[2]).group(1))
    assert re.sub(r"[\d.]+", "#", shown[2]) == re.sub(r"[\d.]+", "#", str(r))


def test_language_replaced_mechanism_numbers():
    """docs/language.md, "Interventions that replace a mechanism": 0.37, 0.42, 0.52, and 2."""
    text = (ROOT / "docs/language.md").read_text()
    m = cd.model("model m {\n Z ~ Bernoulli(0.4)\n X ~ Bernoulli(if Z then 0.7 else 0.2)\n"
                 " Y ~ Bernoulli(0.1 + 0.5 * X + 0.3 * Z)\n}")
    for q, hand in [("P(Y = 1 | do(X ~ Bernoulli(0.3)))", 0.1 + 0.5 * 0.3 + 0.3 * 0.4),
                    ("P(Y = 1 | do(X = Z))", 0.1 + 0.8 * 0.4),
                    ("P(Y = 1 | do(X = 1 - Z))", 0.6 - 0.2 * 0.4)]:
        claim = re.search(re.escape(f"`{q}` = ") + r"([\d.]+)", text).group(1)
        assert agrees(claim, hand) and agrees(claim, m.query(q).value)
    lin = cd.model("model l {\n Z ~ Normal(0, 1)\n X ~ Normal(Z, 1)\n Y ~ Normal(2 * X + Z, 1)\n}")
    r = lin.query("E[Y | do(X = X + 1)]")  # exact: the shifted network is linear-Gaussian
    assert "`E[Y | do(X = X + 1)]` = 2" in text and r.value == pytest.approx(2.0, abs=1e-12)
    assert f"printed `{r}`" in text
    mc = lin.query("E[Y | do(X = X + 1)]", method="monte-carlo")
    value, se = re.search(r"Monte Carlo,\s+asked for, gives ([\d.]+) ± ([\d.]+) at the default seed", text).groups()
    assert agrees(value, mc.value) and agrees(se, mc.stderr) and abs(mc.value - 2) < 2 * mc.stderr


def test_language_actual_cause_line():
    """docs/language.md, "Actual causes": the line the CLI prints for the rock-throwing model."""
    src = (ROOT / "tutorials/actual_causes.causal").read_text()
    from causaldsl.cli import main

    shown = _section("docs/language.md", 4).strip()
    rock = src[src.index("model rock_throwing"):src.index("model forest_fire ")]
    path = ROOT / "tutorials/actual_causes.causal"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["run", str(path)]) == 0
    assert "cause(ST = 1 -> BS = 1 | ST = 1, BT = 1)" in rock
    line = next(x for x in buf.getvalue().splitlines() if x.startswith("cause(ST = 1 -> BS = 1 | ST = 1, BT = 1) "))
    assert re.sub(r"\s+", " ", line) == re.sub(r"\s+", " ", shown)


def test_language_derivation_and_explanation():
    """docs/language.md: the front-door derivation's lines and the explanation's sum."""
    m = cd.model(SMOKING)
    derivation = str(m.identify("P(cancer | do(smoking))").derivation)
    for line in _section("docs/language.md", 6).splitlines():
        line = line.strip()
        if line and "..." not in line:
            assert line in derivation, line
    explanation = re.sub(r"\s+", " ", str(m.explain("P(cancer = 1 | do(smoking = 1))")))
    assert re.sub(r"\s+", " ", _section("docs/language.md", 7)).strip() in explanation


def test_language_identify_claims():
    """docs/language.md, counterfactual identification: ETT identified, PNS not."""
    ett, pns = (a for _, a in cd.run(_section("docs/language.md", 9)))
    assert ett.identifiable and not pns.identifiable


def test_notebook_error_boxes(shell):
    """docs/notebook.md, "Mistakes": the box a cell with x ~ Bernoulli(1.5) on its third line shows,
    and the bad option's."""
    shown = _section("docs/notebook.md", 3)
    r = shell.run_cell("%%causal\nmodel m {\n    x ~ Bernoulli(1.5)\n}\n", store_history=False)
    assert not r.success
    err = r.error_in_exec
    assert f"{type(err).__name__}: {err}".strip() == shown.strip()
    shown = _section("docs/notebook.md", 4)
    r = shell.run_cell("%%causal --sed 1\nmodel m {\n x ~ Bernoulli(0.5)\n}\n", store_history=False)
    err = r.error_in_exec
    assert f"{type(err).__name__}: {err}".strip() == shown.strip()


def test_notebook_cells_run(shell):
    """docs/notebook.md: its %%causal cell and %causal lines run in a kernel, with the README's numbers."""
    b = dsl_blocks("docs/notebook.md")
    assert shell.run_cell(b[0].text, store_history=False).success
    r = shell.run_cell(b[1].text, store_history=False)
    assert r.success, r.error_in_exec
    assert "0.635" in r.result._repr_mimebundle_()["text/plain"]
    for line in b[2].text.splitlines():
        out = shell.run_cell(line.split("  #")[0], store_history=False)
        assert out.success, (line, out.error_in_exec)
    r = shell.run_cell("%causal P(cancer = 1 | do(smoking = 0))", store_history=False)
    assert agrees("0.365", r.result.value)        # 0.5 (0.05 · 0.4 + 0.95 · 0.1) + 0.5 (0.05 · 0.9 + 0.95 · 0.6)


def test_readme_rr_and_benchmark_claims():
    """README: `1.74 = RR(smoking -> cancer)`; the benchmark paragraph's asia answer, 0.79."""
    m = cd.model(SMOKING)
    assert agrees("1.74", m.query("RR(smoking -> cancer)").value)
    import pgmpy

    asia = cd.from_bif(Path(pgmpy.__file__).parent / "utils/example_models/asia.bif.gz")
    assert agrees("0.79", asia.query('P(dysp = "yes" | do(lung = "yes"), xray = "yes")').value)


@pytest.mark.slow
def test_readme_pgmpy_answers_on_asia():
    """README's benchmark paragraph: pgmpy's CausalInference.query gives 0.8013, model.do + VE 0.79
    (slow: pgmpy's BIFReader builds its grammar for seconds)."""
    import gzip

    import pgmpy

    from pgmpy.inference import CausalInference, VariableElimination
    from pgmpy.readwrite import BIFReader

    text = gzip.open(Path(pgmpy.__file__).parent / "utils/example_models/asia.bif.gz").read().decode()
    bn = BIFReader(string=text).get_model()
    ci = CausalInference(bn).query(["dysp"], do={"lung": "yes"}, evidence={"xray": "yes"}, show_progress=False)
    ve = VariableElimination(bn.do(["lung"])).query(["dysp"], evidence={"lung": "yes", "xray": "yes"},
                                                    show_progress=False)
    readme = (ROOT / "README.md").read_text()
    assert "0.8013 from `CausalInference.query`, 0.79 from `model.do` + VE" in readme
    assert agrees("0.8013", ci.get_value(dysp="yes")) and agrees("0.79", ve.get_value(dysp="yes"))


# ------------------------------------------------------------------ every public function has an example
# Public callables whose example is elsewhere, each with where: one NUTS fit serves them all.
EXAMPLE_ELSEWHERE = {
    "FittedModel": "CausalModel.fit", "FittedModel.posterior": "CausalModel.fit",
    "FittedModel.fit_report": "CausalModel.fit", "FittedModel.summary": "CausalModel.fit",
    "FittedModel.arviz": "CausalModel.fit", "FittedModel.plot": "CausalModel.fit",
}


def _public() -> list[tuple[str, object]]:
    """What ``causaldsl`` exports, and the public methods and properties of its main classes."""
    import inspect

    from causaldsl.graphs.estimand import Estimand

    out = [(n, getattr(cd, n)) for n in cd.__all__ if n != "settings"]
    out = [(n, v) for n, v in out if not (isinstance(v, type) and issubclass(v, BaseException))]
    for cls in (cd.CausalModel, cd.FittedModel, cd.Result, cd.CausalGraph, Estimand):
        for n, v in vars(cls).items():
            if n.startswith("_") or n == "painter":   # painter: the notebook's drawing hook, not API
                continue
            f = v.fget if isinstance(v, property) else getattr(v, "func", v)
            if isinstance(f, (staticmethod, classmethod)):
                f = f.__func__
            if inspect.isfunction(f):
                out.append((f"{cls.__name__}.{n}", f))
    return out


def test_every_public_function_has_a_docstring_with_an_example():
    """The project's rule: each public function has a docstring with a short example that runs
    (the suite runs --doctest-modules, so an example here is run there)."""
    import inspect

    missing = []
    for name, f in _public():
        doc = inspect.getdoc(f) or ""
        if name in EXAMPLE_ELSEWHERE:
            assert "Example: the doctest of" in doc, name
            continue
        if ">>>" not in doc:
            missing.append(name)
    assert missing == []
    assert len(_public()) > 80


# ------------------------------------------------------------------ the layout lists the modules there are
def _layout() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Layout")
    return text[start:text.index("```", text.index("```", start) + 3)]


def test_readme_layout_names_every_module():
    """README's Layout names every module of every stage, and the benchmarks' bnlearn/ folder."""
    layout = _layout()
    missing = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "causaldsl").glob("*/*.py"))
               if p.name != "__init__.py" and not re.search(rf"\b{re.escape(p.name)}\b", layout)]
    assert missing == []
    assert "bnlearn/" in layout and "causaldsl/labextension/" in layout


def test_architecture_names_every_module():
    """docs/architecture.md names every module of the stages it draws (as stage/module.py or module.py)."""
    text = (ROOT / "docs/architecture.md").read_text()
    missing = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "causaldsl").glob("*/*.py"))
               if p.name != "__init__.py" and p.parent.name not in ("notebook", "bayes", "interchange")
               and p.name not in text]
    assert missing == []


def test_language_too_large_for_exact():
    """docs/language.md, "Too large for exact": the complete 40-variable model's answer and refusal."""
    text = (ROOT / "docs/language.md").read_text()
    shown = re.search(r"`(P\(v39 = 1\) = [^`]*)`", text).group(1)
    rows = ["v0 ~ Bernoulli(0.5)"] + [f"v{i} ~ Bernoulli(({' + '.join(f'v{j}' for j in range(i))}) / {i})"
                                      for i in range(1, 40)]
    m = cd.model("model m {\n" + "\n".join(rows) + "\n}")
    r = m.query("P(v39 = 1)")
    assert abs(r.value - 0.5) < 4 * r.stderr                  # by symmetry, each vi is 1 w.p. 1/2
    assert re.sub(r"0\.\d+", "#", shown) == re.sub(r"0\.\d+", "#", str(r))
    claimed, se = (float(x) for x in re.search(r"= ([\d.]+) ± ([\d.]+)", shown).groups())
    assert abs(claimed - 0.5) < 4 * se
    refusal = re.search(r"\(`(too large for exact: [^`]*)`", text).group(1)
    with pytest.raises(cd.MethodError) as err:
        m.query("P(v39 = 1)", method="exact")
    assert refusal in str(err.value)
    hint = re.search(r"hint: `([^`]*)`\)", text[text.index(refusal):]).group(1)
    assert err.value.hint == hint


def test_readme_command_lines(monkeypatch):
    """README, "On the command line": each command of its sh block runs, with exit status 0."""
    from causaldsl.cli import main

    (block,) = [b for b in blocks("README.md") if b.lang == "sh" and "causaldsl run" in b.text]
    monkeypatch.chdir(ROOT)
    for line in block.text.splitlines():
        argv = line.split("#")[0].split()
        assert argv[0] == "causaldsl"
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            try:
                status = main(argv[1:])
            except SystemExit as e:             # argparse's --version exits
                status = e.code
        assert status in (0, None), (line, buf.getvalue())
        if argv[1] == "run":
            assert "P(cancer = 1 | do(smoking = 1))" in buf.getvalue() and "0.635" in buf.getvalue()
        if argv[1] == "--version":
            assert cd.__version__ in buf.getvalue()


def test_notebook_named_api():
    """docs/notebook.md names these: the explorer's methods, the answer's pictures, the twin's data,
    the intervened graph's DOT marks."""
    m = cd.model("model m {\n z ~ Bernoulli(0.4)\n x ~ Bernoulli(if z then 0.7 else 0.2)\n"
                 " y ~ Bernoulli(0.1 + 0.5 * x + 0.3 * z)\n}")
    ex = cd.explore(m)
    ex.click("x"); ex.set("x", 1); ex.set_fact("x", 0); ex.outcome = "y"
    assert ex.questions() == {"seeing": "P(y | x = 1)", "doing": "P(y | do(x = 1))",
                              "imagining": "P(y[x = 1] | x = 0)"}
    assert ex.answers["doing"]["dist"]["1"] == pytest.approx(0.6 + 0.3 * 0.4)
    assert ex.last_update_ms >= 0
    ex.reset()
    ex.soft("x", cd.draw("Bernoulli(0.3)"))
    assert ex.questions()["doing"] == "P(y | do(x ~ Bernoulli(0.3)))"
    r = m.query("P(y = 1 | do(x = 1))")
    assert "<svg" in r.svg() and r.picture() is not None and type(r.plot()).__name__ == "Figure"
    t = m.twin("P(y[x = 0] = 0 | x = 1, y = 1)")
    assert all(hasattr(t, a) for a in ("nodes", "edges", "worlds", "noise", "intervened"))
    dot = m.do(x=1).causal_graph.to_dot()
    assert '"x" [shape=box, peripheries=2];' in dot and '"z" -> "x"' not in dot


def test_language_fragments_read_in_a_model():
    """docs/language.md's statement fragments (tables, bounds statements, a compact table) read
    inside a model that declares what they name, and answer as a hand sum says."""
    b = dsl_blocks("docs/language.md")
    tables = b[1].text.replace("y ~", "y1 ~", 1).replace("y ~", "y2 ~", 1)
    m = cd.model("model m {\n x ~ Bernoulli(0.5)\n z ~ Bernoulli(0.5)\n"
                 " weather ~ Categorical(sunny: 0.6, rainy: 0.4)\n" + tables + "}")
    assert m.query("P(u = 1)").value == pytest.approx(0.6 * 0.1 + 0.4 * 0.8)
    assert m.query("P(y2 = 1 | x = 1, z = 0)").value == pytest.approx(0.3)
    (bm,) = cd.program("model m {\n X ~ Bernoulli(0.5)\n Y ~ Bernoulli(if X then 0.8 else 0.3)\n}\n" + b[8].text)
    assert len(bm.queries) == 7
    compact = cd.model("model m {\n Sex ~ Categorical(male: 0.5, female: 0.5)\n"
                       " Region ~ Categorical(north: 0.5, south: 0.5)\n" + b[10].text + "}")
    assert compact.query('P(Age = "<5")').value == pytest.approx(0.25 * (0.2 + 0.1 + 0.3 + 0.25))


# Every plain (DSL or output) block, and what checks it: a whole program (test_dsl_programs_check_and_run),
# a named test, or nothing, with the reason.
PLAIN_BLOCKS = {
    "README.md": {0: "test_notebook_cells_run (the same %load_ext as docs/notebook.md)",
                  1: "not run: '{ ... }' elides the model (docs/notebook.md's full cell is run)",
                  2: "not run: benchmark output (benchmarks/fit_vs_numpyro.py writes it)",
                  3: "test_readme_layout_names_every_module"},
    "docs/language.md": {0: "not run: the statement forms, with NAME and [optional] parts",
                         1: "test_language_fragments_read_in_a_model", 2: "whole program (slow: NUTS)",
                         3: "test_language_combination_outputs", 4: "test_language_actual_cause_line",
                         5: "whole program", 6: "test_language_derivation_and_explanation",
                         7: "test_language_derivation_and_explanation", 8: "test_language_fragments_read_in_a_model",
                         9: "whole program; test_language_identify_claims",
                         10: "test_language_fragments_read_in_a_model"},
    "docs/notebook.md": {0: "test_notebook_cells_run", 1: "test_notebook_cells_run", 2: "test_notebook_cells_run",
                         3: "test_notebook_error_boxes", 4: "test_notebook_error_boxes"},
}


SH_BLOCKS = {
    "README.md": {0: "not run: make demo / make test set up a virtualenv (CI's .ci/run runs make test)",
                  1: "test_readme_command_lines",
                  2: "not run: make bench installs the peers and runs for 20 minutes"},
}


def test_every_plain_block_is_accounted_for():
    """A new plain block in a doc must be checked or listed here with why not (never skipped silently)."""
    for file in DOCS:
        assert set(PLAIN_BLOCKS[file]) == set(range(len(dsl_blocks(file)))), file
        wholes = {i for i, _ in whole_programs(file)}
        assert wholes == {i for i, why in PLAIN_BLOCKS[file].items() if why.startswith("whole program")}, file
        sh = [b for b in blocks(file) if b.lang == "sh"]
        assert set(SH_BLOCKS.get(file, {})) == set(range(len(sh))), file
        assert {b.lang for b in blocks(file)} <= {"", "python", "sh"}, file
