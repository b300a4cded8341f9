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

from .errors import CausalDSLError, CausalSyntaxError


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
    check = sub.add_parser("check", help="check FILE for mistakes without answering")
    check.add_argument("file", type=Path)
    return p


def located(err: CausalDSLError, file: object) -> str:
    """``FILE:LINE:COL: ErrorClass: message`` and the rest of the error (source line, caret, hint).

    >>> from causaldsl.errors import UnknownNameError
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
    from .results import _row

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
                cfg = getattr(r, "graph", None)
                if hasattr(cfg, "text") and hasattr(r, "rule"):  # counterfactual identification shows its graph
                    _emit("  counterfactual graph:\n" + "\n".join("    " + ln for ln in cfg.text.splitlines()), out)
    return 1 if failed else 0


def _check(models: list, file: Path, out: TextIO) -> int:
    from . import syntax as S

    fits = sum(isinstance(q, S.FitStmt) for m in models for q in m.queries)
    n = sum(len(m.queries) for m in models) - fits
    what = f"{len(models)} model(s), {n} quer{'y' if n == 1 else 'ies'}"
    if fits:
        what += f", {fits} fit{'s' if fits > 1 else ''}"
    _emit(f"{file}: ok ({what})", out)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    from . import api
    from .backends.compilation_cache import ENV
    from .config import settings

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
        return _run(models, args, sys.stdout, sys.stderr)
    except CausalDSLError as exc:
        print(located(exc, args.file), file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
