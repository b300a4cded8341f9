"""The Python face: :func:`model`, :func:`load`, :func:`program` and :class:`CausalModel`."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterator, Optional, Union

import networkx as nx
import numpy as np

from .language import syntax as S
from .graphs.causal_graph import CausalGraph, check_graph
from .model.checker import check_model
from .engines.config import float64
from .model.distributions import FAMILIES
from .language.errors import CausalDSLError, DomainError, DuplicateDefinitionError, QueryError, UnknownNameError, did_you_mean
from .engines.dispatch import run_plan
from .engines.engine import Engine
from .model.ir import COUPLINGS, Model
from .language.parser import parse, parse_query
from .language.questions import probability_question
from .model.queries import plan_query
from .model.combinations import COMBINED, is_combination, plan_combination
from .engines.results import Result, table
from .model.validity import check_plan
from .model.worlds import couple, do as surgery
from .notebook import pictures  # noqa: F401  (it installs the drawing of CausalGraph)
# The BIF reader with the package, as a library's own reader is: its patterns compile here, once
# (about 3 ms), not in the first from_bif, which is then as quick as every later one.
from .interchange.bif import read_bif


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

    def __init__(self, ir: Model, queries: tuple = (), source: str = "", base_dir: Optional[Path] = None):
        self.ir = ir
        self.queries = tuple(queries)  # query ASTs (and fit statements), in the order written
        self.source = source
        self.base_dir = base_dir  # where a 'fit ... to "file.csv"' statement looks for its file
        self.engine = Engine()  # compiled programs and decisions for this model's questions
        self._plans: dict = {}  # query text -> (plan, label, span): a repeated question skips parse and plan
        self._prior = None
        # The models that the file's 'fit' statements produced, by statement: shared with those models,
        # so that binding the fitted model and answering its queries fit once.
        self._fits: dict = {}
        self._unfitted: "CausalModel" = self  # where the queries written in the text start from

    @property
    def parameters(self) -> list[str]:
        """Names of the parameters declared with ``param`` (empty for a model with fixed numbers).

        >>> model("model m {\\n param p ~ Beta(1, 1)\\n x ~ Bernoulli(p)\\n}").parameters
        ['p']
        """
        return [p.name for p in self.ir.params]

    def _posterior(self):
        """Parameter draws the answers average over: the prior's until the model is fitted."""
        if not self.ir.params:
            return None
        if self._prior is None:
            from .bayes.fit import prior_draws

            self._prior = prior_draws(self.ir)
        return self._prior

    def _derive(self, ir: Model) -> "CausalModel":
        """A model of ``ir`` answering over the same parameter draws."""
        out = CausalModel(ir, (), self.source, self.base_dir)
        out._prior = self._prior
        return out

    # ------------------------------------------------------------------ structure
    @property
    def name(self) -> str:
        """The model's name, as written after ``model``.

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> m.name
        'm'
        """
        return self.ir.name

    @property
    def graph(self) -> nx.DiGraph:
        """The causal graph (``networkx.DiGraph``); nodes carry ``latent`` and ``intervened``.

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> sorted(m.graph.edges), m.graph.nodes['x']['latent']
        ([('x', 'y')], False)
        """
        return self.ir.graph

    @property
    def variables(self) -> list[str]:
        """The variables' names, in the order they are written.

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> m.variables
        ['x', 'y']
        """
        return self.ir.names

    @functools.cached_property
    def causal_graph(self):
        """The model's structure as a :class:`~causaldsl.graphs.causal_graph.CausalGraph` (latents kept).

        >>> m = model("model m {\\n latent u ~ Bernoulli(0.5)\\n x ~ Bernoulli(if u then 0.9 else 0.1)\\n y := x and u\\n}")
        >>> m.causal_graph
        <CausalGraph m: 2 observed, 1 latent>
        >>> m.causal_graph.query("x _||_ y").value
        False
        """
        dag = nx.DiGraph()
        dag.add_nodes_from(self.ir.names)
        dag.add_edges_from(self.ir.graph.edges)
        return CausalGraph(self.name, dag, [n.name for n in self.ir.nodes if n.latent], (), self.source,
                           intervened=[n.name for n in self.ir.nodes if n.kind == "fixed"])

    def identify(self, text, source: Optional[str] = None, *, data: str = "both"):
        """The estimand of ``text`` (``"P(cancer | do(smoking))"``, or a counterfactual
        ``"P(Y[X = 1] = 1 | X = 0)"``) over the observed variables; ``data`` as in
        :meth:`causaldsl.graphs.causal_graph.CausalGraph.identify`.

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> m.identify("P(y | do(x))").rule
        'back-door'
        """
        return self.causal_graph.identify(text, source, data=data)

    def bounds(self, text, *, data=None, method: Optional[str] = None, draws: int = 200, level: float = 0.95,
               uncertainty: str = "dirichlet", seed: int = 0, experiment=None):
        """Bounds on a quantity the data do not pin down: ``m.bounds("PNS(X -> Y)")`` (a
        :class:`~causaldsl.graphs.bounds.Bounds` with ``.low``, ``.high``, ``.formula``).

        ``method`` is ``"tian-pearl"`` (PN, PS, PNS from the model's ``P(X, Y)`` and ``P(y | do(x))``;
        the default for those) or ``"lp"`` (the response-function linear programme over the model's
        graph and its observational distribution; the default for the rest). With ``data``, the
        programme reads the observed distribution off the data instead, and each end gets a
        ``level`` band over ``draws`` draws (``uncertainty``: ``"dirichlet"`` or ``"bootstrap"``).
        With ``experiment`` (a randomised trial's data) beside ``data``, PN, PS and PNS get
        Tian-Pearl's bounds from the two data sets. See ``docs/language.md``, "Bounds".

        >>> m = model("model m {\\n X ~ Bernoulli(0.5)\\n Y ~ Bernoulli(0.2 + 0.6 * X)\\n}")
        >>> m.bounds("PNS(X -> Y)").value   # not identified, even without confounding
        (0.6, 0.8)
        """
        from .graphs.bound_queries import bounds

        return bounds(self, text, data=data, method=method, draws=draws, level=level,
                      uncertainty=uncertainty, seed=seed, experiment=experiment)

    def __repr__(self) -> str:
        return f"<CausalModel {self.name}: {len(self.ir.nodes)} variables, {len(self.queries)} queries>"

    # ------------------------------------------------------------------ pictures
    def draw(self, path: Optional[Union[str, Path]] = None):
        """The model's graph as a picture (it displays in a notebook); with ``path`` also saved there.

        ``path`` ends in ``.svg``, ``.png`` or ``.pdf``. An intervened model draws
        its mutilated graph: the held node a double box, its incoming arrows gone.

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y := x\\n}")
        >>> 'data-node="x" data-mode="do"' in m.do(x=1).draw().svg
        True
        """
        pic = pictures.model_picture(self)
        return pic if path is None else pic.save(path)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return self.draw()._repr_mimebundle_(include, exclude)

    def to_dot(self) -> str:
        """The graph in Graphviz DOT (latent nodes dashed, intervened ones double boxes without parents).

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> print(m.to_dot().splitlines()[-2])
          "x" -> "y";
        """
        return self.causal_graph.to_dot()

    # ------------------------------------------------------------------ queries
    def query(self, text: Union[str, S.Query], *, method: Optional[str] = None,
              seed: Optional[int] = None, samples: Optional[int] = None) -> Result:
        """Answer one query, e.g. ``"P(cancer = 1 | do(smoking = 1))"``.

        ``method`` is ``"exact"`` or ``"monte-carlo"`` (chosen automatically when
        omitted); ``seed`` and ``samples`` set the Monte Carlo draws.

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> print(m.query("P(y = 1 | do(x = 1))"))
        P(y = 1 | do(x = 1)) = 0.9  [exact]
        """
        kw = dict(method=method, seed=seed, samples=samples)
        if isinstance(text, str) and (again := self._again(text, **kw)) is not None:
            return again
        if isinstance(text, str):
            source = text
            q = parse_query(source)
            if isinstance(q, S.GraphQuery):
                return self.causal_graph.ask(q, source)
            if isinstance(q, S.IdentifyQuery):
                return self.identify(q.query, source)
            if isinstance(q, S.CauseQuery):
                return self._cause(q, source)
            if isinstance(q, S.BoundsQuery):
                return self.bounds(source)
        elif isinstance(text, S.CauseQuery):
            return self._cause(text, self.source)
        elif isinstance(text, S.BoundsQuery):
            from .graphs.bound_queries import bounds_statement

            return bounds_statement(self, text, self.source)
        elif isinstance(text, S.GraphQuery):
            return self.causal_graph.ask(text, self.source)
        elif isinstance(text, S.IdentifyQuery):
            return self.identify(text.query, self.source)
        elif isinstance(text, (S.ProbQuery, S.ExpectQuery, S.EffectQuery, S.QueryNumber) + COMBINED):
            q, source = text, self.source
        else:
            raise QueryError(f"a query is text such as \"P(y = 1 | do(x = 0))\", not {type(text).__name__}",
                             hint="pass the query as a string")
        label = getattr(q, "text", "") or (text.strip() if isinstance(text, str) else repr(q))
        return self._answer(q, source, label, text if isinstance(text, str) else None, **kw)

    def _again(self, key: str, **kw) -> Optional[Result]:
        """The answer of the query asked before as the text ``key``, by the plan kept for it; None
        where it was not asked."""
        hit = self._plans.get(key)
        if hit is None:
            return None
        plan, label, span = hit
        return self._run_plan(plan, text=label, source=key, span=span, posterior=self._posterior(), **kw)

    def _answer(self, q, source: str, label: str, key: Optional[str], **kw) -> Result:
        """The answer of the parsed query ``q`` (``source``: the text its spans point into), its
        plan kept under ``key`` (the text it was asked by) for the next asking."""
        if is_combination(q) or isinstance(q, S.QueryNumber):  # arithmetic between queries, Var, Q, RR, OR
            return self._combination(q, label, source, **kw)
        plan = plan_query(self.ir, q, source)
        if key is not None:
            self._plans[key] = (plan, label, q.span)
        return self._run_plan(plan, text=label, source=source, span=q.span, posterior=self._posterior(), **kw)

    def probability(self, target: Union[str, dict], given: Optional[dict] = None, do: Optional[dict] = None, *,
                    method: Optional[str] = None, seed: Optional[int] = None,
                    samples: Optional[int] = None) -> Result:
        """``P(target | given, do(do))`` from Python values, as :meth:`query` answers its text:
        ``target`` a variable's name (its distribution) or ``{name: value}`` (an event); ``given``
        the observed values, ``do`` the set ones; a value is a level's name or a number. The
        question is built without parsing text (:mod:`causaldsl.language.questions`), so levels
        need no quoting; an error points into the query as the result's ``.query`` shows it.

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> print(m.probability({"y": 1}, do={"x": 1}))
        P(y = 1 | do(x = 1)) = 0.9  [exact]
        >>> round(m.probability("x", given={"y": 1}).value[1], 12)   # 0.45 / (0.45 + 0.1) = 9/11
        0.818181818182
        """
        kw = dict(method=method, seed=seed, samples=samples)
        q = probability_question(target, given, do)
        again = self._again(q.text, **kw)  # asked before, by this call or as text
        return again if again is not None else self._answer(q, q.text, q.text, q.text, **kw)

    def _combination(self, q, label: str, source: str, **kw) -> Result:
        """A question that combines (:mod:`causaldsl.model.combinations`), answered by
        :func:`causaldsl.engines.combine.run_combination`."""
        from .engines.combine import run_combination, run_combination_posterior

        comb = plan_combination(self.ir, q, source)
        post = self._posterior()
        if post is not None:
            return run_combination_posterior(comb, self.engine, post, text=label, source=source, span=q.span, **kw)
        return run_combination(comb, self.engine, text=label, source=source, span=q.span, **kw)

    def cause(self, text: str, definition: str = "modified") -> Result:
        """Whether ``X = x`` was an actual cause of an event: ``m.cause("ST = 1 -> BS = 1 | ST = 1, BT = 1")``
        is ``m.query("cause(ST = 1 -> BS = 1 | ST = 1, BT = 1)")`` (see :mod:`causaldsl.engines.actual_cause`);
        ``definition`` is ``"original"``, ``"updated"`` or ``"modified"``.

        >>> m = model("model ff {\\n L ~ Bernoulli(0.5)\\n MD ~ Bernoulli(0.5)\\n FF := L or MD\\n}")
        >>> m.cause("L = 1 -> FF = 1 | FF = 1").value  # 1/3: where L = 1, MD = 0 of the 3 contexts with a fire
        0.3333333333333333
        """
        return self.query(_with_definition("cause", text, definition))

    def responsibility(self, text: str, definition: str = "modified") -> Result:
        """The degree of responsibility of ``X = x`` for an event (Chockler & Halpern 2004), as
        :meth:`cause` asks: ``m.responsibility("V1 = 1 -> W = 1 | ...")``.

        >>> m = model("model m {\\n a ~ Bernoulli(0.5)\\n b ~ Bernoulli(0.5)\\n w := a or b\\n}")
        >>> m.responsibility("a = 1 -> w = 1 | a = 1, b = 1").value
        0.5
        """
        return self.query(_with_definition("responsibility", text, definition))

    def _cause(self, q: S.CauseQuery, source: str) -> Result:
        from .engines.actual_cause import answer

        return answer(self.ir, q, source)

    def _run_plan(self, plan, **kw) -> Result:
        """``run_plan``; a refused parameter is reported with the parent values that make it invalid."""
        from .language.errors import ProbabilityError

        try:
            return run_plan(plan, self.engine, **kw)
        except ProbabilityError as err:
            try:
                check_plan(plan, err.source or "")
            except ProbabilityError as named:
                raise named from None
            raise

    def answers(self, *, method: Optional[str] = None, seed: Optional[int] = None,
                samples: Optional[int] = None) -> Iterator[Union[Result, CausalDSLError]]:
        """Answer every query written after the model, in order, each as soon as it is ready.

        Each query succeeds or fails on its own: a failure is yielded in its
        place as the :class:`CausalDSLError` it raised (its ``query_text`` says
        which query), and the next query is still answered. A ``fit`` statement
        fits the model there and the queries after it are answered over the
        posterior; when the fit fails, they fail too (never answered over the
        prior by mistake). Queries written before any ``fit`` are answered over
        the prior, even when this model is the fitted one.

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y := x\\n}\\nP(y = 1 | x = 1)\\nP(y = 1 | x = 0, y = 1)\\nP(x = 1)")
        >>> [r.value if isinstance(r, Result) else type(r).__name__ for r in m.answers()]
        [1.0, 'ZeroProbabilityError', 0.5]
        """
        from dataclasses import replace

        current, failed_fit = self._unfitted, None
        for q in self.queries:
            try:
                if isinstance(q, S.FitStmt):
                    failed_fit = q
                    current = current._fit_statement(q)
                    failed_fit = None
                    yield replace(current.fit_report, query=q.text or current.fit_report.query)
                elif failed_fit is not None:
                    from .language.errors import FitError

                    raise FitError(f"not answered: the fit on line {failed_fit.span.line} failed", span=q.span,
                                   source=self.source, hint="mend the fit; answers over the prior would mislead")
                else:
                    yield current.query(q, method=method, seed=seed, samples=samples)
            except CausalDSLError as err:
                err.query_text = q.text or repr(q)
                yield err

    def run(self, *, method: Optional[str] = None, seed: Optional[int] = None,
            samples: Optional[int] = None) -> list[Result]:
        """Answer every query written after the model, in order (see :meth:`answers`).

        Every query is answered, even after one fails; then, if any failed, the
        first failure is raised, with ``.results`` holding every row (answers,
        and each failure in its place), so nothing computed is lost.

        >>> from causaldsl.language.errors import ZeroProbabilityError
        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y := x\\n}\\nP(y = 1 | x = 0, y = 1)\\nP(x = 1)")
        >>> try:
        ...     m.run()
        ... except ZeroProbabilityError as err:
        ...     print(err.line, err.results[1])
        5 P(x = 1) = 0.5  [exact]
        """
        out = list(self.answers(method=method, seed=seed, samples=samples))
        failed = [r for r in out if isinstance(r, CausalDSLError)]
        if failed:
            failed[0].results = out
            raise failed[0]
        return out

    def fitted(self) -> "CausalModel":
        """The model as its text leaves it: fitted by its last ``fit`` statement (itself when there is none).

        Fits are made once: running the queries and asking for this model share them.

        >>> m = model("model coin {\\n x ~ Bernoulli(0.5)\\n}")
        >>> m.fitted() is m
        True
        """
        current = self._unfitted
        for q in self.queries:
            if isinstance(q, S.FitStmt):
                current = current._fit_statement(q)
        return current

    def _fit_statement(self, st: S.FitStmt) -> "FittedModel":
        if id(st) in self._fits:
            return self._fits[id(st)]
        path = _fit_path(st, self.source, self.base_dir)
        kw = _fit_options(st, self.source)
        try:
            fitted = self.fit(str(path), span=st.span, **kw)
        except CausalDSLError as err:
            if err.line is not None:
                raise
            # Reading the file failed before any position was known: point at the statement's path.
            raise _at(err, st.path_span, self.source) from None
        fitted._fits, fitted._unfitted = self._fits, self._unfitted
        self._fits[id(st)] = fitted
        return fitted

    def fit(self, data, *, method: str = "nuts", draws: int = 1000, warmup: int = 500, chains: int = 4,
            seed: int = 0, progress: Optional[bool] = None, steps: int = 5000, learning_rate: float = 0.01,
            batch_size: Optional[int] = None, span=None) -> "FittedModel":
        """Learn the ``param`` values from ``data`` (a DataFrame, a CSV path or a dict of columns).

        ``method="nuts"`` (default: ``chains`` chains of ``warmup`` + ``draws``
        steps) or ``"svi"`` (``steps`` of Adam, then ``draws`` from the guide;
        ``batch_size`` subsamples rows). Returns a :class:`FittedModel` whose
        answers are over the posterior. See :mod:`causaldsl.bayes.fit`.

        One short NUTS run (a coin's bias from 30 heads in 40 throws; its posterior is Beta(31, 11)),
        which also shows what a :class:`FittedModel` holds:

        >>> m = model("model coin {\\n param p ~ Beta(1, 1)\\n x ~ Bernoulli(p)\\n}")
        >>> fit = m.fit({"x": [1] * 30 + [0] * 10}, draws=300, warmup=200, chains=1, progress=False)
        >>> r = fit.query("P(x = 1)")
        >>> bool(abs(r.value - 31 / 42) < 0.03), bool(r.interval[0] < 31 / 42 < r.interval[1])
        (True, True)
        >>> fit.posterior["p"].shape
        (300,)
        >>> print(fit.fit_report)  # doctest: +ELLIPSIS
        fit coin to the data: 40 rows  [NUTS, 1 chain(s) x 300 draws: ...]
        >>> print(fit.summary().splitlines()[1].split()[:2])
        ['parameter', 'mean']
        >>> sorted(fit.arviz().groups())
        ['log_likelihood', 'observed_data', 'posterior', 'sample_stats']
        >>> type(fit.plot()).__name__
        'Axes'
        """
        from .bayes.fit import fit_model

        post = fit_model(self, data, method=method, draws=draws, warmup=warmup, chains=chains, seed=seed,
                         progress=progress, steps=steps, learning_rate=learning_rate, batch_size=batch_size,
                         span=span)
        return FittedModel(self.ir, self.queries, self.source, self.base_dir, draws=post.draws,
                           by_chain=post.by_chain, diagnostics=post.diagnostics, data=post.data,
                           program=post.program)

    @property
    def compilations(self) -> int:
        """How many query functions this model has compiled (new values reuse them).

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> _ = m.query("P(y = 1)"); m.compilations >= 0
        True
        """
        return self.engine.compilations

    # ------------------------------------------------------------------ transformations
    def do(self, **values) -> "CausalModel":
        """The intervened model: each named variable held at its value (graph surgery), or given
        a new mechanism: an expression (``"x + 1"``, a shift; ``"1 - z"``, a dynamic regime), a
        draw (``"~ Bernoulli(0.3)"``), or :func:`causaldsl.shift` / :func:`causaldsl.draw` /
        :func:`causaldsl.set_to` (see docs/language.md, "Interventions that replace a mechanism").

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y := x\\n}")
        >>> m.do(x=1).query("P(y = 1)").value
        1.0
        >>> m.do(x="~ Bernoulli(0.3)").query("P(y = 1)").value
        0.3
        """
        from .model.interventions import Intervention, check_cycles, python_regime

        fixed = {}
        for name, value in values.items():
            if name not in self.ir:
                raise UnknownNameError(f"unknown variable '{name}'",
                                       hint=did_you_mean(name, self.variables) or "variables are: " + ", ".join(self.variables))
            node = self.ir[name]
            soft = isinstance(value, Intervention) or (isinstance(value, str) and value not in (node.levels or ()))
            fixed[name] = python_regime(self.ir, name, value) if soft else _coded(node, value)
        check_cycles(self.ir, fixed)
        return self._derive(surgery(self.ir, fixed))

    def with_coupling(self, coupling: str, *variables: str) -> "CausalModel":
        """The model with the named variables' worlds coupled by ``coupling`` (default: every
        ``~`` variable with finitely many values): ``"gumbel"`` (Gumbel-max, which does not
        depend on the order of a Categorical's levels) or ``"quantile"`` (the default coupling).
        The same as ``coupling = gumbel`` in the model's text; see docs/language.md, *Semantics*.

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Categorical(a: table(x) { 0: 0.5, 1: 0.1 }, "
        ...           "b: 0.3, c: table(x) { 0: 0.2, 1: 0.6 })\\n}")
        >>> round(m.with_coupling("gumbel").query("P(y[x = 0] = a | x = 1, y = c)").value, 4)
        0.5238
        """
        if coupling not in COUPLINGS:
            raise CausalDSLError(f"unknown coupling '{coupling}'",
                                 hint=did_you_mean(coupling, COUPLINGS) or "use 'gumbel' or 'quantile'")
        for name in variables:
            if name not in self.ir:
                raise UnknownNameError(f"unknown variable '{name}'",
                                       hint=did_you_mean(name, self.variables) or "variables are: " + ", ".join(self.variables))
        return self._derive(couple(self.ir, coupling, variables or None))

    @float64
    def sample(self, n: int = 10_000, *, seed: int = 0, progress: Optional[bool] = None) -> dict[str, np.ndarray]:
        """``n`` draws of every variable (latent ones included), as NumPy arrays.

        Categorical variables with named levels come back as arrays of level names.
        For a model with parameters each draw uses its own parameter draw (from
        the prior, or the posterior of a fitted model): predictive simulation.

        The draws stream in chunks of ``chunk_draws(nodes)`` draws (about 128 MiB of float64
        values: ``CHUNK_BYTES / (8 * nodes)``, at most ``SAMPLE_CHUNK``), each written into
        the arrays returned as soon as it is drawn: memory beyond the result (8 bytes per
        value) stays within a few chunks, whatever ``n`` (see
        :func:`causaldsl.engines.numpyro_backend.sample_chunks`). Runs of several chunks show
        a progress bar where someone is watching (a notebook or a terminal; ``progress``
        forces it on or off).

        >>> s = model("model m {\\n x ~ Normal(0, 1)\\n y := 2 * x\\n}").sample(1000, seed=1)
        >>> bool(np.allclose(s["y"], 2 * s["x"]))
        True
        """
        from .engines.montecarlo import check_draws
        from .engines.numpyro_backend import chunk_draws, sample_chunks

        n = int(n)
        if n < 0:
            raise QueryError(f"cannot draw {n} samples", hint="ask for a positive number of draws")
        nodes = self.ir.nodes
        chunk = chunk_draws(len(nodes), SAMPLE_CHUNK)
        check_draws(n, len(nodes), what="n", bytes_per_value=8)  # the result, 8 bytes a value, must fit
        post = self._posterior()
        theta = None if post is None else post.theta
        chunks = sample_chunks(self.ir, n, seed, theta, self.engine.samplers, chunk)
        return _collect(chunks, nodes, n, chunk, progress, f"sampling {self.name}")

    def twin(self, query: str):
        """The twin (multi-world) network of a counterfactual query, drawable in a notebook.

        Copies that the worlds share are one node; each ``~`` noise shared by
        several copies is one ``U_v`` node (see :mod:`causaldsl.notebook.twin`).

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(0.2 + 0.5 * x)\\n}")
        >>> tw = m.twin("P(y[x = 0] = 1 | x = 1, y = 1)")
        >>> sorted(tw.noise), tw.intervened
        (['U_y'], {'x[x=0]': '0'})
        """
        from .notebook.twin import twin_network

        return twin_network(self, query)

    def explore(self, outcome: Optional[str] = None, **kw):
        """The interactive explorer of this model (see :func:`causaldsl.explore`).

        >>> ex = model("model m {\\n x ~ Bernoulli(0.5)\\n y := 1 - x\\n}").explore("y")
        >>> ex.click("x"); ex.answers["doing"]["dist"]
        {'0': 1.0, '1': 0.0}
        """
        from .notebook.explore import explore

        return explore(self, outcome, **kw)

    def numpyro(self):
        """The model as a NumPyro model function (one ``numpyro.sample`` site per ``~``).

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
        >>> callable(m.numpyro())
        True
        """
        from .engines.numpyro_backend import numpyro_model

        return numpyro_model(self.ir)

    def pyro(self):
        """The model as a Pyro model function ``model(n=1, data=None)``: a noise site ``U_v`` and a
        site ``v`` per ``~``, vectorised over ``pyro.plate("units", n)``; it runs under Pyro's and
        ChiRho's handlers with our counterfactual semantics (see :mod:`causaldsl.engines.pyro_backend`
        and docs/language.md, "The model in Pyro"). Needs ``pip install "causaldsl[pyro]"``.

        >>> import pyro
        >>> fn = model("model m {\\n x ~ Normal(1, 2)\\n}").pyro()
        >>> x = pyro.infer.Predictive(fn, num_samples=1)(n=40_000)["x"]
        >>> round(float(x.mean()), 1), round(float(x.std()), 1)
        (1.0, 2.0)
        """
        from .engines.pyro_backend import pyro_model

        return pyro_model(self.ir)

    def explain(self, query: str):
        """What ``query`` does and how it is answered: the model, the surgery and mutilated graph,
        the twin network of a counterfactual, the engine and why, and for an exact answer the
        sum it computed (:class:`causaldsl.explain.Explanation`; text in a terminal, HTML and
        SVG in a notebook).

        >>> ex = model("model m {\\n x ~ Bernoulli(0.5)\\n y := x\\n}").explain("P(y = 1 | do(x = 1))")
        >>> ex.rung, ex.engine, ex.formula.evaluate()
        ('doing', 'exact', 1.0)
        """
        from .explain import explain

        return explain(self, query)

    def numpyro_source(self, query: Optional[str] = None, *, samples: int = 100_000, seed: int = 0):
        """Readable NumPyro source of the model, or of the program that answers ``query`` (its
        network, and a Monte Carlo estimate left in ``estimate``), runnable on its own
        (see :mod:`causaldsl.engines.numpyro_source`).

        >>> src = model("model m {\\n x ~ Bernoulli(0.3)\\n y := 1 - x\\n}").numpyro_source("P(y = 1 | do(x = 0))")
        >>> ns = {}; exec(src, ns); ns["estimate"]
        1.0
        """
        from .engines.numpyro_source import numpyro_source

        if query is None:
            return numpyro_source(self.ir)
        q = parse_query(query)
        if not isinstance(q, (S.ProbQuery, S.ExpectQuery, S.EffectQuery)):
            raise QueryError("numpyro_source() writes the program of a probability, expectation or effect query",
                             hint="graph questions and identify are not answered by a program")
        return numpyro_source(self.ir, plan_query(self.ir, q, query), label=q.text or query,
                              samples=samples, seed=seed)

    # ------------------------------------------------------------------ other formats (causaldsl.interchange)
    def to_bif(self) -> str:
        """The model as BIF text (discrete tables only; see :func:`from_bif`).

        >>> print(model("model m {\\n x ~ Bernoulli(0.25)\\n}").to_bif().splitlines()[-2])
          table 0.75, 0.25;
        """
        from .interchange.bif import write_bif

        return write_bif(self.ir)

    def to_text(self) -> str:
        """The model as DSL text that parses back into the same model (compact tables, quoted
        names where needed; see :mod:`causaldsl.interchange.text`).

        >>> print(model("model m {\\n x ~ Bernoulli(0.25)\\n}").to_text())
        model m {
            x ~ Bernoulli(0.25)
        }
        <BLANKLINE>
        """
        from .interchange.text import write_text

        return write_text(self.ir)

    def to_pgmpy(self):
        """The model as a pgmpy ``DiscreteBayesianNetwork`` with one ``TabularCPD`` per variable.

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(table(x) { 0: 0.2, 1: 0.9 })\\n}")
        >>> sorted(m.to_pgmpy().edges())
        [('x', 'y')]
        """
        from .interchange.pgmpy import to_pgmpy

        return to_pgmpy(self.ir)

    def to_pyagrum(self):
        """The model as a pyAgrum ``BayesNet``.

        >>> m = model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(table(x) { 0: 0.2, 1: 0.9 })\\n}")
        >>> m.to_pyagrum().size()
        2
        """
        from .interchange.pyagrum import to_pyagrum

        return to_pyagrum(self.ir)


def from_bif(source: Union[str, Path], *, tolerance: float = 1e-3) -> CausalModel:
    """The discrete Bayesian network in a BIF file (``.bif`` or ``.bif.gz``) or BIF text, built
    straight into a model: names, levels and tables as the file has them. Rows summing to 1 within
    ``tolerance`` (but not within 1e-6) are normalised; see :mod:`causaldsl.interchange.bif`.

    >>> m = from_bif("variable E { type discrete [ 2 ] { <5, 12+ }; } probability ( E ) { table 0.25, 0.75; }")
    >>> m.query('P(E = "12+")').value
    0.75
    """
    return CausalModel(read_bif(source, tolerance=tolerance))


def from_pgmpy(bn) -> CausalModel:
    """The model of a pgmpy ``DiscreteBayesianNetwork`` (see :mod:`causaldsl.interchange.pgmpy`).

    >>> m = model("model m {\\n x ~ Bernoulli(0.3)\\n}")
    >>> round(from_pgmpy(m.to_pgmpy()).query("P(x = 1)").value, 6)
    0.3
    """
    from .interchange.pgmpy import from_pgmpy as convert

    return CausalModel(convert(bn))


def from_pyagrum(bn) -> CausalModel:
    """The model of a pyAgrum ``BayesNet`` (see :mod:`causaldsl.interchange.pyagrum`).

    >>> m = model("model m {\\n x ~ Bernoulli(0.3)\\n}")
    >>> round(from_pyagrum(m.to_pyagrum()).query("P(x = 1)").value, 6)
    0.3
    """
    from .interchange.pyagrum import from_pyagrum as convert

    return CausalModel(convert(bn))


def _whole(node) -> bool:
    """Whether ``node`` takes whole numbers only: a discrete family, or finitely many whole values."""
    if node.family is not None and FAMILIES[node.family].discrete:
        return True
    return node.domain is not None and all(float(d).is_integer() for d in node.domain)


def _as_ints(values: np.ndarray) -> np.ndarray:
    """``values`` as int64, or as they are where some count is beyond int64 (a rate of 1e19)."""
    v = np.asarray(values)
    return v.astype(np.int64) if v.size == 0 or float(np.max(np.abs(v))) < 2.0 ** 63 else v


#: Most draws in one chunk of :meth:`CausalModel.sample` (a chunk also holds at most
#: ``numpyro_backend.CHUNK_BYTES`` of values).
SAMPLE_CHUNK = 1 << 20


def _collect(chunks, nodes, n: int, chunk: int, progress: Optional[bool], label: str) -> dict[str, np.ndarray]:
    """The chunks of :meth:`CausalModel.sample` written into one array per variable, allocated
    once: level names for named levels, integers for whole-number variables."""
    from .bayes.fit import _interactive

    show = n > chunk and (_interactive() if progress is None else bool(progress))
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc=label, unit=" draws", unit_scale=True)
    out: dict[str, np.ndarray] = {}
    at = 0
    try:
        for part in chunks:
            size = len(next(iter(part.values()))) if part else 0
            for node in nodes:
                v = _readable(node, part[node.name])
                if node.name not in out:
                    out[node.name] = np.empty(n, dtype=v.dtype)
                elif v.dtype != out[node.name].dtype:  # a count past int64 in a later chunk
                    out[node.name] = out[node.name].astype(np.result_type(out[node.name], v))
                out[node.name][at:at + size] = v
            at += size
            if bar is not None:
                bar.update(size)
    finally:
        if bar is not None:
            bar.close()
    return out


def _readable(node, values: np.ndarray) -> np.ndarray:
    """Draws of ``node`` as :meth:`CausalModel.sample` returns them (level names, integers)."""
    if node.levels:
        return np.asarray(node.levels, dtype=object)[values.astype(int)]
    return _as_ints(values) if _whole(node) else values


class FittedModel(CausalModel):
    """A model whose parameters were learned from data: every answer is over the posterior.

    ``query`` returns the posterior mean with a 95% credible interval
    (``Result.interval``) and the per-draw answers (``Result.draws``).
    ``posterior`` holds the parameter draws, ``diagnostics`` the sampler's
    R-hat, effective sample size and divergences, ``summary()`` a table,
    ``arviz()`` an ArviZ ``InferenceData`` (posterior, sample_stats, log_likelihood,
    observed_data; prior on request) and ``plot()`` ArviZ's plot of the parameters.

    Example: the doctest of :meth:`CausalModel.fit` (one NUTS fit) calls it.
    """

    def __init__(self, ir: Model, queries: tuple = (), source: str = "", base_dir=None, *, draws=None,
                 by_chain=None, diagnostics=None, data=None, program=None):
        super().__init__(ir, queries, source, base_dir)
        self._prior = draws  # answers average over these draws
        self.by_chain = by_chain or {}
        self.diagnostics = diagnostics or {}
        self.data = data
        self.program = program

    def _derive(self, ir: Model) -> "FittedModel":
        return FittedModel(ir, (), self.source, self.base_dir, draws=self._prior, by_chain=self.by_chain,
                           diagnostics=self.diagnostics, data=self.data, program=self.program)

    @property
    def posterior(self) -> dict[str, np.ndarray]:
        """Posterior draws of every parameter: ``name -> array (draws, *index shape)``.

        Example: the doctest of :meth:`CausalModel.fit` (one NUTS fit) calls it.
        """
        return dict(self._prior.theta)

    @property
    def fit_report(self):
        """How the fit went, as one row of a results table (a :class:`~causaldsl.bayes.fit.FitReport`).

        Example: the doctest of :meth:`CausalModel.fit` (one NUTS fit) calls it.
        """
        from .bayes.fit import FitReport, describe

        rows = self.data.rows if self.data is not None else 0
        return FitReport(f"fit {self.name} to {self.data.origin if self.data else 'data'}", rows,
                         describe(self.diagnostics))

    def summary(self) -> str:
        """Posterior mean, sd, 95% interval, R-hat and ESS of every parameter entry, as text.

        Example: the doctest of :meth:`CausalModel.fit` (one NUTS fit) calls it.
        """
        from .bayes.fit import describe, summary_rows

        rows = [("parameter", "mean", "sd", "2.5%", "97.5%", "R-hat", "ESS")]
        for r in summary_rows(self.ir, self._prior.theta, self.diagnostics):
            rows.append((r[0],) + tuple("-" if np.isnan(x) else f"{x:.4g}" if i < 4 else
                                        (f"{x:.3f}" if i == 4 else f"{x:,.0f}") for i, x in enumerate(r[1:])))
        widths = [max(len(row[i]) for row in rows) for i in range(7)]
        body = "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)
        return describe(self.diagnostics) + "\n" + body

    def arviz(self, prior: bool = False, *, seed: int = 0):
        """The fit as an ArviZ ``InferenceData``: ``posterior`` (chains kept; index variables as
        coordinates), ``sample_stats`` (NUTS: diverging, energy, tree_depth, step_size, ...),
        ``log_likelihood`` (``joint``, one value per row, so ``az.loo`` and ``az.waic`` work),
        ``observed_data``, and with ``prior=True`` a ``prior`` group drawn from the priors.

        Example: the doctest of :meth:`CausalModel.fit` (one NUTS fit) calls it.
        """
        from .bayes.fit import to_arviz

        return to_arviz(self.ir, self.by_chain, self.diagnostics, self.data, self.program, prior=prior,
                        seed=seed)

    def plot(self, kind: str = "posterior", var_names=None, **kw):
        """The parameters' posteriors drawn by ArviZ: ``kind="posterior"`` (``az.plot_posterior``:
        density, mean, 94% HDI) or ``"trace"`` (``az.plot_trace``); returns ArviZ's axes.
        Keywords go to the ArviZ function.

        Example: the doctest of :meth:`CausalModel.fit` (one NUTS fit) calls it.
        """
        from .bayes.fit import plot_parameters, to_arviz

        # posterior and sample_stats (plot_trace marks divergences) only: no pointwise likelihood to compute
        return plot_parameters(to_arviz(self.ir, self.by_chain, self.diagnostics, None), kind, var_names, **kw)

    def __repr__(self) -> str:
        from .bayes.fit import describe

        return (f"<FittedModel {self.name}: {len(self.ir.params)} parameters, "
                f"{self._prior.count:,} posterior draws; {describe(self.diagnostics)}>")


_FIT_OPTIONS = {"method": str, "draws": int, "warmup": int, "chains": int, "seed": int, "steps": int,
                "learning_rate": float, "batch_size": int}
# The range of each numeric option: checked where the statement is read, before any sampling starts.
_FIT_RANGES = {"draws": (1, 10**7), "warmup": (1, 10**7), "chains": (1, 256), "seed": (0, 2**32 - 1),
               "steps": (1, 10**8), "batch_size": (1, 10**9), "learning_rate": (1e-12, 10.0)}


def _fit_options(st: S.FitStmt, source: str) -> dict:
    out = {}
    for name, value, span in st.options:
        if name not in _FIT_OPTIONS:
            raise QueryError(f"fit has no option '{name}'", span=span, source=source,
                             hint=did_you_mean(name, list(_FIT_OPTIONS)) or "options: " + ", ".join(_FIT_OPTIONS))
        want = _FIT_OPTIONS[name]
        v = value.value
        if want is str:
            out[name] = str(v)
            continue
        lo, hi = _FIT_RANGES[name]
        kind = "whole number" if want is int else "number"
        if isinstance(v, str) or not np.isfinite(v) or (want is int and v != int(v)):
            raise QueryError(f"option '{name}' takes a {kind}, got {v}", span=value.span, source=source,
                             hint=f"e.g. {name} = 1000")
        if not lo <= v <= hi:
            span_ = f"{_num(lo)} to {_num(hi)}"
            raise QueryError(f"option '{name}' is {v:g}, outside its range {span_}", span=value.span,
                             source=source, hint=f"give {name} a {kind} from {span_}")
        out[name] = want(v)
    return out


def _with_definition(kind: str, text: str, definition: str) -> str:
    """``cause(TEXT | ..., definition = D)``: the query text of :meth:`CausalModel.cause`."""
    return f"{kind}({text}{',' if '|' in text else ' |'} definition = {definition})"


def _num(x) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


def _fit_path(st: S.FitStmt, source: str, base_dir: Optional[Path]) -> Path:
    """The data file a ``fit`` statement names, checked to be a file (relative paths from ``base_dir``)."""
    from .language.errors import DataError

    path = Path(st.path)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    where = "the path is relative to the .causal file" if base_dir else "give a path relative to the working directory"
    if not path.exists():
        raise DataError(f"no such data file: {st.path}", span=st.path_span, source=source, hint=where)
    if not path.is_file():
        raise DataError(f"{st.path} is a directory, not a data file", span=st.path_span, source=source,
                        hint="name the CSV file inside it")
    return path


def _at(err: CausalDSLError, span, source: str) -> CausalDSLError:
    """The same error (class, message, hint), placed at ``span`` of ``source``."""
    out = type(err)(err.message, span=span, source=source, hint=err.hint)
    out.__dict__.update({k: v for k, v in err.__dict__.items() if k not in out.__dict__})
    return out


def _check_fit_data(ir: Model, st: S.FitStmt, source: str, base_dir: Optional[Path]) -> None:
    """A ``fit`` statement's file exists and its columns match the model (checked without fitting)."""
    from .bayes.data import prepare

    path = _fit_path(st, source, base_dir)
    try:
        prepare(ir, str(path), source)
    except CausalDSLError as err:
        if err.line is not None:
            raise
        raise _at(err, st.path_span, source) from None


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


def program(source: str, base_dir: Union[str, Path, None] = None, *, check_queries: bool = True) -> list:
    """Every model and graph of a program, each holding the queries written after it.

    Models become :class:`CausalModel`, ``graph`` blocks :class:`~causaldsl.graphs.causal_graph.CausalGraph`.
    ``base_dir`` is where ``fit NAME to "file.csv"`` looks for relative paths. Every query is
    checked here, so mistakes surface before anything is answered; ``check_queries=False``
    leaves them to :meth:`CausalModel.answers`, which reports each failure in its row
    (the models themselves and ``fit`` options are always checked; data files are read
    when fitting, or by :func:`check`).

    >>> ms = program("model a {\\n x ~ Bernoulli(0.5)\\n}\\nP(x = 1)\\ngraph b {\\n x -> y\\n}\\nadjustment(x -> y)")
    >>> [(type(m).__name__, m.name, len(m.queries)) for m in ms]
    [('CausalModel', 'a', 1), ('CausalGraph', 'b', 1)]
    """
    prog = parse(source)
    seen: dict[str, object] = {}
    blocks: list[tuple[object, list]] = []
    for item in prog.items:
        if isinstance(item, (S.ModelBlock, S.GraphBlock)):
            if item.name in seen:
                raise DuplicateDefinitionError(f"'{item.name}' is defined twice "
                                               f"(first on line {seen[item.name].span.line})",
                                               span=item.span, source=source, hint="rename one of them")
            seen[item.name] = item
            blocks.append((item, []))
        elif not blocks:
            raise QueryError("a query comes before any model", span=item.span, source=source,
                             hint="write the model block first; a query applies to the model above it")
        elif isinstance(item, S.FitStmt) and item.model != blocks[-1][0].name:
            known = [b.name for b, _ in blocks]
            raise UnknownNameError(f"fit names '{item.model}', but the model above it is '{blocks[-1][0].name}'",
                                   span=item.span, source=source,
                                   hint=(did_you_mean(item.model, known) or "")
                                   + f" write 'fit {blocks[-1][0].name} to ...' right after its model block")
        else:
            blocks[-1][1].append(item)
    out = []
    for block, queries in blocks:
        if isinstance(block, S.GraphBlock):
            g = check_graph(block, source, tuple(queries))
            g.base_dir = Path(base_dir) if base_dir is not None else None  # where 'bounds ..., data = "f.csv"' looks
            for q in queries:
                _validate_graph_query(g, q, source)
            out.append(g)
            continue
        ir = check_model(block, source)
        base = Path(base_dir) if base_dir is not None else None
        m = CausalModel(ir, tuple(queries), source, base)
        for q in queries:  # check every query now, so that errors surface at load time
            if isinstance(q, S.FitStmt):
                if not ir.params:
                    from .language.errors import FitError

                    raise FitError(f"model '{ir.name}' has no parameters to fit", span=q.span, source=source,
                                   hint="declare uncertain numbers with priors, e.g. 'param p ~ Beta(1, 1)'")
                _fit_options(q, source)
            elif not check_queries:
                continue
            elif isinstance(q, (S.GraphQuery, S.IdentifyQuery)):
                _validate_graph_query(m.causal_graph, q, source)
            elif isinstance(q, S.CauseQuery):
                from .engines.actual_cause import resolve

                resolve(ir, q, source)
            elif isinstance(q, S.BoundsQuery):
                from .graphs.bound_queries import validate_bounds

                validate_bounds(m, q, source)
            elif is_combination(q) or isinstance(q, S.QueryNumber):
                plan_combination(ir, q, source)
            else:
                plan_query(ir, q, source)
        out.append(m)
    return out


def check(source: str, base_dir: Union[str, Path, None] = None,
          problems: Optional[list] = None) -> list:
    """Every model and graph of ``source``, checked as far as can be without answering (``causaldsl check``).

    Beyond :func:`program`: each ``fit`` statement's data file is read and matched
    to the model, and each query's plan is checked for distribution parameters
    that leave their range at some values of discrete parents (what the engines
    would refuse when answering; see :mod:`causaldsl.model.validity`). A mistake in a
    query or a fit raises, or, when ``problems`` is a list, is appended to it and
    the next one is checked (so every mistake is reported at once).

    >>> check("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(0.5 + 0.6 * x)\\n}\\nP(y = 1 | do(x = 0))")[0].name
    'm'
    >>> found = []
    >>> _ = check("model m {\\n x ~ Bernoulli(0.5)\\n}\\nP(x = 2)\\nP(q = 1)", problems=found)
    >>> [(e.line, e.column) for e in found]
    [(4, 7), (5, 3)]
    """
    blocks = program(source, base_dir, check_queries=False)
    for m in blocks:
        if not isinstance(m, CausalModel):
            continue
        for q in m.queries:
            try:
                if isinstance(q, S.FitStmt):
                    _check_fit_data(m.ir, q, source, m.base_dir)
                elif isinstance(q, (S.GraphQuery, S.IdentifyQuery)):
                    _validate_graph_query(m.causal_graph, q, source)
                elif isinstance(q, S.CauseQuery):
                    from .engines.actual_cause import finite_model, resolve

                    finite_model(resolve(m.ir, q, source).model, source)  # continuous or bad numbers
                elif isinstance(q, S.BoundsQuery):
                    from .graphs.bound_queries import validate_bounds

                    validate_bounds(m, q, source, check_files=True)
                elif is_combination(q) or isinstance(q, S.QueryNumber):
                    for leaf in plan_combination(m.ir, q, source).leaves:
                        check_plan(leaf.plan, source)
                else:
                    check_plan(plan_query(m.ir, q, source), source)
            except CausalDSLError as err:
                if problems is None:
                    raise
                problems.append(err)
    return blocks


def _validate_graph_query(g, q, source: str) -> None:
    if isinstance(q, S.GraphQuery):
        for names, spans in _name_groups(q):
            g._check(names, spans, source)
    elif isinstance(q, S.IdentifyQuery):
        g.identify(q.query, source)  # cheap (no numbers), so mistakes surface at load time
    elif isinstance(q, S.BoundsQuery):
        from .graphs.bound_queries import validate_bounds

        validate_bounds(g, q, source)
    elif isinstance(g, CausalGraph) and not hasattr(g, "ir"):
        raise QueryError(f"graph '{g.name}' has no mechanisms, so it cannot answer numeric queries",
                         span=q.span, source=source,
                         hint="write a 'model' block with a statement per variable, or ask "
                              "'identify ...' or a graph question")


def _name_groups(q: S.GraphQuery):
    if q.kind in ("dsep", "adjustment"):
        return list(zip(q.args, q.spans))
    return [(q.args, q.spans)] if q.args else []


def model(source: str, name: Optional[str] = None, base_dir: Union[str, Path, None] = None) -> CausalModel:
    """The model in ``source`` (a ``model NAME { ... }`` block and its queries).

    With several models in the text, ``name`` picks one. When the text fits the
    model (``fit NAME to "data.csv"``), the model returned is the fitted one:
    its answers are over the posterior, as in the text (see :meth:`CausalModel.fitted`).

    >>> model("model coin {\\n x ~ Bernoulli(0.25)\\n}").query("E[x]").value
    0.25
    """
    models = [m for m in program(source, base_dir) if isinstance(m, CausalModel)]
    if not models:
        raise QueryError("no model in the text", line=1, column=1, source=source,
                         hint="write a block such as: model m { x ~ Bernoulli(0.5) }"
                              " (for a graph without mechanisms use causaldsl.graph)")
    if name is None:
        if len(models) > 1:
            raise CausalDSLError(f"the text holds {len(models)} models: "
                                 + ", ".join(m.name for m in models),
                                 hint="pick one with name=..., or use causaldsl.program()")
        return models[0].fitted()
    for m in models:
        if m.name == name:
            return m.fitted()
    raise UnknownNameError(f"no model named '{name}'", hint=did_you_mean(name, [m.name for m in models])
                           or "models are: " + ", ".join(m.name for m in models))


def load(path: Union[str, Path], name: Optional[str] = None) -> CausalModel:
    """The model in a ``.causal`` file (see :func:`model`).

    >>> m = load("tutorials/smoking.causal")  # doctest: +SKIP
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "coin.causal"
    >>> _ = path.write_text("model coin {\\n x ~ Bernoulli(0.25)\\n}\\nP(x = 1)\\n")
    >>> [str(r) for r in load(path).run()]
    ['P(x = 1) = 0.25  [exact]']
    """
    return model(Path(path).read_text(), name, Path(path).parent)


def graph(source: str, name: Optional[str] = None) -> CausalGraph:
    """The graph in ``source``: a ``graph NAME { ... }`` block (or a model's structure) and its questions.

    >>> graph("graph g {\\n X -> M -> Y\\n X <-> Y\\n}").identify("P(Y | do(X))").rule
    'front-door'
    """
    items = [g for g in program(source) if isinstance(g, CausalGraph) or hasattr(g, "causal_graph")]
    if not items:
        raise QueryError("no graph or model in the text", line=1, column=1, source=source,
                         hint="write a block such as: graph g { X -> Y }")
    if name is None and len(items) > 1:
        raise QueryError(f"the text holds {len(items)} graphs or models", hint="pick one with name=...")
    for g in items:
        if name is None or g.name == name:
            return g if isinstance(g, CausalGraph) else g.causal_graph
    raise UnknownNameError(f"no graph named '{name}'", hint=did_you_mean(name, [g.name for g in items])
                           or "names are: " + ", ".join(g.name for g in items))


def run(source: str, base_dir: Union[str, Path, None] = None, **kw) -> list[tuple[str, object]]:
    """Answer every query of every model and graph in ``source``: ``[(name, answer), ...]``.

    As :meth:`CausalModel.run`: every query is answered; then, if any failed,
    the first failure is raised with ``.results`` holding every ``(name, row)``.

    >>> [(name, str(r)) for name, r in run("model coin {\\n x ~ Bernoulli(0.25)\\n}\\nP(x = 1)")]
    [('coin', 'P(x = 1) = 0.25  [exact]')]
    """
    out, failed = [], []
    for m in program(source, base_dir, check_queries=False):
        answers = m.answers(**kw) if isinstance(m, CausalModel) else m.run()
        for r in answers:
            out.append((m.name, r))
            if isinstance(r, CausalDSLError):
                failed.append(r)
    if failed:
        failed[0].results = out
        raise failed[0]
    return out


def report(source: str, base_dir: Union[str, Path, None] = None, **kw) -> str:
    """Every query beside its answer and method, as text; a query that fails shows its error in its row.

    >>> print(report("model coin {\\n x ~ Bernoulli(0.25)\\n}\\nP(x = 1)").splitlines()[0])
    model coin
    """
    parts = []
    for m in program(source, base_dir, check_queries=False):
        results = list(m.answers(**kw)) if isinstance(m, CausalModel) else m.run()
        kind = "model" if isinstance(m, CausalModel) else "graph"
        parts.append(f"{kind} {m.name}\n" + (table(results) if results else "(no queries)"))
    return "\n\n".join(parts)
