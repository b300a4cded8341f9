"""Distribution parameters computed from discrete parents, checked for every combination of their values.

``cancer ~ Bernoulli(0.3 + 0.6 * tar + 0.5 * genotype)`` reads well but gives
1.4 at ``tar = 1, genotype = 1``. The engines refuse such a query when they
meet it; :func:`check_plan` finds the same mistake in a query's plan without
running it, naming the first combination of parent values that breaks the
rule. ``causaldsl check`` calls it for every query (so it says what ``run``
says), and :meth:`~causaldsl.CausalModel.query` calls it to name the values
when an engine refuses. Validity is judged on the query's own network, as the
engines judge it: ``do(x = 0)`` holds ``x`` at 0, so a mechanism that is
invalid only at ``x = 2`` does not stop that query.

>>> import causaldsl as cd
>>> from causaldsl.model.queries import plan_query
>>> from causaldsl.language.parser import parse_query
>>> m = cd.model("model s {\\n tar ~ Bernoulli(0.5)\\n g ~ Bernoulli(0.5)\\n c ~ Bernoulli(0.3 + 0.6 * tar + 0.5 * g)\\n}")
>>> check_plan(plan_query(m.ir, parse_query("P(c = 1 | do(tar = 0))")))
>>> check_plan(plan_query(m.ir, parse_query("P(c = 1)")))
Traceback (most recent call last):
    ...
causaldsl.language.errors.ProbabilityError: line 4, column 2: 'c': at tar = 1, g = 1 its Bernoulli parameter p is 1.4
 c ~ Bernoulli(0.3 + 0.6 * tar + 0.5 * g)
 ^
hint: Bernoulli takes a probability between 0 and 1; keep the expression inside [0, 1], e.g. min(max(..., 0), 1)
"""

from __future__ import annotations

import itertools
from typing import Optional

import numpy as np

from .distributions import FAMILIES
from ..language.errors import ProbabilityError
from .expressions import compile_expr, free_vars
from .ir import Model, Node, Slot

#: Parent combinations enumerated per node; beyond this the engines check the parameters when they run.
MAX_COMBINATIONS = 1 << 16


def check_plan(plan, source: str = "") -> None:
    """Raise :class:`~causaldsl.language.errors.ProbabilityError` at the first node of ``plan`` whose parameters leave their range.

    Only ``~`` nodes whose parents are all discrete (or held by ``do``) and whose
    arguments use no ``param`` are checked (a fit checks parameters against their priors).
    """
    ir = plan.network
    params = {p.name for p in ir.params}
    for node in ir.nodes:
        if node.kind != "sample" or node.family not in FAMILIES:
            continue
        if any(set(free_vars(a)) & params for a in node.args):
            continue
        choices = [_values(ir[p], plan.values) for p in node.parents]
        if any(c is None for c in choices):
            continue
        bad = first_invalid(node, choices)
        if bad is not None:
            raise _error(node, ir, *bad, source=source or ir.source)


def _values(node: Node, slots: tuple) -> Optional[tuple]:
    """The values a parent can take in the plan: its held value, its domain, or ``None`` (continuous)."""
    if node.kind == "fixed":
        v = node.value
        return (float(slots[v.index]) if isinstance(v, Slot) else float(v),)
    return node.domain


def first_invalid(node: Node, choices: list) -> Optional[tuple[dict, tuple]]:
    """The first parent values (name -> value) at which ``node``'s parameters are invalid, and those parameters.

    ``choices`` holds the values of each parent, in ``node.parents`` order. ``None``
    when every combination is valid, or when there are too many to enumerate.
    """
    if int(np.prod([len(c) for c in choices], dtype=float)) > MAX_COMBINATIONS:
        return None
    fam = FAMILIES[node.family]
    fns = [compile_expr(a, np) for a in node.args]
    grid = [np.asarray(col, dtype=float) for col in zip(*itertools.product(*choices))] if choices else []
    values = dict(zip(node.parents, grid))
    env = {e: values[p] for e, p in node.env_names.items() if p in values}
    size = len(grid[0]) if grid else 1
    with np.errstate(all="ignore"):
        args = tuple(np.broadcast_to(np.asarray(f(env), dtype=float), (size,)) for f in fns)
        flags = np.broadcast_to(np.asarray(fam.invalid(args)), (size,))
    if not flags.any():
        return None
    i = int(np.argmax(flags))
    return {p: float(values[p][i]) for p in node.parents}, tuple(float(a[i]) for a in args)


def _error(node: Node, ir: Model, at: dict, args: tuple, source: str) -> ProbabilityError:
    fam = FAMILIES[node.family]
    where = ", ".join(f"{ir[p].origin or p} = {_show(ir[p], v)}" for p, v in at.items())
    if fam.name == "Categorical" and node.levels:
        shown = ", ".join(f"{lv}: {a:.4g}" for lv, a in zip(node.levels, args))
        what = f"its Categorical probabilities are {shown} (sum {sum(args):.4g})"
    elif len(args) == 1 and fam.params:
        what = f"its {fam.name} parameter {fam.params[0]} is {args[0]:.4g}"
    else:
        what = f"its {fam.name} parameters are " + ", ".join(
            f"{n} = {a:.4g}" for n, a in zip(fam.params or [f"#{k + 1}" for k in range(len(args))], args))
    hint = f"{fam.name} takes {fam.rule}"
    if fam.probability_params or fam.name == "Categorical":
        hint += "; keep the expression inside [0, 1], e.g. min(max(..., 0), 1)"
    return ProbabilityError(f"'{node.origin or node.name}': " + (f"at {where} " if where else "") + what,
                            span=node.span, source=source, hint=hint)


def _show(node: Node, value: float) -> str:
    if node.levels and 0 <= value < len(node.levels):
        return node.levels[int(round(value))]
    return f"{value:g}"
