"""causaldsl: structural causal models and the questions people ask of them.

>>> import causaldsl as cd
>>> m = cd.model('''
... model m {
...     x ~ Bernoulli(0.5)
...     y ~ Bernoulli(if x then 0.9 else 0.2)
... }''')
>>> round(m.query("P(y = 1 | do(x = 1))").value, 6)
0.9
"""

# Importing the package changes no setting of JAX's: the engines run in float64 under
# causaldsl.engines.config.float64, scoped to each call (see causaldsl.engines.config).
from .api import CausalModel, FittedModel, graph, load, model, program, report, run  # noqa: E402
from .api import from_bif, from_pgmpy, from_pyagrum  # noqa: E402
from .graphs.causal_graph import CausalGraph, from_dagitty  # noqa: E402
from .engines.config import settings  # noqa: E402
from .language.errors import (  # noqa: E402
    CausalDSLError, CausalSyntaxError, CycleError, DataError, DistributionError, DomainError,
    DuplicateDefinitionError, EffectError, FitError, FitWarning, MethodError, ProbabilityError, QueryError,
    TableError, UnknownNameError, ZeroProbabilityError,
)
from .engines.results import Result  # noqa: E402
from .model.interventions import draw, set_to, shift  # noqa: E402


def explore(model, outcome=None, *, samples: int = 20_000, seed: int = 0):
    """The interactive explorer of ``model`` (a notebook widget); see :mod:`causaldsl.notebook.explore`.

    >>> import causaldsl as cd
    >>> ex = cd.explore(cd.model("model m {\\n x ~ Bernoulli(0.5)\\n y := x\\n}"))
    >>> ex.click("x"); ex.answers["doing"]["dist"]
    {'0': 0.0, '1': 1.0}
    """
    from .notebook.explore import explore as _explore

    return _explore(model, outcome, samples=samples, seed=seed)


def load_ipython_extension(ip) -> None:
    """``%load_ext causaldsl``: the ``%%causal`` and ``%causal`` magics."""
    from .notebook.magics import load_ipython_extension as _load

    _load(ip)


def unload_ipython_extension(ip) -> None:
    """``%unload_ext causaldsl`` (kept so that ``%reload_ext causaldsl`` works)."""

__version__ = "0.1.0"

__all__ = [
    "CausalModel", "FittedModel", "CausalGraph", "Result", "model", "load", "program", "run", "report",
    "graph", "from_dagitty", "from_bif", "from_pgmpy", "from_pyagrum", "explore", "settings",
    "CausalDSLError", "CausalSyntaxError", "CycleError", "DistributionError", "DomainError",
    "DuplicateDefinitionError", "EffectError", "MethodError", "ProbabilityError", "QueryError",
    "DataError", "FitError", "FitWarning",
    "TableError", "UnknownNameError", "ZeroProbabilityError", "shift", "draw", "set_to",
]
