"""A model written back as DSL text: :func:`write_text` (``m.to_text()``).

The text parses into the same model: the same variables in the same order, levels, parents,
mechanisms and numbers (written by :func:`repr`, which reads back to the same float). A
``Categorical`` whose probabilities are tables of numbers over the same parents is written in the
compact form, one row per parent configuration::

    Age ~ Categorical(levels = ["<5", "12+"], probs = table(Sex) {
        male: [0.25, 0.75],
        female: [0.5, 0.5]
    })

Names that are not plain names (or are words of the language such as ``do``) are written in
backquotes, levels that are not plain names as strings; expressions are written back as text
(:func:`causaldsl.language.writer.expr_text`).

>>> from causaldsl.interchange.bif import read_bif
>>> m = read_bif('''variable E { type discrete [ 2 ] { "<5", 12+ }; }
... variable y { type discrete [ 2 ] { no, yes }; }
... probability ( E ) { table 0.25, 0.75; }
... probability ( y | E ) { (<5) 0.9, 0.1; (12+) 0.5, 0.5; }''', name="n")
>>> print(write_text(m))
model n {
    E ~ Categorical("<5": 0.25, "12+": 0.75)
    y ~ Categorical(levels = [no, yes], probs = table(E) {
        "<5": [0.9, 0.1],
        "12+": [0.5, 0.5]
    })
}
<BLANKLINE>
"""

from __future__ import annotations

from dataclasses import replace

from ..language import syntax as S
from ..language.errors import CausalDSLError
from ..language.writer import expr_text, number_text, table_text
from ..model.ir import Model, Node, Slot
from ..model.expressions import rename

__all__ = ["write_text"]

_INDENT = "    "


def write_text(model: Model) -> str:
    """``model`` as DSL text (a ``model`` block) that parses back into the same model.

    >>> import causaldsl as cd
    >>> m = cd.model("model m {\\n x ~ Normal(0, 1)\\n latent u ~ Bernoulli(0.5)\\n y := if u then 2 * x else -x\\n}")
    >>> print(write_text(m.ir))
    model m {
        x ~ Normal(0, 1)
        latent u ~ Bernoulli(0.5)
        y := if u then 2 * x else -x
    }
    <BLANKLINE>
    """
    levels = {n.name: n.levels for n in model.nodes}
    lines = [f"model {S.name_text(model.name)} {{"]
    for p in model.params:
        index = f"[{', '.join(map(S.name_text, p.index))}]" if p.index else ""
        lines.append(f"{_INDENT}param {S.name_text(p.name)}{index} ~ {p.family}("
                     + ", ".join(expr_text(a, levels) for a in p.args) + ")")
    for node in model.nodes:
        lines.append(_INDENT + ("latent " if node.latent else "") + _statement(node, levels))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _statement(node: Node, levels: dict) -> str:
    """One statement: ``X ~ Family(...)`` or ``X := expr`` (a variable held by ``do``: its value)."""
    name = S.name_text(node.name)
    if node.kind == "fixed":
        return _fixed(node, name)
    if node.bind:  # a copy of a node in another world: its expressions name the original parents
        node = _unbound(node)
    if node.kind == "assign":
        return f"{name} := {expr_text(node.expr, levels)}"
    coupling = ", coupling = gumbel" if node.coupling == "gumbel" else ""  # the default goes unsaid
    if node.family == "Categorical":
        return f"{name} ~ Categorical({_categorical(node, levels)}{coupling})"
    return f"{name} ~ {node.family}(" + ", ".join(expr_text(a, levels) for a in node.args) + coupling + ")"


def _unbound(node: Node) -> Node:
    names = dict(node.bind)
    return replace(node, args=tuple(rename(a, names) for a in node.args),
                   expr=None if node.expr is None else rename(node.expr, names), bind=())


def _fixed(node: Node, name: str) -> str:
    """A variable held at a value: a certain ``Categorical`` for named levels, else ``X := value``."""
    if isinstance(node.value, Slot) or node.value is None:
        raise CausalDSLError(f"'{node.name}' is held at a value given only when a query runs",
                             hint="write the model before the intervention, or intervene with a number")
    if node.levels:
        code = int(node.value)
        probs = ", ".join(f"{S.level_text(lv)}: {1 if i == code else 0}" for i, lv in enumerate(node.levels))
        return f"{name} ~ Categorical({probs})"
    return f"{name} := {number_text(float(node.value))}"


def _categorical(node: Node, levels: dict) -> str:
    """The arguments of a ``Categorical``: ``a: p, b: q`` for constants or expressions, the compact
    form for tables of numbers over the same parents, in the same row order."""
    args = node.args
    tables = all(type(a) is S.Table for a in args) and all(
        a.parents == args[0].parents and a.keys == args[0].keys and all(type(v) is S.Num for v in a.values)
        for a in args)
    if tables:
        first = args[0]
        rows = S.Table(first.parents, first.keys, tuple(
            "[" + ", ".join(number_text(a.values[i].value) for a in args) + "]" for i in range(len(first.keys))))
        head = f"levels = [{', '.join(map(S.level_text, node.levels))}], " if node.levels else ""
        sep = "\n" + _INDENT * 2
        body = table_text(rows, levels, str, sep=sep)
        return head + "probs = " + body[: -len(sep) - 1] + "\n" + _INDENT + "}"  # '}' under the statement
    if node.levels:
        return ", ".join(f"{S.level_text(lv)}: {expr_text(a, levels)}" for lv, a in zip(node.levels, args))
    return ", ".join(expr_text(a, levels) for a in args)
