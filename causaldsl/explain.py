"""Surgery shown: what a query does to the model, which engine answers it and what it computes.

:func:`explain` (``m.explain("P(cancer = 1 | do(smoking = 1))")``) gathers, for one
query: the model's statements and graph; the surgery (each ``do`` replaces a
mechanism by a value and cuts the arrows into it, Pearl 2009 §3.2) and the
mutilated graph; for a counterfactual the twin network (Balke & Pearl 1994) whose
worlds share each ``~`` statement's noise; the engine chosen and why; and, for an
exact answer, the sum it computed: an einsum over named variables of the factor
tables (:class:`Contraction`), which :meth:`ExactFormula.evaluate` recomputes with
NumPy, apart from the engine.

It prints as text (a terminal, the CLI) and shows as HTML with SVG pictures in a
notebook (drawn by :mod:`causaldsl.notebook.views` and :mod:`causaldsl.notebook.twin`).

>>> import causaldsl as cd
>>> m = cd.model("model m {\\n x ~ Bernoulli(0.3)\\n y ~ Bernoulli(table(x) { 0: 0.1, 1: 0.9 })\\n}")
>>> ex = m.explain("P(y = 1 | do(x = 1))")
>>> print(ex.formula.text)
P(y = 1 | do(x = 1)) = Σ_{x, y} P(y | x) · [x = 1] · [y = 1]
>>> round(ex.formula.evaluate(), 12), ex.result.value
(0.9, 0.9)
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import opt_einsum

from .language import syntax as S
from .language.errors import QueryError
from .model.ir import Slot

__all__ = ["Factor", "Contraction", "ExactFormula", "Explanation", "explain"]


@dataclass(frozen=True)
class Factor:
    """One operand of the sum: ``label`` (``P(y | x)``, ``[x = 1]``), its ``axes`` (variable
    names) and ``table`` (a NumPy array, one axis per name)."""

    label: str
    axes: tuple
    table: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Contraction:
    """``Σ_{every axis but out} Π factors``: the numerator holds the target (the event's
    indicator, or the expectation's values), the denominator only the evidence."""

    factors: tuple
    target: Optional[Factor]
    evidence: tuple
    out: tuple = ()  # the answer's axes, for P(y)
    domains: dict = field(default_factory=dict, repr=False)
    order: tuple = ()  # the network's variables, parents first: the order of the Σ
    # the observed variables the relevance cut left out of the sum (model/relevance.py: prune)
    left_out: tuple = ()

    def _sum(self, ops: list) -> np.ndarray:
        names = list(dict.fromkeys(a for f in ops for a in f.axes))
        sym = {n: opt_einsum.get_symbol(i) for i, n in enumerate(names)}
        eq = ",".join("".join(sym[a] for a in f.axes) for f in ops) + "->" + "".join(sym[a] for a in self.out)
        return np.einsum(eq, *[f.table for f in ops]) if ops else np.ones(())

    def evaluate(self):
        """The answer, recomputed by ``numpy.einsum`` from the tables."""
        num = self._sum(list(self.factors) + list(self.evidence) + ([self.target] if self.target else []))
        den = self._sum(list(self.factors) + list(self.evidence))
        if self.out:
            return num / den.sum()
        return float(num / den)

    @property
    def equation(self) -> str:
        """The einsum over named variables: ``x; x,y; y -> ``."""
        ops = list(self.factors) + list(self.evidence) + ([self.target] if self.target else [])
        return "; ".join(",".join(f.axes) for f in ops) + " -> " + ",".join(self.out)

    def text(self, label: str) -> str:
        axes = list(dict.fromkeys(a for f in self.factors + self.evidence for a in f.axes))
        axes = sorted((a for a in axes if a not in self.out),
                      key=lambda a: self.order.index(a) if a in self.order else len(self.order))
        summed = "Σ_{" + ", ".join(axes) + "} " if axes else ""
        body = " · ".join(f.label for f in self.factors + self.evidence + ((self.target,) if self.target else ()))
        num = summed + body
        if not self.evidence:
            return num
        den = summed + " · ".join(f.label for f in self.factors + self.evidence)
        return f"[{num}] / [{den}]"


@dataclass(frozen=True)
class ExactFormula:
    """The exact engine's answer as a signed sum of contractions (one, except for effects over
    several worlds, such as an ATE: one per world)."""

    query: str
    parts: tuple  # ((sign, Contraction), ...)

    def evaluate(self):
        """Recompute the answer from the factor tables (NumPy, not the engine)."""
        vals = [sign * np.asarray(c.evaluate()) for sign, c in self.parts]
        total = sum(vals)
        return float(total) if np.ndim(total) == 0 else total

    @property
    def text(self) -> str:
        if len(self.parts) == 1:
            return f"{self.query} = {self.parts[0][1].text(self.query)}"
        terms = [("+ " if s > 0 else "- ") + (f"{abs(s):g} · " if abs(s) != 1 else "") + "(" + c.text(self.query) + ")"
                 for s, c in self.parts]
        return f"{self.query} = " + " ".join(terms).lstrip("+ ")

    def tables(self) -> str:
        """Each factor table, as text (the numbers the sum multiplies)."""
        out = []
        for _, c in self.parts:
            for f in c.factors:
                out.append(f"{f.label} over ({', '.join(f.axes)}):\n" + _table_text(f, c.domains))
        return "\n".join(out)


def _table_text(f: Factor, domains: dict) -> str:
    rows = []
    for idx in np.ndindex(*f.table.shape):
        key = ", ".join(f"{a}={_fmt(domains[a][i])}" for a, i in zip(f.axes, idx))
        rows.append(f"    {key}: {f.table[idx]:.6g}")
    return "\n".join(rows)


def _fmt(v) -> str:
    return f"{float(v):g}"


# ------------------------------------------------------------------------------- the contraction

def _site(name: str, values) -> str:
    import re

    return re.sub(r"\$(\d+)", lambda m: _fmt(values[int(m.group(1))]), name)


def _contraction(plan) -> Contraction:
    """The factors of ``plan`` as the exact engine builds them (:mod:`causaldsl.engines.exact`)."""
    from .engines.exact import _Structure, _one_hot
    from .model.expressions import compile_expr

    s = _Structure(plan)
    values = plan.value_array
    slots = {f"${i}": values[i] for i in range(values.shape[0])}
    nm = lambda n: _site(n, values)  # noqa: E731
    domains = {nm(k): v for k, v in s.domains.items()}
    factors = []
    for g, copies in enumerate(s.groups):
        table, _ = s.factor(g, values, slots, {}, np)
        pn = [p for p in s.pnames[g]]
        label = "P(" + ", ".join(nm(c.name) for c in copies) + (" | " + ", ".join(nm(p) for p in pn) if pn else "") + ")"
        factors.append(Factor(label, tuple(nm(p) for p in pn) + tuple(nm(c.name) for c in copies),
                              np.asarray(table, dtype=float)))
    for name, hot in zip(s.lifted, s.one_hots(values, np)):
        value = s.fixed_value(s.fixed[name], values, np)
        factors.append(Factor(f"[{nm(name)} = {_fmt(value)}]", (nm(name),), np.asarray(hot, dtype=float)))
    evidence = []
    for copy, slot in s.evidence_ops:
        evidence.append(Factor(f"[{nm(copy)} = {_fmt(slots[slot])}]", (nm(copy),),
                               np.asarray(_one_hot(s.domains[copy], slots[slot], np), dtype=float)))
    target = None
    if plan.target is not None:
        env = s.grid_env(s.target_vars, values, slots, np)
        shape = tuple(len(s.domains[v]) for v in s.target_vars)
        t = np.broadcast_to(np.asarray(compile_expr(plan.target, xp=np)(env), dtype=float), shape)
        label = _target_label(plan, values, nm)
        target = Factor(label, tuple(nm(v) for v in s.target_vars), np.array(t))
    out = tuple(nm(d) for d in plan.dist_vars if d not in s.fixed)
    return Contraction(tuple(factors), target, tuple(evidence), out, domains, tuple(nm(n) for n in plan.network.names),
                       tuple(nm(c) for c in s.left_out))


def _target_label(plan, values, nm) -> str:
    t = plan.target
    if plan.kind == "prob" and isinstance(t, S.Compare) and isinstance(t.left, S.Var) and isinstance(t.right, S.Var) \
            and t.right.name.startswith("$") and t.op == "==":
        return f"[{nm(t.left.name)} = {_fmt(values[int(t.right.name[1:])])}]"
    from .engines.numpyro_source import _Names, _Writer

    names = _Names([n for n in plan.network.names])
    w = _Writer(names, tuple(values))
    text = w.top(t, {n: nm(n) for n in plan.network.names})
    return f"[{text}]" if plan.kind == "prob" else f"({text})"


def exact_formula(plan, label: str) -> ExactFormula:
    """The :class:`ExactFormula` of a plan the exact engine can answer."""
    parts = plan.parts or ((1.0, plan),)
    return ExactFormula(label, tuple((sign, _contraction(p)) for sign, p in parts))


# ------------------------------------------------------------------------------------ explanation

@dataclass
class Explanation:
    """What :func:`explain` found; ``str()`` is the text, the notebook shows HTML with SVGs."""

    query: str
    model: Any
    rung: str  # "seeing" | "doing" | "imagining"
    intervened: dict  # variable -> value text
    observed: dict
    surgery: list  # sentences, one per do
    engine: str
    why: str
    result: Any
    formula: Optional[ExactFormula] = None
    twin: Any = None
    # The evidence the exact sum did not read, and the sentence that says why (see _cut_line).
    left_out: dict = field(default_factory=dict)
    cut: str = ""

    observed_codes: dict = field(default_factory=dict, repr=False)  # as the model codes them, for drawing
    intervened_codes: dict = field(default_factory=dict, repr=False)

    def _mutilated_svg(self) -> str:
        from .notebook.views import model_svg

        return model_svg(self.model, observed=self.observed_codes, intervened=self.intervened_codes,
                         title=f"{self.model.name} after surgery")

    @property
    def text(self) -> str:
        ir = self.model.ir
        lines = [f"Explanation of {self.query}  ({self.rung}: rung "
                 f"{ {'seeing': 1, 'doing': 2, 'imagining': 3}[self.rung]} of the ladder)", "",
                 f"The model {ir.name}:"]
        lines += [f"    {n.text or n.name}" for n in ir.nodes]
        lines += ["    arrows: " + ", ".join(f"{a} -> {b}" for a, b in ir.graph.edges)]
        if self.surgery:
            lines += ["", "Surgery:"] + [f"    {s}" for s in self.surgery]
            if self.twin is None:
                edges = [(p, n.name) for n in ir.nodes for p in n.parents if n.name not in self.intervened]
                lines += ["    mutilated graph: " + ", ".join(f"{a} -> {b}" for a, b in edges)]
        if self.twin is not None:
            lines += ["", "Twin network (worlds share each ~ statement's noise U):"]
            worlds = {}
            for copy, w in self.twin.worlds.items():
                worlds.setdefault(w, []).append(copy)
            lines += [f"    {w}: {', '.join(cs)}" for w, cs in worlds.items()]
            lines += [f"    {u} feeds {', '.join(cs)}" for u, cs in self.twin.noise.items()]
        if self.observed:
            lines += ["", "Evidence: " + ", ".join(f"{k} = {v}" for k, v in self.observed.items())]
            if self.cut:
                lines += ["    " + self.cut]
        lines += ["", f"Engine: {self.engine}", f"    why: {self.why}"]
        if self.formula is not None:
            lines += ["", "The sum it computed (einsum over named variables):", "    " + self.formula.text]
            for _, c in self.formula.parts:
                lines.append("    einsum: " + c.equation)
        lines += ["", f"Answer: {self.result}"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Explanation of {self.query}: {self.engine}>"

    def _repr_html_(self) -> str:
        from .notebook.views import model_svg

        e = html.escape
        ir = self.model.ir
        statements = e("\n".join(n.text or n.name for n in ir.nodes))
        left = ['<p><b>The model</b></p><pre style="white-space: pre; overflow-x: auto">' + statements + "</pre>",
                model_svg(self.model, title=ir.name)]
        right = []
        if self.surgery:
            right.append("<p><b>Surgery</b></p><ul>" + "".join(f"<li>{e(s)}</li>" for s in self.surgery) + "</ul>")
            if self.twin is None:
                right.append(self._mutilated_svg())
        if self.twin is not None:
            right.append("<p><b>Twin network</b>: the worlds share each <code>~</code> statement's noise</p>")
            right.append(self.twin.svg)
        column = '<div style="flex: 1 1 320px; min-width: 0; overflow-x: auto">'
        parts = [f'<div class="cdsl-explain"><p><b>Explanation of</b> <code>{e(self.query)}</code> '
                 f"({e(self.rung)})</p>",
                 '<div style="display: flex; flex-wrap: wrap; gap: 32px; align-items: flex-start">',
                 column + "".join(left) + "</div>"]
        if right:
            parts.append(column + "".join(right) + "</div>")
        parts.append("</div>")
        if self.observed:
            parts.append("<p><b>Evidence</b>: " + e(", ".join(f"{k} = {v}" for k, v in self.observed.items()))
                         + (f"<br>{e(self.cut)}" if self.cut else "") + "</p>")
        parts.append(f"<p><b>Engine</b>: {e(self.engine)}: {e(self.why)}</p>")
        if self.formula is not None:
            eqs = "".join(f"<br>einsum: <code>{e(c.equation)}</code>" for _, c in self.formula.parts)
            parts.append('<p><b>The sum it computed</b></p><pre style="white-space: pre-wrap">'
                         + e(self.formula.text) + f"</pre><p>{eqs[4:]}</p>")
        parts.append(f"<p><b>Answer</b>: <code>{e(str(self.result))}</code></p></div>")
        return "\n".join(parts)


def _cut_line(left_out: dict, targets: list, given: list) -> str:
    """One sentence naming the evidence the exact sum left out and why.

    >>> _cut_line({"z": "1"}, ["y"], ["a"])
    'left out: z = 1, d-separated from y given a: its factors multiply the numerator and the denominator alike (Lauritzen et al. 1990, Prop. 3; Koller & Friedman 2009, §9.3.1)'
    """
    if not left_out:
        return ""
    return (f"left out: {', '.join(f'{k} = {v}' for k, v in left_out.items())}, d-separated from "
            f"{', '.join(targets) or 'the question'}{' given ' + ', '.join(given) if given else ''}: "
            f"{'its' if len(left_out) == 1 else 'their'} factors multiply the numerator "
            f"and the denominator alike (Lauritzen et al. 1990, Prop. 3; Koller & Friedman 2009, §9.3.1)")


def _why(result, plan, model) -> str:
    why = _engine_why(result, plan)
    if result.posterior:  # a model with parameters: the same computation once per parameter draw
        why += f"; once per parameter draw ({result.posterior}), and averaged"
    return why


def _engine_why(result, plan) -> str:
    if result.method.startswith("exact (gaussian)"):
        if not plan.evidence:
            return ("every mechanism is linear with Normal noise, so the answer is read off the joint Normal "
                    "(its mean, or a Normal CDF): exact, no draws")
        return ("every mechanism is linear with Normal noise, so conditioning on the evidence is Gaussian "
                "conditioning: exact, no draws")
    if result.method == "exact":
        vars_ = [n for n in plan.network.nodes if n.kind != "fixed"]
        size = int(np.prod([len(n.domain) for n in vars_])) if vars_ else 1
        return (f"every variable the query touches has finitely many values ({len(vars_)} variable"
                f"{'s' if len(vars_) != 1 else ''}, "
                f"{size:,} joint configurations), so the answer is one tensor contraction, with no sampling error")
    cont = [n.origin or n.name for n in plan.network.nodes if n.kind != "fixed" and not n.finite]
    why = (f"{', '.join(dict.fromkeys(cont))} {'is' if len(set(cont)) == 1 else 'are'} continuous or unbounded, "
           f"so the answer is a Monte Carlo average" if cont else "Monte Carlo was asked for, or exact is too large")
    if result.samples:
        why += f" over {result.samples:,} draws (standard error {result.stderr:.2g})"
    if result.conditioning:
        why += f"; the evidence by {result.conditioning}"
    if result.method.startswith("monte-carlo (exact would need"):
        why = result.method[len("monte-carlo ("):-1] + "; " + why
    return why


def explain(model, text: str) -> Explanation:
    """Explain one probability, expectation or effect query of ``model`` (see the module docstring)."""
    from .notebook.views import value_text
    from .language.parser import parse_query
    from .model.expressions import free_vars
    from .model.queries import plan_query

    q = parse_query(text)
    if not isinstance(q, (S.ProbQuery, S.ExpectQuery, S.EffectQuery)):
        raise QueryError("explain() takes a probability, expectation or effect query",
                         hint='write e.g. m.explain("P(y = 1 | do(x = 1))"); identify queries have '
                              "est.derivation instead")
    plan = plan_query(model.ir, q, text)
    result = model.query(text)
    ir = model.ir
    values = plan.value_array
    net = plan.network
    twin_like = plan.parts or any("[" in n.name for n in net.nodes)
    fixed = {n.origin or n.name: (values[n.value.index] if isinstance(n.value, Slot) else n.value)
             for n in net.nodes if n.kind == "fixed" and "[" not in n.name}
    observed = {copy: values[int(slot[1:])] for copy, slot in plan.evidence}
    surgery = []
    for name, v in fixed.items():
        node = ir[name]
        cut = ", ".join(f"{p} -> {name}" for p in node.parents) or "none"
        surgery.append(f"do({name} = {value_text(node, v)}) replaces '{node.text or name}' by "
                       f"{name} := {value_text(node, v)} and cuts the arrows into it ({cut})")
    regimes = [n for n in net.nodes if n.regime is not None and "[" not in n.name and n.origin not in ir.params]
    for n in regimes:  # a new mechanism (do(X = X + 1), do(X ~ Bernoulli(0.3))): arrows from what it reads
        name = n.origin or n.name
        node = ir[name]
        reads = ", ".join(f"{p} -> {name}" for p in n.parents) or "none"
        surgery.append(f"do({name} {n.regime}) replaces '{node.text or name}' by {name} {n.regime.replace('=', ':=', 1)}"
                       f"; its arrows in are now {reads}" + (f" ({name}' is {name}'s natural value, its old mechanism)"
                                                             if f"{name}'" in n.parents else ""))
    twin = None
    if twin_like:
        twin = model.twin(text)
        for copy, v in twin.intervened.items():
            surgery.append(f"in the world {twin.worlds.get(copy, '?')}, {copy} gets the new mechanism {copy} {v}"
                           if v[:1] in "=~" else
                           f"in the world {twin.worlds.get(copy, '?')}, {copy} is held at {v} (its arrows in are cut)")
    if isinstance(q, S.EffectQuery):  # an ATE compares interventions; the others need the worlds' shared noise
        rung = "doing" if q.effect in ("ATE", "CDE") else "imagining"
    elif twin is not None:
        rung = "imagining"
    else:
        rung = "doing" if fixed or regimes else "seeing"
    formula = None
    if result.method == "exact" and not ir.params:
        formula = exact_formula(plan, q.text or text)
    observed_text = {_site(k, values): value_text(ir[net[k].origin or k] if (net[k].origin or k) in ir else net[k], v)
                     for k, v in observed.items()}
    cut = dict.fromkeys(n for _, c in (formula.parts if formula else ()) for n in c.left_out)
    left_out = {k: v for k, v in observed_text.items() if k in cut}
    targets = [v for v in (free_vars(plan.target) if plan.target is not None else []) if not v.startswith("$")]
    given = [k for k in observed_text if k not in cut] + [k for k in fixed]
    return Explanation(
        query=q.text or text, model=model, rung=rung,
        intervened={k: value_text(ir[k], v) for k, v in fixed.items()},
        observed=observed_text,
        surgery=surgery, engine=result.method, why=_why(result, plan, model), result=result,
        formula=formula, twin=twin, left_out=left_out,
        cut=_cut_line(left_out, [_site(v, values) for v in dict.fromkeys(targets + list(plan.dist_vars))], given),
        observed_codes={k: v for k, v in observed.items() if k in ir},
        intervened_codes={k: v for k, v in fixed.items()})
