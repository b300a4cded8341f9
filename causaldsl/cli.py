"""Command line: ``causaldsl run FILE`` answers every query, ``causaldsl check FILE`` only checks.

``run`` prints each answer as soon as it is ready, one line per query. A query
that fails prints its error in its place (and the located error on stderr), and
the next query is still answered. Mistakes are reported as
``FILE:LINE:COLUMN: ErrorClass: message``, then the source line with a caret
and the hint, so that editors can jump to them.

Exit status: 0 on success, 1 on a mistake in the model or a query (or any
query that failed), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Sequence, TextIO

from .language.errors import CausalDSLError, CausalSyntaxError


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="causaldsl", description="Structural causal models and their queries.")
    p.add_argument("--version", action="version", version=f"causaldsl {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="answer every query in FILE")
    run.add_argument("file", type=Path)
    run.add_argument("--method", choices=["exact", "monte-carlo"], help="force an engine")
    run.add_argument("--seed", type=int, default=None, help="Monte Carlo seed (default 0)")
    run.add_argument("--samples", type=int, default=None, help="Monte Carlo draws per query")
    run.add_argument("--derivation", action="store_true",
                     help="under each identify answer, print its derivation step by step")
    check = sub.add_parser("check", help="check FILE for mistakes without answering")
    check.add_argument("file", type=Path)
    explain = sub.add_parser("explain", help="show how QUERY is answered (an identify query: its derivation)")
    explain.add_argument("file", type=Path)
    explain.add_argument("query")
    explain.add_argument("--model", help="which model of FILE (default: the only one)")
    src = sub.add_parser("numpyro", help="print the model, or the program answering QUERY, as NumPyro source")
    src.add_argument("file", type=Path)
    src.add_argument("query", nargs="?")
    src.add_argument("--model", help="which model of FILE (default: the only one)")
    return p


def located(err: CausalDSLError, file: object) -> str:
    """``FILE:LINE:COL: ErrorClass: message`` and the rest of the error (source line, caret, hint).

    >>> from causaldsl.language.errors import UnknownNameError
    >>> print(located(UnknownNameError("unknown variable 'xx'", line=2, column=4, source="m\\nab xx", hint="h"), "f.causal"))
    f.causal:2:4: UnknownNameError: unknown variable 'xx'
    ab xx
       ^
    hint: h
    """
    text = str(err)
    where = f"{file}"
    if err.line is not None:
        prefix = f"line {err.line}" + (f", column {err.column}" if err.column is not None else "") + ": "
        if text.startswith(prefix):
            text = text[len(prefix):]
        where += f":{err.line}" + (f":{err.column}" if err.column is not None else "")
    return f"{where}: {type(err).__name__}: {text}"


def read_source(path: Path) -> str:
    """The text of a ``.causal`` file; bytes that are not UTF-8 are a located :class:`CausalSyntaxError`.

    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("wb", suffix=".causal", delete=False) as f:
    ...     _ = f.write(b"model m {\\n x ~ Bernoulli(0.5) \\xff\\n}\\n")
    >>> try:
    ...     read_source(Path(f.name))
    ... except CausalSyntaxError as err:
    ...     print(err.line, err.column, err.message)
    2 21 byte 0xff is not UTF-8 text
    >>> os.unlink(f.name)
    """
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = before.count(b"\n") + 1
        start = before.rfind(b"\n") + 1
        column = len(before[start:].decode("utf-8", errors="replace")) + 1
        shown = data.decode("utf-8", errors="replace")
        raise CausalSyntaxError(f"byte 0x{data[exc.start]:02x} is not UTF-8 text", line=line, column=column,
                                source=shown, hint="save the file as UTF-8") from None


def _emit(text: str, out: TextIO) -> None:
    print(text, file=out, flush=True)


def _run(models: list, args, out: TextIO, err: TextIO) -> int:
    """Answer and print every query, each as soon as it is ready; 1 if any failed."""
    from .api import CausalModel
    from .engines.results import _row

    failed = 0
    for i, m in enumerate(models):
        kind = "model" if isinstance(m, CausalModel) else "graph"
        _emit(("\n" if i else "") + f"{kind} {m.name}", out)
        if not m.queries:
            _emit("(no queries)", out)
            continue
        width = max(len(q.text or "") for q in m.queries)
        answers = (m.answers(method=args.method, seed=args.seed, samples=args.samples)
                   if isinstance(m, CausalModel) else m.run())
        for r in answers:
            query, answer, method = _row(r)
            if isinstance(r, CausalDSLError):
                failed += 1
                _emit(f"{query.ljust(width)}  error: {r.message}", out)
                _emit(located(r, args.file), err)
            else:
                _emit(f"{query.ljust(width)}  {answer}" + (f"  [{method}]" if method else ""), out)
                if getattr(args, "derivation", False) and hasattr(r, "derivation"):
                    _emit(_indent(r.derivation.text), out)
                cfg = getattr(r, "graph", None)
                if hasattr(cfg, "text") and hasattr(r, "rule"):  # counterfactual identification shows its graph
                    _emit("  counterfactual graph:\n" + "\n".join("    " + ln for ln in cfg.text.splitlines()), out)
    return 1 if failed else 0


def _pick(models: list, name: Optional[str]):
    """The model (or graph) ``name`` of the file, or its only one."""
    from .language.errors import UnknownNameError, did_you_mean

    if name is None and len(models) == 1:
        return models[0]
    names = [m.name for m in models]
    for m in models:
        if m.name == name:
            return m
    hint = (did_you_mean(name, names) if name else None) or "pick one with --model NAME: " + ", ".join(names)
    raise UnknownNameError(f"no model named '{name}'" if name else f"the file holds {len(models)} models", hint=hint)


def _show(m, args) -> str:
    """The text of ``causaldsl explain`` / ``causaldsl numpyro``."""
    from .language import syntax as S
    from .language.parser import parse_query

    if args.command == "numpyro":
        return str(m.numpyro_source(args.query)) if hasattr(m, "numpyro_source") else _no_program(m)
    q = parse_query(args.query)
    if isinstance(q, S.IdentifyQuery) or not hasattr(m, "explain"):
        return m.identify(q.query if isinstance(q, S.IdentifyQuery) else q, args.query).derivation.text
    return m.explain(args.query).text


def _no_program(m) -> str:
    from .language.errors import QueryError

    raise QueryError(f"'{m.name}' is a graph: it has no mechanisms to write as a program",
                     hint="write a model block to get its NumPyro program")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _check(models: list, file: Path, out: TextIO) -> int:
    from .language import syntax as S

    fits = sum(isinstance(q, S.FitStmt) for m in models for q in m.queries)
    n = sum(len(m.queries) for m in models) - fits
    what = f"{len(models)} model(s), {n} quer{'y' if n == 1 else 'ies'}"
    if fits:
        what += f", {fits} fit{'s' if fits > 1 else ''}"
    _emit(f"{file}: ok ({what})", out)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    from . import api
    from .engines.compilation_cache import ENV
    from .engines.config import settings

    args = _parser().parse_args(argv)
    if ENV not in os.environ:  # the command owns its process: a second run reads its compiled programs from disk
        settings.compilation_cache = True
    try:
        source = read_source(args.file)
    except OSError as exc:
        print(f"causaldsl: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except CausalDSLError as exc:
        print(located(exc, args.file), file=sys.stderr)
        return 1
    try:
        if args.command == "check":
            problems: list = []
            models = api.check(source, args.file.parent, problems)
            for exc in problems:
                print(located(exc, args.file), file=sys.stderr)
            return 1 if problems else _check(models, args.file, sys.stdout)
        models = api.program(source, args.file.parent, check_queries=False)
        if args.command in ("explain", "numpyro"):
            _emit(_show(_pick(models, args.model), args), sys.stdout)
            return 0
        return _run(models, args, sys.stdout, sys.stderr)
    except CausalDSLError as exc:
        print(located(exc, args.file), file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
