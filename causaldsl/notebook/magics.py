"""IPython magics: ``%%causal`` cells and ``%causal`` lines.

``%load_ext causaldsl`` registers them.

``%%causal [NAME] [--seed N] [--method exact|monte-carlo] [--samples N] [--quiet]``
    The cell is a program (models, graphs and queries). Every model and graph is
    put in the user's namespace under its name; the cell shows each graph (SVG)
    and a table of its queries' answers. With several blocks, ``NAME`` picks the
    one later ``%causal`` lines use (otherwise the last one).

``%causal [-m NAME] [--seed N] [--method M] [--samples N] QUERY``
    Answers ``QUERY`` against the last model defined by ``%%causal`` (or ``NAME``,
    which may also be any model in the namespace).

``%causal explore [NAME]`` opens the explorer; ``%causal twin QUERY`` draws the
twin network of a counterfactual query; ``%causal explain QUERY`` shows the surgery,
engine and sum of a query, ``%causal derivation QUERY`` the identification step by
step, ``%causal numpyro [QUERY]`` the NumPyro program.

A mistake shows the message with line and column counted from the ``%%causal``
line, the source line, a caret and the hint; no Python traceback. The cell still
fails, so a notebook run by CI stops there. A query that fails on its own does not
cost the others: the cell defines its models, shows the table with the error in
that query's row, then fails with the located error.

A cell that fits (``fit NAME to "data.csv"``) binds the fitted model: later
queries, ``%causal`` lines and the explorer answer over the posterior.
Block names that would shadow a Python keyword, a builtin or a name IPython
keeps (``In``, ``_``, ``__builtins__``...) are refused.
"""

from __future__ import annotations

import builtins
import keyword
import re
from typing import Optional

from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ..language.errors import CausalDSLError, DuplicateDefinitionError, QueryError, UnknownNameError, did_you_mean
from .views import answers_html, answers_text, graph_svg
from .pictures import query_pictures


def relocate(err: CausalDSLError, source: str, line_offset: int = 0, column_offset: int = 0) -> CausalDSLError:
    """The same error quoting ``source``, its position shifted by whole lines and (on line 1) columns.

    >>> from causaldsl.language.errors import QueryError
    >>> e = QueryError("bad", line=1, column=3, source="P(q)", hint="h")
    >>> print(relocate(e, "%causal P(q)", 0, 8))
    line 1, column 11: bad
    %causal P(q)
              ^
    hint: h
    """
    out = err.with_source(source, line_offset)
    if column_offset and out.column is not None and err.line == 1:
        out.column += column_offset
        CausalDSLError.__init__(out, out.message, line=out.line, column=out.column, source=source,
                                hint=out.hint, width=out.width)
    return out


class CellOutput:
    """What a ``%%causal`` cell shows: each block's graph and its answers.

    ``blocks`` are the models and graphs in order, ``results`` their answers.
    """

    def __init__(self, blocks: list, results: list[list]):
        self.blocks = blocks
        self.results = results

    def _svgs(self, block) -> list[str]:
        """The block's graph; for a model asked do-queries, the mutilated graph of each intervention."""
        return [graph_svg(block)] if not hasattr(block, "ir") else query_pictures(block, block.queries)

    def __repr__(self) -> str:
        parts = []
        for block, res in zip(self.blocks, self.results):
            parts.append(repr(block) + ("\n" + answers_text(res) if res else ""))
        return "\n\n".join(parts)

    def _repr_svg_(self) -> str:
        return stack_svgs([svg for b in self.blocks for svg in self._svgs(b)])

    def _repr_html_(self) -> str:
        rows = []
        for block, res in zip(self.blocks, self.results):
            table = (answers_html(res) + _posterior_pictures(res)) if res else ""
            # counterfactual identification also shows its counterfactual graph
            table += "".join(r.graph.svg(title=f"counterfactual graph of {r.query}") for r in res
                             if hasattr(r, "rule") and hasattr(getattr(r, "graph", None), "svg"))
            rows.append('<div class="cdsl-block" style="display:flex;flex-wrap:wrap;gap:24px;'
                        f'align-items:flex-start">{"".join(self._svgs(block))}<div>{table}</div></div>')
        return '<div class="cdsl-output">' + "".join(rows) + "</div>"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": repr(self), "image/svg+xml": self._repr_svg_(), "text/html": self._repr_html_()}


def _posterior_pictures(results: list) -> str:
    """The picture of each answer over a posterior (a fitted model's): its posterior, interval marked."""
    svgs = [r.svg() for r in results if getattr(r, "interval", None) is not None and hasattr(r, "svg")]
    return (f'<div class="cdsl-posteriors" style="display:flex;flex-wrap:wrap;gap:8px">{"".join(svgs)}</div>'
            if svgs else "")


def stack_svgs(svgs: list[str]) -> str:
    """Several SVG documents one above the other, as one SVG (nested ``<svg>`` elements).

    >>> s = stack_svgs(['<svg width="10" height="5"></svg>', '<svg width="20" height="7"></svg>'])
    >>> s.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="12"')
    True
    """
    if len(svgs) == 1:
        return svgs[0]
    y = 0.0
    width = 0.0
    inner = []
    for s in svgs:
        w = float(re.search(r'width="([\d.]+)"', s).group(1))
        h = float(re.search(r'height="([\d.]+)"', s).group(1))
        inner.append(s.replace("<svg ", f'<svg x="0" y="{y:g}" ', 1))
        y += h
        width = max(width, w)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{y:g}" '
            f'viewBox="0 0 {width:g} {y:g}">' + "".join(inner) + "</svg>")


# ------------------------------------------------------------------ argument parsers
@magic_arguments()
@argument("name", nargs="?", help="name of the model (with several blocks: the one that %%causal lines use)")
@argument("--seed", type=int, default=None, help="Monte Carlo seed")
@argument("--method", choices=["exact", "monte-carlo"], default=None, help="force an engine")
@argument("--samples", type=int, default=None, help="Monte Carlo draws per query")
@argument("--quiet", action="store_true", help="define the models, show nothing")
def _cell_args(line):
    """%%causal [NAME] [--seed N] [--method exact|monte-carlo] [--samples N] [--quiet]"""


@magic_arguments()
@argument("-m", "--model", default=None, help="the model to ask (default: the last one defined)")
@argument("--seed", type=int, default=None, help="Monte Carlo seed")
@argument("--method", choices=["exact", "monte-carlo"], default=None, help="force an engine")
@argument("--samples", type=int, default=None, help="Monte Carlo draws per query")
def _line_args(line):
    """%causal [-m NAME] [--seed N] [--method M] [--samples N] QUERY"""


_OPTION = re.compile(r"\s*(-m|--model|--seed|--method|--samples)(?:\s*=\s*|\s+)(\S+)")


def split_options(line: str) -> tuple[str, str, int]:
    """The option prefix of a ``%causal`` line, the query text, and where the query starts.

    Options are read only at the front, so the query itself is never parsed as
    shell words (``-`` and quotes in it stay as written).

    >>> split_options("-m smoking --seed 3 P(y = -1 | do(x = 1))")
    ('-m smoking --seed 3', 'P(y = -1 | do(x = 1))', 20)
    """
    pos = 0
    while True:
        m = _OPTION.match(line, pos)
        if not m:
            break
        pos = m.end()
    rest = line[pos:]
    start = pos + len(rest) - len(rest.lstrip())
    return line[:pos].strip(), line[start:].rstrip(), start


class UsageError(CausalDSLError):
    """A magic line that cannot be read (bad options)."""


_CELL_OPTIONS = "NAME, --seed N, --method exact|monte-carlo, --samples N, --quiet"
_LINE_OPTIONS = "-m NAME, --seed N, --method exact|monte-carlo, --samples N"


def _parse(parser_fn, line: str, usage: str):
    """The options of a magic line, or a :class:`UsageError` that names the bad one and lists the valid ones.

    >>> try:
    ...     _parse(_cell_args, "--sed 3", _CELL_OPTIONS)
    ... except UsageError as err:
    ...     print(err)
    unknown option '--sed' (did you mean '--seed'?)
    hint: options of %%causal: NAME, --seed N, --method exact|monte-carlo, --samples N, --quiet
    """
    try:
        return parse_argstring(parser_fn, line)
    except BaseException as exc:  # UsageError or SystemExit from argparse: report without a traceback
        if not isinstance(exc, (Exception, SystemExit)):
            raise
        magic = "%%causal" if parser_fn is _cell_args else "%causal"
        raise UsageError(_usage_message(str(exc), usage), hint=f"options of {magic}: {usage}") from None


def _usage_message(text: str, usage: str) -> str:
    """argparse's complaint in the words of the magic (no parser names, no usage block)."""
    text = text.strip().splitlines()[-1] if text.strip() else "the options cannot be read"
    text = re.sub(r"^.*?error:\s*", "", text)
    unknown = re.match(r"unrecognized arguments?: (.*)", text)
    if unknown:
        word = unknown.group(1).split()[0]
        known = re.findall(r"--?[a-z]+", usage)
        near = did_you_mean(word, known)
        return f"unknown option '{word}'" + (f" ({near})" if near else "")
    return text.replace("argument ", "option ")


def _refuse_name(name: str, reserved, span=None, source: Optional[str] = None) -> None:
    """A block name the user's namespace cannot take: a keyword, a builtin, or one IPython keeps.

    >>> _refuse_name("smoking", set())
    >>> _refuse_name("__builtins__", set())
    Traceback (most recent call last):
        ...
    causaldsl.language.errors.DuplicateDefinitionError: the name '__builtins__' is Python's own: binding it would break the notebook
    hint: rename the model, e.g. '__builtins___model'
    """
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        why = "a Python keyword"
    elif name in vars(builtins) or (name.startswith("__") and name.endswith("__")):
        why = "Python's own"
    elif name in reserved:
        why = "one IPython keeps for itself"
    else:
        return
    raise DuplicateDefinitionError(f"the name '{name}' is {why}: binding it would break the notebook",
                                   span=span, source=source, hint=f"rename the model, e.g. '{name}_model'")


@magics_class
class CausalMagics(Magics):
    """The ``%%causal`` and ``%causal`` magics (one instance per shell)."""

    def __init__(self, shell=None):
        super().__init__(shell)
        self.last = None  # the model (or graph) %causal lines ask by default
        self.defined: dict[str, object] = {}  # every block defined by a %%causal cell, by name

    @no_var_expand
    @line_cell_magic
    def causal(self, line: str, cell: Optional[str] = None):
        """Models and queries in the causaldsl language (see the module docstring)."""
        if cell is None:
            return self._line(line)
        return self._cell(line, cell)

    # ------------------------------------------------------------------ %%causal
    def _cell(self, line: str, cell: str):
        from ..api import CausalModel, program

        header = f"%%causal {line}".rstrip()
        full = header + "\n" + cell
        args = _parse(_cell_args, line, _CELL_OPTIONS)
        reserved = set(getattr(self.shell, "user_ns_hidden", {}) or {})
        if args.name is not None:
            _refuse_name(args.name, reserved)
        try:
            blocks = program(cell, check_queries=False)
            for b in blocks:
                _refuse_name(b.name, reserved, _name_span(b, cell), cell)
            if not blocks:
                raise QueryError("the cell holds no model or graph", line=1, column=1, source=cell,
                                 hint="write a block such as: model m { x ~ Bernoulli(0.5) }")
            chosen = blocks[-1]
            if args.name is not None:
                named = [b for b in blocks if b.name == args.name]
                if named:
                    chosen = named[0]
                elif len(blocks) > 1:
                    raise UnknownNameError(f"the cell defines no block named '{args.name}'",
                                           hint=did_you_mean(args.name, [b.name for b in blocks])
                                           or "blocks are: " + ", ".join(b.name for b in blocks))
            results = []
            for b in blocks:
                if isinstance(b, CausalModel):
                    results.append(list(b.answers(method=args.method, seed=args.seed, samples=args.samples)))
                else:
                    results.append(b.run())
        except CausalDSLError as err:
            # Positions are counted from the %%causal line, so the first body line is line 2.
            raise relocate(err, full, 1) from None
        bound = [_as_written(b) for b in blocks]  # a cell that fits binds the fitted model
        chosen = bound[blocks.index(chosen)]
        ns = self.shell.user_ns if self.shell is not None else {}
        for b in bound:
            ns[b.name] = b
            self.defined[b.name] = b
        if args.name is not None and len(blocks) == 1:
            ns[args.name] = chosen
            self.defined[args.name] = chosen
        self.last = chosen
        failed = [r for rows in results for r in rows if isinstance(r, CausalDSLError)]
        out = None if args.quiet else CellOutput(bound, results)
        if failed:
            # Show every answer, then fail the cell (CI stops here) with the first failure, located.
            if out is not None:
                from IPython.display import display

                display(out)
            raise relocate(failed[0], full, 1) from None
        return out

    # ------------------------------------------------------------------ %causal
    def _find(self, name: Optional[str]):
        if name is None:
            if self.last is None:
                raise QueryError("no model yet", hint="define one in a %%causal cell, or name one with -m NAME")
            return self.last
        ns = self.shell.user_ns if self.shell is not None else {}
        obj = ns.get(name)
        if obj is not None and (hasattr(obj, "query") and hasattr(obj, "name")):
            return obj
        if name in self.defined:
            return self.defined[name]
        known = sorted(set(self.defined) | {k for k, v in ns.items()
                                            if not k.startswith("_") and hasattr(v, "ir") and hasattr(v, "query")})
        raise UnknownNameError(f"no model named '{name}'",
                               hint=did_you_mean(name, known) or ("models are: " + ", ".join(known) if known
                                                                  else "define one in a %%causal cell"))

    def _line(self, line: str):
        text = line.strip()
        words = text.split(None, 1)
        if words and words[0] == "explore":
            from .explore import explore

            rest = words[1].split() if len(words) > 1 else []
            model = self._find(rest[0] if rest else None)
            outcome = rest[1] if len(rest) > 1 else None
            return explore(model, outcome=outcome)
        prefix, query, start = split_options(line)
        args = _parse(_line_args, prefix, _LINE_OPTIONS)
        model = self._find(args.model)
        shown = "%causal " + line
        offset = len("%causal ")
        if query.startswith("twin ") or query == "twin":
            from .twin import twin_network

            q = query[len("twin"):].strip()
            try:
                return twin_network(model, q)
            except CausalDSLError as err:
                raise relocate(err, shown, 0, offset + start + len(query) - len(q)) from None
        shows = {"explain": lambda q: model.explain(q), "numpyro": lambda q: model.numpyro_source(q or None),
                 "derivation": lambda q: model.identify(q).derivation}
        word = query.split(None, 1)[0] if query else ""
        if word in shows and hasattr(model, "ir") or word == "derivation":
            q = query[len(word):].strip()
            try:
                return shows[word](q)
            except CausalDSLError as err:
                raise relocate(err, shown, 0, offset + start + len(query) - len(q)) from None
        if not query:
            raise UsageError("no query on the line", line=1, column=len(shown) + 1, source=shown,
                              hint="e.g. %causal P(y = 1 | do(x = 1))")
        try:
            if hasattr(model, "ir"):
                return model.query(query, method=args.method, seed=args.seed, samples=args.samples)
            return model.query(query)
        except CausalDSLError as err:
            raise relocate(err, shown, 0, offset + start) from None


def _as_written(block):
    """The model a cell binds: fitted where the cell fits it (the unfitted one if the fit failed: the cell fails)."""
    if not hasattr(block, "fitted"):
        return block
    try:
        return block.fitted()
    except CausalDSLError:
        return block


def _name_span(block, source: str):
    """Where a block's name is written (the block's own position when the name cannot be found)."""
    from ..language.errors import Span

    for i, text in enumerate(source.splitlines()):
        m = re.match(r"\s*(?:model|graph)\s+([^\s{]+)", text)
        if m and m.group(1) == block.name:
            return Span(i + 1, m.start(1) + 1, m.start(1) + 1 + len(block.name))
    return None


def load_ipython_extension(ip) -> None:
    """Register the magics (``%load_ext causaldsl``)."""
    ip.register_magics(CausalMagics)


def unload_ipython_extension(ip) -> None:
    """Nothing to undo beyond IPython's own bookkeeping; kept so ``%reload_ext`` works."""
