"""The engine of one model: what outlives an answer, owned in one place.

Answering a question compiles programs (an exact contraction, a Monte Carlo sampler, their
vmapped versions over parameter draws), makes decisions worth keeping (this structure is not
linear-Gaussian; this one needs NUTS), and may hand a compilation to the background worker.
An :class:`Engine` holds all of it for one model, in one table per kind, beside the settings
it runs under and the worker it compiles on, so that nothing is kept at module level and a
model's compiled state is one object to inspect (``m.engine``) or drop. Tables are keyed by a
plan's ``key``, which does not depend on the query's values: a new value reuses a program.

>>> import causaldsl as cd
>>> m = cd.model("model m {\\n x ~ Bernoulli(0.3)\\n y := 1 - x\\n}")
>>> m.query("P(y = 1 | do(x = 0))").value, m.query("P(y = 1 | do(x = 1))").value
(1.0, 0.0)
>>> len(m.engine.exact), m.engine.compilations     # one structure, two values
(1, 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Hashable

from .config import Settings, settings
from .exact import COMPILER, Compiler


@dataclass(eq=False)
class Engine:
    """Compiled programs and decisions for one model's questions (see the module note)."""

    settings: Settings = field(default_factory=lambda: settings)  # cd.settings unless given
    compiler: Compiler = field(default_factory=lambda: COMPILER)  # the process's one worker
    exact: dict = field(default_factory=dict)        # plan key -> ExactProgram
    montecarlo: dict = field(default_factory=dict)   # (plan key, draws) -> MonteCarloProgram
    posterior: dict = field(default_factory=dict)    # (engine, plan key[, draws]) -> vmapped program
    gaussian: dict = field(default_factory=dict)     # plan key -> GaussianProgram, or None: not Gaussian
    nuts: dict = field(default_factory=dict)         # plan key -> NutsProgram, or None: cannot run NUTS
    costs: dict = field(default_factory=dict)        # plan key -> Cost of the exact answer
    tables: dict = field(default_factory=dict)       # each variable's conditional table, once (exact.py)
    factors: dict = field(default_factory=dict)      # each variable's factor of a contraction, once (exact.py)
    samplers: dict = field(default_factory=dict)     # what m.sample draws with

    @staticmethod
    def once(table: dict, key: Hashable, build: Callable):
        """``table[key]``, built by ``build()`` the first time (a failed build keeps nothing)."""
        if key not in table:
            table[key] = build()
        return table[key]

    @property
    def compilations(self) -> int:
        """How many programs have been built for answers (exact, Monte Carlo, over parameter draws)."""
        return len(self.exact) + len(self.montecarlo) + len(self.posterior)

    def wait(self) -> None:
        """Block until this engine's background compilations are done."""
        self.compiler.join()
