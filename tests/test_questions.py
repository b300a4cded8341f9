"""Questions asked from Python values (``m.probability``), and the query-only parser.

The built question must be the tree the parser makes of its text (spans included, so that
errors point where they should), and its answers those of the text query and of an enumeration
written here.
"""
import itertools

import pytest

import causaldsl as cd
from causaldsl.language.parser import _lark, _parse_with, parse, parse_query
from causaldsl.language.questions import probability_question
from causaldsl.language.errors import one_newline

SPRINKLER = """
model sprinkler {
  cloudy ~ Categorical(no: 0.5, yes: 0.5)
  rain ~ Categorical(table(cloudy) { no: [0.8, 0.2], yes: [0.2, 0.8] }, levels = [dry, wet])
  sprinkler ~ Categorical(table(cloudy) { no: [0.5, 0.5], yes: [0.9, 0.1] }, levels = [off, on])
  `grass wet` ~ Bernoulli(table(sprinkler, rain) { (off, dry): 0.0, (off, wet): 0.9, (on, dry): 0.9, (on, wet): 0.99 })
}
"""

P_CLOUDY = {"no": 0.5, "yes": 0.5}
P_RAIN = {("no", "dry"): 0.8, ("no", "wet"): 0.2, ("yes", "dry"): 0.2, ("yes", "wet"): 0.8}
P_SPR = {("no", "off"): 0.5, ("no", "on"): 0.5, ("yes", "off"): 0.9, ("yes", "on"): 0.1}
P_WET = {("off", "dry"): 0.0, ("off", "wet"): 0.9, ("on", "dry"): 0.9, ("on", "wet"): 0.99}


def joint(do_sprinkler=None):
    """Every world of the sprinkler network with its probability, enumerated by hand."""
    for c, r, s, g in itertools.product(("no", "yes"), ("dry", "wet"), ("off", "on"), (0, 1)):
        ps = (1.0 if s == do_sprinkler else 0.0) if do_sprinkler else P_SPR[c, s]
        pg = P_WET[s, r] if g else 1 - P_WET[s, r]
        yield {"cloudy": c, "rain": r, "sprinkler": s, "grass wet": g}, P_CLOUDY[c] * P_RAIN[c, r] * ps * pg


def enumerate_prob(event, given, do_sprinkler=None):
    num = sum(p for w, p in joint(do_sprinkler) if all(w[k] == v for k, v in {**event, **given}.items()))
    den = sum(p for w, p in joint(do_sprinkler) if all(w[k] == v for k, v in given.items()))
    return num / den


@pytest.fixture(scope="module")
def m():
    return cd.model(SPRINKLER)


def test_probability_matches_enumeration_and_text(m):
    got = m.probability({"rain": "wet"}, given={"grass wet": 1})
    assert got.value == pytest.approx(enumerate_prob({"rain": "wet"}, {"grass wet": 1}), abs=1e-12)
    assert got.query == 'P(rain = "wet" | `grass wet` = 1)'
    assert got.value == m.query(got.query).value
    dist = m.probability("cloudy", given={"grass wet": 1}, do={"sprinkler": "on"})
    for level in ("no", "yes"):
        want = enumerate_prob({"cloudy": level}, {"grass wet": 1}, do_sprinkler="on")
        assert dist.value[level] == pytest.approx(want, abs=1e-12)
    # do(sprinkler = on) cuts cloudy -> sprinkler: seeing wet grass then says nothing of cloudy
    # beyond what rain carries, so the answer differs from the observational one
    seen = m.probability("cloudy", given={"grass wet": 1, "sprinkler": "on"})
    assert seen.value["yes"] != pytest.approx(dist.value["yes"], abs=1e-3)


def test_built_question_is_the_parsed_tree_spans_included():
    cases = [
        ("dysp", {"xray": "yes", "smoke": "no"}, {"lung": "yes"}),
        ({"y": 1, "z": "a b"}, {"x": 0.5}, {"w": True}),
        ("E", {"do": "<5"}, None),
        ({"light on": "12+"}, None, {"`odd`"[1:-1]: -2}),
    ]
    for target, given, do in cases:
        q = probability_question(target, given, do)
        parsed = parse_query(q.text)
        assert q == parsed
        assert repr(q) == repr(parsed)  # spans and texts too (they are left out of ==)


def test_errors_point_into_the_question(m):
    with pytest.raises(cd.UnknownNameError) as e:
        m.probability("rain", given={"grass wte": 1})
    err = e.value
    assert (err.line, err.column) == (1, 10)
    assert "P(rain | `grass wte` = 1)" in str(err) and "did you mean 'grass wet'" in str(err)
    with pytest.raises(cd.CausalDSLError, match="'damp' is not a level of 'rain'"):
        m.probability("cloudy", given={"rain": "damp"})
    with pytest.raises(cd.CausalDSLError, match="a value is a level's name"):
        m.probability("cloudy", given={"rain": ["wet"]})
    with pytest.raises(cd.CausalDSLError, match="the event is empty"):
        m.probability({})
    with pytest.raises(cd.CausalDSLError, match="named by a string"):
        m.probability(3)


def test_zero_probability_evidence_is_said_with_levels(m):
    with pytest.raises(cd.ZeroProbabilityError) as e:
        m.probability("cloudy", given={"grass wet": 1, "sprinkler": "off", "rain": "dry"})
    assert "the conditioning event (`grass wet` = 1, sprinkler = off, rain = dry) has probability zero" \
        in str(e.value)


def test_probability_on_a_bnlearn_network_agrees_with_text():
    pgmpy = pytest.importorskip("pgmpy")
    import os

    path = os.path.join(os.path.dirname(pgmpy.__file__), "utils", "example_models", "asia.bif.gz")
    m = cd.from_bif(path)
    a = m.probability("dysp", given={"xray": "yes"}, do={"smoke": "no"})
    b = m.query('P(dysp | xray = "yes", do(smoke = "no"))')
    assert a.value == b.value


QUERIES = [
    "P(y = 1 | do(x = 0))", "E[y | x = 1] - E[y | x = 0]", "identify P(y | do(x))", "x _||_ y | z",
    "bounds PNS(X -> Y)", "\nP(y)\n", "ATE(x -> y)", "Var[y | x = 1]", "P(y[x = 1] = 1 | x = 0, y = 0)",
    'P(`light on` = "<5" | do(`E` = 2))', "adjustment(x -> y)", "2 * (ATE(x -> y) + 1)",
]


@pytest.mark.parametrize("text", QUERIES)
def test_query_parser_builds_the_whole_grammars_tree(text):
    whole = [i for i in parse(text).items]
    assert len(whole) == 1
    assert repr(_parse_with(_lark("question"), one_newline(text))) == repr(whole[0])
    assert repr(parse_query(text)) == repr(whole[0])


@pytest.mark.parametrize("text, message", [
    ("P(y) P(x)", "unexpected 'P'"),
    ("model m {\n x ~ Bernoulli(0.5)\n}", "expected exactly one query"),
    ("P(y |", "is never closed"),
])
def test_query_errors_are_the_whole_grammars(text, message):
    with pytest.raises(cd.CausalSyntaxError, match=message):
        parse_query(text)


@pytest.mark.parametrize("kwargs, text, column, width", [
    (dict(target="rain", given={"cloudy": ["no"]}), "P(rain | cloudy = ['no']", 19, 6),
    (dict(target=3), "P(3", 3, 1),
    (dict(target={}), "P({}", 3, 2),
    (dict(target="rain", do={"cloudy": float("nan")}), "P(rain | do(cloudy = nan", 22, 3),
    (dict(target="rain", given={"a`b": 1}), "P(rain | 'a`b'", 10, 5),
])
def test_a_value_no_question_can_hold_is_shown_where_it_would_go(m, kwargs, text, column, width):
    with pytest.raises(cd.CausalDSLError) as e:
        m.probability(**kwargs)
    err = e.value
    assert (err.line, err.column, err.width, err.source) == (1, column, width, text)
    assert err.hint and f"{text}\n{' ' * (column - 1)}{'^' * width}" in str(err)
