"""m.numpyro_source(): generated NumPyro text (from our IR) runs on its own and agrees with m.query.

Each test ``exec``s source that causaldsl generated from a checked model (never user
text), and compares the Monte Carlo answer of that program with the engine's answer
within a few standard errors.
"""

import math

import numpy as np
import pytest

import causaldsl as cd



def run(src: str) -> dict:
    ns: dict = {}
    exec(compile(src, "<numpyro_source>", "exec"), ns)  # our generated code, not user text
    return ns


@pytest.fixture(scope="module")
def smoking():
    from pathlib import Path

    return cd.load(Path(__file__).parent.parent / "tutorials" / "smoking.causal")


@pytest.fixture(scope="module")
def gaussian():
    from pathlib import Path

    return cd.load(Path(__file__).parent.parent / "tutorials" / "linear_gaussian.causal", name="lg")


def within(estimate: float, truth: float, sd: float, n: int, k: float = 5.0) -> bool:
    return abs(estimate - truth) <= k * sd / math.sqrt(n)


def test_discrete_model_source_samples_its_distribution(smoking):
    src = smoking.numpyro_source()
    assert 'numpyro.sample("smoking", dist.Bernoulli(' in src and "def " + src.function + "():" in src
    ns = run(src)
    from numpyro.infer import Predictive
    import jax

    n = 40_000
    draws = Predictive(ns[src.function], num_samples=n)(jax.random.PRNGKey(1))
    for event, q in [(draws["cancer"] == 1, "P(cancer = 1)"), (draws["tar"] == 1, "P(tar = 1)"),
                     ((draws["smoking"] == 1) & (draws["cancer"] == 1), "P(smoking = 1, cancer = 1)")]:
        p = smoking.query(q).value
        assert within(float(np.mean(event)), p, math.sqrt(p * (1 - p)), n), q


@pytest.mark.parametrize("query", ["P(cancer = 1 | do(smoking = 1))", "P(cancer = 1 | do(smoking = 0))",
                                   "P(cancer = 1 | smoking = 1)",
                                   "P(cancer[smoking = 0] = 0 | smoking = 1, cancer = 1)"])
def test_discrete_query_programs_match_the_exact_answers(smoking, query):
    src = smoking.numpyro_source(query, samples=60_000)
    if "do(" in query:
        assert "# do(smoking = " in src and "its mechanism is cut" in src
    est = run(src)["estimate"]
    p = smoking.query(query).value
    # the evidence keeps a fraction of the draws: the standard error grows accordingly
    kept = {"P(cancer = 1 | smoking = 1)": 0.5,
            "P(cancer[smoking = 0] = 0 | smoking = 1, cancer = 1)": smoking.query("P(smoking = 1, cancer = 1)").value}
    n = int(60_000 * kept.get(query, 1.0))
    assert within(est, p, math.sqrt(p * (1 - p)), n), (est, p)


def test_counterfactual_source_shares_the_noise(smoking):
    src = smoking.numpyro_source("P(cancer[smoking = 0] = 0 | smoking = 1, cancer = 1)")
    assert 'U_cancer = numpyro.sample("U_cancer", dist.Uniform(0.0, 1.0))' in src
    assert '"cancer[smoking=0]"' in src


def test_effect_source_sums_its_parts(smoking):
    src = smoking.numpyro_source("ATE(smoking -> cancer)", samples=60_000)
    est = run(src)["estimate"]
    assert within(est, smoking.query("ATE(smoking -> cancer)").value, 1.0, 60_000)


@pytest.mark.parametrize("query,truth,sd", [
    ("E[y | do(x = 1)]", 2.0, math.sqrt(2.5)),                       # closed form in the .causal file
    ("P(y > 3 | do(x = 1))", 0.26354, math.sqrt(0.26354 * 0.73646)),
    ("E[y]", 0.0, math.sqrt(13.86)),
])
def test_continuous_programs_match_closed_forms(gaussian, query, truth, sd):
    n = 100_000
    est = run(gaussian.numpyro_source(query, samples=n, seed=3))["estimate"]
    assert within(est, truth, sd, n)
    engine = gaussian.query(query)
    assert abs(est - engine.value) <= 5 * math.hypot(sd / math.sqrt(n), engine.stderr or 0.0)


def test_model_with_levels_and_parameters_writes_codes_and_priors():
    m = cd.model("model m {\n param a ~ Beta(2, 2)\n w ~ Categorical(sun: 0.3, rain: 0.7)\n"
                 " y ~ Bernoulli(if w == rain then a else 0.1)\n}")
    src = m.numpyro_source()
    assert 'a = numpyro.sample("a", dist.Beta(2.0, 2.0))' in src
    ns = run(src)
    from numpyro.infer import Predictive
    import jax

    d = Predictive(ns[src.function], num_samples=40_000)(jax.random.PRNGKey(0))
    # E[a] = 1/2: P(y = 1) = 0.3 * 0.1 + 0.7 * 0.5 = 0.38
    assert within(float(np.mean(d["y"])), 0.38, math.sqrt(0.38 * 0.62), 40_000)


def test_graph_questions_have_no_program(smoking):
    with pytest.raises(cd.CausalDSLError):
        smoking.numpyro_source("identify P(cancer | do(smoking))")
