"""The bnlearn benchmark's harness (benchmarks/bnlearn): on asia, every peer's answers to the
benchmark's questions equal causaldsl's, and the check that the table relies on fails on a wrong
answer. The sessions run in this process here (the benchmark runs each in its own)."""

from __future__ import annotations

import gzip

import pytest

pytest.importorskip("pgmpy")
pytest.importorskip("pyagrum")

from benchmarks.bnlearn import ours, pgmpy_bp, pgmpy_ve, pyagrum_lp  # noqa: E402
from benchmarks.bnlearn.driver import TOL, TOL_FLOAT32_TABLES, causal_check, check, examples  # noqa: E402
from benchmarks.bnlearn.questions import questions, tables  # noqa: E402
from benchmarks.bnlearn.report import losses, markdown, rows  # noqa: E402


@pytest.fixture(scope="module")
def asia(tmp_path_factory):
    path = tmp_path_factory.mktemp("bif") / "asia.bif"
    path.write_text(gzip.open(examples() / "asia.bif.gz", "rt").read())
    return path


def _answers(mod, path, qs, do_path=None) -> dict:
    lib = mod.imports()
    session = mod.Session(lib, mod.load(lib, str(path)))
    if do_path:
        session.do_path = do_path
    out = {k: session.ask(*qs[k]) for k in ("marginal", "conditional", "do")}
    for kind in ("new", "new_do"):
        out.update({f"{kind}{i}": session.ask(*q) for i, q in enumerate(qs[kind])})
    return out


@pytest.fixture(scope="module")
def answers(asia):
    import causaldsl as cd

    qs = questions(tables(cd.from_bif(asia)), seed=3, new=4)
    return qs, _answers(ours, asia, qs)


def test_questions_are_distinct_and_have_positive_evidence(answers):
    qs, ref = answers
    keys = [(q[0], frozenset(q[1]), frozenset(q[2])) for q in [qs["marginal"], qs["conditional"], qs["do"],
                                                               *qs["new"], *qs["new_do"]]]
    assert len(set(keys)) == len(keys) == 11
    assert all(abs(sum(d.values()) - 1) < 1e-12 for d in ref.values())  # no zero-probability evidence


def test_pgmpy_variable_elimination_agrees_at_1e_9(asia, answers):
    qs, ref = answers
    ok, worst, n = check(ref, _answers(pgmpy_ve, asia, qs), TOL)
    assert ok and n == 11 and worst <= 1e-12


def test_pgmpy_belief_propagation_agrees_at_1e_9_without_do(asia, answers):
    """(Its do-queries fail where the mutilated asia falls apart: the harness counts those.)"""
    qs, ref = answers
    lib = pgmpy_bp.imports()
    session = pgmpy_bp.Session(lib, pgmpy_bp.load(lib, str(asia)))
    theirs = {f"new{i}": session.ask(*q) for i, q in enumerate(qs["new"])}
    ok, worst, n = check(ref, theirs, TOL)
    assert ok and n == 4


def test_pyagrum_agrees_within_its_float32_tables(asia, answers):
    qs, ref = answers
    ok, worst, n = check(ref, _answers(pyagrum_lp, asia, qs), TOL_FLOAT32_TABLES)
    assert ok and n == 11 and worst > TOL  # its BIF reader's float32 numbers show at 1e-9


def test_the_check_fails_on_a_wrong_answer(answers):
    _, ref = answers
    wrong = {k: dict(v) for k, v in ref.items()}
    level = next(iter(wrong["do"]))
    wrong["do"][level] += 2e-9
    ok, worst, _ = check(ref, wrong, TOL)
    assert not ok and worst == pytest.approx(2e-9, rel=1e-3)
    assert not check(ref, {"do": {"other": 1.0}}, TOL)[0]  # other levels
    assert causal_check(ref, {"do": wrong["do"]}, TOL) == {"compared": 1, "wrong": 1, "max_diff": worst}


def test_report_names_every_loss():
    info = {"cpu": "cpu", "cores": 2, "os": "os", "python": "3", "versions": {}, "commit": "c", "load_avg": 1.0,
            "rounds": 1, "limit_s": 60, "total_s": 60}
    base = {"import_s": 1.0, "load_s": 0.01, "first_s": 0.02, "new_s": 1e-3, "new_do_s": 1e-3, "repeat_s": 1e-5,
            "peak_mb": 200}
    data = {"machine": info, "networks": {"asia": {"vars": 8, "systems": {
        "causaldsl": dict(base),
        "pgmpy_ve": {**base, "new_s": 2.5e-4, "peak_mb": 600,
                     "check": {"ok": True, "max_diff": 1e-16, "compared": 19, "tol": 1e-9}}}}}}
    assert losses(data) == ["**asia**: new question (pgmpy VE 4.0×)"]
    assert rows(data)[2][6] == "250 µs (0.25×)"
    assert "**asia**: new question (pgmpy VE 4.0×)" in markdown(data)
    data["networks"]["asia"]["systems"]["causaldsl"]["peak_mb"] = 700
    assert losses(data) == ["**asia**: new question (pgmpy VE 4.0×); peak memory (pgmpy VE 600 MB against 700 MB)"]


def test_do_with_evidence_is_the_mutilated_network_answer(asia):
    """README's example: on asia, P(dysp = yes | do(lung = yes), xray = yes). Under do(lung = yes)
    either = yes whatever else holds, so xray says nothing of bronc:
    0.9 P(bronc) + 0.7 (1 - P(bronc)), P(bronc = yes) = 0.5 * 0.6 + 0.5 * 0.3 = 0.45, i.e. 0.79."""
    by_hand = 0.9 * 0.45 + 0.7 * 0.55
    q = ("dysp", {"xray": "yes"}, {"lung": "yes"})
    for mod in (ours, pgmpy_ve):
        lib = mod.imports()
        assert mod.Session(lib, mod.load(lib, str(asia))).ask(*q)["yes"] == pytest.approx(by_hand, abs=1e-12)


def test_a_peer_process_imports_nothing_of_causaldsl(asia, answers):
    """A peer's worker, run as the benchmark runs it, leaves no causaldsl (nor JAX) module loaded."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    qs, _ = answers
    job = {"system": "pyagrum", "path": str(asia), "questions": qs, "repeats": 2}
    code = ("import json, sys; from benchmarks.bnlearn import worker; out = worker.run(json.loads(sys.argv[1])); "
            "print(json.dumps([sorted(out['answers']), [m for m in sys.modules if m.split('.')[0] in ('causaldsl', 'jax')]]))")
    root = Path(__file__).resolve().parent.parent
    p = subprocess.run([sys.executable, "-c", code, json.dumps(job)], cwd=root, capture_output=True, text=True,
                       timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})
    answered, loaded = json.loads(p.stdout.strip().splitlines()[-1])
    assert len(answered) == 11 and loaded == []
