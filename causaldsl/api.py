"""The Python face: :func:`model`, :func:`load`, :func:`program` and :class:`CausalModel`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import networkx as nx
import numpy as np

from . import syntax as S
from .checker import check_model
from .errors import CausalDSLError, DomainError, DuplicateDefinitionError, QueryError, UnknownNameError, did_you_mean
from .inference import run_plan
from .ir import Model
from .parser import parse, parse_query
from .queries import plan_query
from .results import Result, table
from .worlds import do as surgery


class CausalModel:
    """A checked structural causal model, with the queries written after it.

    >>> m = model('''
    ... model coin {
    ...     x ~ Bernoulli(0.3)
    ...     y := 1 - x
    ... }
    ... P(y = 1)
    ... ''')
    >>> m.query("P(y = 1 | do(x = 1))").value
    0.0
    >>> [str(r) for r in m.run()]
    ['P(y = 1) = 0.7  [exact]']
    """

    def __init__(self, ir: Model, queries: tuple = (), source: str = ""):
        self.ir = ir
        self.queries = tuple(queries)  # (query AST, its text), in the order written
        self.source = source
        self._cache: dict = {}

    # ------------------------------------------------------------------ structure
    @property
    def name(self) -> str:
        return self.ir.name

    @property
    def graph(self) -> nx.DiGraph:
        """The causal graph (``networkx.DiGraph``); nodes carry ``latent`` and ``intervened``."""
        return self.ir.graph

    @property
    def variables(self) -> list[str]:
        return self.ir.names

    def __repr__(self) -> str:
        return f"<CausalModel {self.name}: {len(self.ir.nodes)} variables, {len(self.queries)} queries>"

    # ------------------------------------------------------------------ queries
    def query(self, text: Union[str, S.Query], *, method: Optional[str] = None,
              seed: Optional[int] = None, samples: Optional[int] = None) -> Result:
        """Answer one query, e.g. ``"P(cancer = 1 | do(smoking = 1))"``.

        ``method`` is ``"exact"`` or ``"monte-carlo"`` (chosen automatically when
        omitted); ``seed`` and ``samples`` set the Monte Carlo draws.
        """
        if isinstance(text, str):
            source = text
            q = parse_query(source)
        elif isinstance(text, (S.ProbQuery, S.ExpectQuery, S.EffectQuery)):
            q, source = text, self.source
        else:
            raise QueryError(f"a query is text such as \"P(y = 1 | do(x = 0))\", not {type(text).__name__}",
                             hint="pass the query as a string")
        label = q.text or (text.strip() if isinstance(text, str) else repr(q))
        plan = plan_query(self.ir, q, source)
        return run_plan(plan, self._cache, text=label, method=method, seed=seed, samples=samples,
                        source=source, span=q.span)

    def run(self, *, method: Optional[str] = None, seed: Optional[int] = None,
            samples: Optional[int] = None) -> list[Result]:
        """Answer every query written after the model, in order."""
        return [self.query(q, method=method, seed=seed, samples=samples) for q in self.queries]

    @property
    def compilations(self) -> int:
        """How many query functions this model has compiled (new values reuse them)."""
        return len(self._cache)

    # ------------------------------------------------------------------ transformations
    def do(self, **values) -> "CausalModel":
        """The intervened model: each named variable held at its value (graph surgery).

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y := x\\n}")
        >>> m.do(x=1).query("P(y = 1)").value
        1.0
        """
        fixed = {}
        for name, value in values.items():
            if name not in self.ir:
                raise UnknownNameError(f"unknown variable '{name}'",
                                       hint=did_you_mean(name, self.variables) or "variables are: " + ", ".join(self.variables))
            fixed[name] = _coded(self.ir[name], value)
        return CausalModel(surgery(self.ir, fixed), (), self.source)

    def sample(self, n: int = 10_000, *, seed: int = 0) -> dict[str, np.ndarray]:
        """``n`` draws of every variable (latent ones included), as NumPy arrays.

        >>> s = model("model m {\\n x ~ Normal(0, 1)\\n y := 2 * x\\n}").sample(1000, seed=1)
        >>> bool(np.allclose(s["y"], 2 * s["x"]))
        True
        """
        from .backends.numpyro_backend import sample as _sample

        return _sample(self.ir, n, seed)

    def numpyro(self):
        """The model as a NumPyro model function (one ``numpyro.sample`` site per ``~``)."""
        from .backends.numpyro_backend import numpyro_model

        return numpyro_model(self.ir)


def _coded(node, value) -> float:
    if isinstance(value, str):
        if not node.levels or value not in node.levels:
            raise DomainError(f"'{value}' is not a level of '{node.name}'",
                              hint=did_you_mean(value, node.levels or ()) or
                              (f"levels are: {', '.join(node.levels)}" if node.levels else "use a number"))
        return float(node.levels.index(value))
    value = float(value)
    if node.domain is not None and not any(abs(value - d) <= 1e-9 for d in node.domain):
        raise DomainError(f"{value:g} is not a value of '{node.name}'",
                          hint="values are: " + ", ".join(f"{d:g}" for d in node.domain[:12]))
    return value


def program(source: str) -> list[CausalModel]:
    """Every model of a program, each holding the queries written after it.

    >>> ms = program("model a {\\n x ~ Bernoulli(0.5)\\n}\\nP(x = 1)\\nmodel b {\\n y ~ Bernoulli(0.1)\\n}\\nP(y = 1)")
    >>> [(m.name, len(m.queries)) for m in ms]
    [('a', 1), ('b', 1)]
    """
    prog = parse(source)
    models: list[CausalModel] = []
    current: Optional[tuple[Model, list]] = None
    seen: dict[str, S.ModelBlock] = {}
    blocks: list[tuple[Model, list]] = []
    for item in prog.items:
        if isinstance(item, S.ModelBlock):
            if item.name in seen:
                raise DuplicateDefinitionError(f"model '{item.name}' is defined twice "
                                               f"(first on line {seen[item.name].span.line})",
                                               span=item.span, source=source, hint="rename one of them")
            seen[item.name] = item
            current = (check_model(item, source), [])
            blocks.append(current)
        else:
            if current is None:
                raise QueryError("a query comes before any model", span=item.span, source=source,
                                 hint="write the model block first; a query applies to the model above it")
            current[1].append(item)
    for ir, queries in blocks:
        m = CausalModel(ir, tuple(queries), source)
        for q in queries:  # check every query now, so that errors surface at load time
            plan_query(ir, q, source)
        models.append(m)
    return models


def model(source: str, name: Optional[str] = None) -> CausalModel:
    """The model in ``source`` (a ``model NAME { ... }`` block and its queries).

    With several models in the text, ``name`` picks one.
    """
    models = program(source)
    if not models:
        raise QueryError("no model in the text", line=1, column=1, source=source,
                             hint="write a block such as: model m { x ~ Bernoulli(0.5) }")
    if name is None:
        if len(models) > 1:
            raise CausalDSLError(f"the text holds {len(models)} models: "
                                 + ", ".join(m.name for m in models),
                                 hint="pick one with name=..., or use causaldsl.program()")
        return models[0]
    for m in models:
        if m.name == name:
            return m
    raise UnknownNameError(f"no model named '{name}'", hint=did_you_mean(name, [m.name for m in models])
                           or "models are: " + ", ".join(m.name for m in models))


def load(path: Union[str, Path], name: Optional[str] = None) -> CausalModel:
    """The model in a ``.causal`` file (see :func:`model`)."""
    return model(Path(path).read_text(), name)


def run(source: str, **kw) -> list[tuple[str, Result]]:
    """Answer every query of every model in ``source``: ``[(model name, Result), ...]``."""
    return [(m.name, r) for m in program(source) for r in m.run(**kw)]


def report(source: str, **kw) -> str:
    """Every query beside its answer and method, as text."""
    parts = []
    for m in program(source):
        results = m.run(**kw)
        parts.append(f"model {m.name}\n" + (table(results) if results else "(no queries)"))
    return "\n\n".join(parts)
