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

import jax as _jax

# Exact answers are promised to 1e-6 and beyond; float32 contractions of large
# networks drift past that, so the package computes in float64.
_jax.config.update("jax_enable_x64", True)

from .api import CausalModel, FittedModel, load, model, program, report, run  # noqa: E402
from .causal_graph import CausalGraph, from_dagitty, graph  # noqa: E402
from .errors import (  # noqa: E402
    CausalDSLError, CausalSyntaxError, CycleError, DataError, DistributionError, DomainError,
    DuplicateDefinitionError, EffectError, FitError, FitWarning, MethodError, ProbabilityError, QueryError,
    TableError, UnknownNameError, ZeroProbabilityError,
)
from .results import Result  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "CausalModel", "FittedModel", "CausalGraph", "Result", "model", "load", "program", "run", "report",
    "graph", "from_dagitty",
    "CausalDSLError", "CausalSyntaxError", "CycleError", "DistributionError", "DomainError",
    "DuplicateDefinitionError", "EffectError", "MethodError", "ProbabilityError", "QueryError",
    "DataError", "FitError", "FitWarning",
    "TableError", "UnknownNameError", "ZeroProbabilityError",
]
