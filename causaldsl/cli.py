"""Command line: ``causaldsl run FILE`` answers every query, ``causaldsl check FILE`` only checks.

Exit status: 0 on success, 1 on a mistake in the model or a query, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from .errors import CausalDSLError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="causaldsl", description="Structural causal models and their queries.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="answer every query in FILE")
    run.add_argument("file", type=Path)
    run.add_argument("--method", choices=["exact", "monte-carlo"], help="force an engine")
    run.add_argument("--seed", type=int, default=None, help="Monte Carlo seed (default 0)")
    run.add_argument("--samples", type=int, default=None, help="Monte Carlo draws per query")
    check = sub.add_parser("check", help="check FILE for mistakes without answering")
    check.add_argument("file", type=Path)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    from . import api

    args = _parser().parse_args(argv)
    try:
        source = args.file.read_text()
    except OSError as err:
        print(f"causaldsl: cannot read {args.file}: {err.strerror}", file=sys.stderr)
        return 2
    try:
        if args.command == "check":
            models = api.program(source, args.file.parent)
            n = sum(len(m.queries) for m in models)
            print(f"{args.file}: ok ({len(models)} model(s), {n} quer{'y' if n == 1 else 'ies'})")
            return 0
        print(api.report(source, args.file.parent, method=args.method, seed=args.seed, samples=args.samples))
        return 0
    except CausalDSLError as err:
        print(f"{args.file}:{err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
