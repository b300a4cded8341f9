"""The compiled program shown: a model (and a query) as readable, runnable NumPyro source.

:func:`numpyro_source` writes the Python text of the NumPyro model that
:meth:`causaldsl.CausalModel.numpyro` builds: one ``numpyro.sample`` site per ``~``
statement, ``numpyro.deterministic`` for ``:=`` and for intervened variables (graph
surgery: a ``do`` replaces the mechanism by the value), parameters sampled from their
priors first. Given a query it writes the query's network (the intervened model, or
the twin network of a counterfactual, where the copies of a ``~`` statement in
several worlds share one uniform noise ``U`` and each is its quantile, as in
DESIGN.md) and a few lines that answer it by Monte Carlo with
:class:`numpyro.infer.Predictive`: the mean of the event over the draws, weighted by
the evidence (rejection, the plainest sound method; the engines are cleverer).

The text is generated from the checked IR, never from the user's text: names become
Python identifiers, numbers are written by ``repr``. It needs only ``jax`` and
``numpyro``; ``exec`` it, or paste it into a file.

>>> import causaldsl as cd
>>> m = cd.model("model m {\\n x ~ Bernoulli(0.3)\\n y := 1 - x\\n}")
>>> print(numpyro_source(m.ir).split("\\n\\n\\n")[1].strip())
def m():
    \"\"\"The causal model 'm' as a NumPyro program.\"\"\"
    x = numpyro.sample("x", dist.Bernoulli(probs=0.3))
    y = numpyro.deterministic("y", jnp.asarray(1.0 - x, dtype=float))
    return {"x": x, "y": y}
"""

from __future__ import annotations

import keyword
import re
from ..language import syntax as S
from ..language.errors import MethodError
from ..model.ir import Model, Node, Slot

__all__ = ["NumPyroSource", "numpyro_source"]

_HEADER = '''import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.infer import Predictive'''

_TAKEN = {"jax", "jnp", "numpyro", "dist", "Predictive", "draws", "event", "weight", "estimate", "u", "nan"}

# family -> NumPyro constructor with the DSL's parameters in order (as causaldsl.model.distributions has them)
_CONSTRUCTORS = {
    "Bernoulli": "dist.Bernoulli(probs={0})",
    "Binomial": "dist.Binomial(total_count={0}, probs={1})",
    "Poisson": "dist.Poisson({0})",
    "Normal": "dist.Normal({0}, {1})",
    "LogNormal": "dist.LogNormal({0}, {1})",
    "StudentT": "dist.StudentT({0}, {1}, {2})",
    "Uniform": "dist.Uniform({0}, {1})",
    "Exponential": "dist.Exponential({0})",
    "Gamma": "dist.Gamma({0}, {1})",
    "Beta": "dist.Beta({0}, {1})",
    "HalfNormal": "dist.HalfNormal({0})",
}

# F^-1(u; params): the quantile coupling of worlds that share a ~ statement's noise
_QUANTILES = {
    "Bernoulli": "jnp.where({u} >= 1.0 - ({0}), 1.0, 0.0)",
    "Normal": "dist.Normal({0}, {1}).icdf({u})",
    "Uniform": "dist.Uniform({0}, {1}).icdf({u})",
    "Exponential": "dist.Exponential({0}).icdf({u})",
    "LogNormal": "jnp.exp(dist.Normal({0}, {1}).icdf({u}))",
}

_FUNCS = {"exp": "jnp.exp", "log": "jnp.log", "sqrt": "jnp.sqrt", "abs": "jnp.abs", "sigmoid": "jax.nn.sigmoid",
          "min": "jnp.minimum", "max": "jnp.maximum"}


class NumPyroSource(str):
    """Python source text; shows as a highlighted code block in a notebook. ``function``
    names the (first) model function it defines."""

    function: str = ""

    def _repr_markdown_(self) -> str:
        return "```python\n" + self + "\n```"


class _Names:
    """Node names -> Python identifiers (twin copies such as ``y[x=$0]`` are not identifiers)."""

    def __init__(self, names):
        self.map: dict = {}
        used = set(_TAKEN)
        for n in names:
            ident = re.sub(r"\W+", "_", n).strip("_") or "v"
            if ident[0].isdigit() or keyword.iskeyword(ident) or ident in used:
                ident += "_"
            while ident in used:
                ident += "_"
            used.add(ident)
            self.map[n] = ident

    def __getitem__(self, name: str) -> str:
        return self.map[name]

    def fresh(self, name: str) -> str:
        """An identifier for ``name`` that no node or parameter uses (the model function's)."""
        ident = re.sub(r"\W+", "_", name).strip("_") or "model"
        used = set(self.map.values()) | _TAKEN
        if ident[0].isdigit() or keyword.iskeyword(ident):
            ident += "_"
        while ident in used:
            ident += "_"
        return ident


def _num(x: float) -> str:
    x = float(x)
    return repr(int(x)) + ".0" if x.is_integer() and abs(x) < 1e15 else repr(x)


class _Writer:
    def __init__(self, names: _Names, values: tuple):
        self.names = names
        self.values = values

    def site(self, name: str) -> str:
        """A node's site name, with the query's values written in (``y[x=0]``, not ``y[x=$0]``)."""
        return re.sub(r"\$(\d+)", lambda m: f"{self.values[int(m.group(1))]:g}", name)

    def expr(self, e, env: dict) -> str:
        """Python text of ``e``; ``env`` maps the expression's names to identifiers."""
        if isinstance(e, S.Num):
            return _num(e.value)
        if isinstance(e, S.Level):
            return _num(e.code)
        if isinstance(e, S.Var):
            if e.name.startswith("$"):
                return _num(self.values[int(e.name[1:])])
            return env[e.name]
        if isinstance(e, S.BinOp):
            return f"({self.expr(e.left, env)} {e.op} {self.expr(e.right, env)})"
        if isinstance(e, S.Unary):
            return f"(-{self.expr(e.operand, env)})" if e.op == "-" else self.expr(e.operand, env)
        if isinstance(e, S.Compare):
            return f"jnp.where({self.expr(e.left, env)} {e.op} {self.expr(e.right, env)}, 1.0, 0.0)"
        if isinstance(e, S.BoolOp):
            op = "&" if e.op == "and" else "|"
            return f"jnp.where(({self.expr(e.left, env)} != 0) {op} ({self.expr(e.right, env)} != 0), 1.0, 0.0)"
        if isinstance(e, S.Not):
            return f"jnp.where({self.expr(e.operand, env)} == 0, 1.0, 0.0)"
        if isinstance(e, S.IfElse):
            return (f"jnp.where({self.expr(e.cond, env)} != 0, {self.expr(e.then, env)}, "
                    f"{self.expr(e.other, env)})")
        if isinstance(e, S.Call):
            fn = _FUNCS[e.fn]
            args = [self.expr(a, env) for a in e.args]
            out = args[0]
            if len(args) == 1:
                return f"{fn}({out})"
            for a in args[1:]:
                out = f"{fn}({out}, {a})"
            return out
        if isinstance(e, S.Table):
            return self.table(e, env)
        if isinstance(e, S.Index):
            return self.index(e, env)
        raise TypeError(f"cannot write {type(e).__name__}")  # pragma: no cover: the checker saw every node

    def table(self, t: S.Table, env: dict) -> str:
        # A row matching no key gives NaN, as in causaldsl.model.expressions (the checker makes tables complete).
        out = "jnp.nan"
        for key, value in reversed(list(zip(t.keys, t.values))):
            cond = " & ".join(f"({env[p]} == {_num(k)})" for p, k in zip(t.parents, key))
            out = f"jnp.where({cond}, {self.expr(value, env)}, {out})"
        return out

    def index(self, e: S.Index, env: dict) -> str:
        parts = []
        for i, axis in zip(e.indices, e.axes):
            v = self.expr(i, env)
            if tuple(axis) == tuple(float(k) for k in range(len(axis))):
                parts.append(f"jnp.clip(jnp.round({v}).astype(int), 0, {len(axis) - 1})")
            else:
                ax = "[" + ", ".join(_num(a) for a in axis) + "]"
                parts.append(f"jnp.clip(jnp.searchsorted(jnp.asarray({ax}), {v}), 0, {len(axis) - 1})")
        return f"{env[e.name]}[{', '.join(parts)}]"

    def top(self, e, env: dict) -> str:
        """:meth:`expr` without the outer parentheses of a binary operation."""
        text = self.expr(e, env)
        return text[1:-1] if isinstance(e, S.BinOp) else text

    def args(self, node: Node, env: dict) -> list:
        return [self.top(a, env) for a in node.args]


def _family_text(family: str, args: list) -> str:
    if family == "Categorical":
        return f"dist.Categorical(probs=jnp.stack(jnp.broadcast_arrays({', '.join(args)}), -1))"
    return _CONSTRUCTORS[family].format(*args)


def _quantile_text(node: Node, args: list, u: str) -> str:
    if node.family not in _QUANTILES:
        raise MethodError(f"the NumPyro source of a counterfactual writes each '~' copy as its quantile, and "
                          f"{node.family} ('{node.origin or node.name}') has none there",
                          hint="ask for the source of the model, or of a do-query, instead")
    return _QUANTILES[node.family].format(*args, u=u)


def _model_function(ir: Model, fname: str, names: _Names, w: _Writer, doc: str) -> list:
    lines = [f"def {fname}():", f'    """{doc}"""']
    params = {p.name: names[p.name] for p in ir.params}
    for p in ir.params:
        d = _family_text(p.family, [w.expr(a, params) for a in p.args])
        if p.shape:
            d += f".expand({p.shape!r}).to_event({len(p.shape)})"
        lines.append(f'    {params[p.name]} = numpyro.sample("{p.name}", {d})')
    # copies of one ~ statement in several worlds share one uniform noise (the quantile coupling)
    shared: dict = {}
    for n in ir.nodes:
        if n.kind == "sample":
            shared.setdefault(n.noise or n.name, []).append(n.name)
    shared = {k: v for k, v in shared.items() if len(v) > 1}
    noise_vars = {}
    gumbel = set()  # noises shared by Gumbel-max copies: one standard Gumbel per level
    for noise, copies in shared.items():
        first = ir[copies[0]]
        if first.gumbel_race and first.family == "Categorical":
            g = names[f"G_{noise}"]
            noise_vars[noise] = g
            gumbel.add(noise)
            lines.append(f'    {g} = numpyro.sample("G_{noise}", dist.Gumbel(0.0, 1.0).expand([{len(first.domain)}]).to_event(1))')
            continue
        u = names[f"U_{noise}"]
        noise_vars[noise] = u
        lines.append(f'    {u} = numpyro.sample("U_{noise}", dist.Uniform(0.0, 1.0))')
    for n in ir.nodes:
        me = names[n.name]
        env = {**params, **{e: names[p] for e, p in n.env_names.items()}}
        if n.kind == "fixed":
            v = w.values[n.value.index] if isinstance(n.value, Slot) else n.value
            lines.append(f'    {me} = numpyro.deterministic("{w.site(n.name)}", jnp.asarray({_num(v)}))'
                         f"  # do({n.origin or n.name} = {_num(v)}): its mechanism is cut")
        elif n.kind == "assign":
            lines.append(f'    {me} = numpyro.deterministic("{w.site(n.name)}", jnp.asarray({w.top(n.expr, env)}, dtype=float))')
        elif (n.noise or n.name) in gumbel:  # Gumbel-max: the level whose log p + G is largest
            probs = "jnp.stack([" + ", ".join(f"jnp.asarray({a}, dtype=float)" for a in w.args(n, env)) + "], -1)"
            q = f"jnp.argmax(jnp.log({probs}) + {noise_vars[n.noise or n.name]}, -1).astype(float)"
            lines.append(f'    {me} = numpyro.deterministic("{w.site(n.name)}", {q})')
        elif (n.noise or n.name) in noise_vars:
            q = _quantile_text(n, w.args(n, env), noise_vars[n.noise or n.name])
            lines.append(f'    {me} = numpyro.deterministic("{w.site(n.name)}", {q})')
        else:
            infer = ", infer={'latent': True}" if n.latent else ""
            lines.append(f'    {me} = numpyro.sample("{w.site(n.name)}", {_family_text(n.family, w.args(n, env))}{infer})')
    lines.append("    return {" + ", ".join(f'"{w.site(n.name)}": {names[n.name]}' for n in ir.nodes) + "}")
    return lines


def _all_names(ir: Model) -> list:
    noises = [f"{'G' if n.gumbel_race else 'U'}_{n.noise or n.name}" for n in ir.nodes if n.kind == "sample"]
    return list(dict.fromkeys([p.name for p in ir.params] + ir.names + noises))


def _query_lines(plan, fname: str, names: _Names, w: _Writer, samples: int, seed: int, label: str,
                 result: str) -> list:
    lines = [f"draws = Predictive({fname}, num_samples={samples})(jax.random.PRNGKey({seed}))"]
    env = {n: f'draws["{w.site(n)}"]' for n in plan.network.names}
    if plan.evidence:
        cond = " * ".join(f'(draws["{w.site(copy)}"] == {_num(plan.values[int(slot[1:])])})' for copy, slot in plan.evidence)
        lines.append(f"weight = {cond}  # the evidence: draws that disagree are rejected")
    else:
        lines.append(f'weight = jnp.ones_like(draws["{w.site(plan.network.names[-1])}"])')
    if plan.kind == "dist":
        (v,) = plan.dist_vars
        lines.append(f'{result} = {{float(k): float(jnp.sum(weight * (draws["{w.site(v)}"] == k)) / jnp.sum(weight))'
                     f' for k in jnp.unique(draws["{w.site(v)}"])}}')
    else:
        target = "1.0" if plan.target is None else w.expr(plan.target, env)
        lines.append(f"{result} = float(jnp.sum(weight * {target}) / jnp.sum(weight))")
    return lines


def numpyro_source(ir: Model, plan=None, *, label: str = "", samples: int = 100_000, seed: int = 0) -> NumPyroSource:
    """NumPyro source of ``ir`` (``plan=None``) or of a query's plan (see the module docstring).

    With a plan, running the text leaves the answer in ``estimate`` (a float, or a
    dict of probabilities for ``P(y)``).
    """
    out = [_HEADER, ""]
    if plan is None:
        names = _Names(_all_names(ir))
        w = _Writer(names, ())
        fname = names.fresh(ir.name)
        out += ["", *_model_function(ir, fname, names, w, f"The causal model '{ir.name}' as a NumPyro program.")]
        return _source(out, fname)
    parts = plan.parts or ((1.0, plan),)
    total, first = [], None
    for i, (sign, part) in enumerate(parts):
        net = part.network
        names = _Names(_all_names(net))
        w = _Writer(names, part.values)
        fname = names.fresh(net.name + (f"_{i + 1}" if len(parts) > 1 else ""))
        first = first or fname
        doc = f"The network that answers {label or 'the query'}" + (f" (part {i + 1})" if len(parts) > 1 else "")
        out += ["", *_model_function(net, fname, names, w, doc + "."), ""]
        result = "estimate" if len(parts) == 1 else f"estimate_{i + 1}"
        if label and i == 0:
            out.append(f"# {label}, by Monte Carlo: the mean of the event over the draws that fit the evidence")
        out += _query_lines(part, fname, names, w, samples, seed + i, label, result)
        total.append((sign, result))
    if len(parts) > 1:
        out += ["", "estimate = " + " ".join(f"{'+' if s > 0 else '-'} {abs(s):g} * {r}" for s, r in total)
                .lstrip("+ ")]
    return _source(out, first)


def _source(lines: list, function: str) -> NumPyroSource:
    src = NumPyroSource("\n".join(lines) + "\n")
    src.function = function
    return src
