"""Copy the bnlearn table (``benchmarks/results/bnlearn.json``, rendered by ``report.py``) into
README.md, between its markers, so that a re-run updates the README.

    python -m benchmarks.bnlearn.readme                 # the full run's results
    python -m benchmarks.bnlearn.readme --results benchmarks/results/bnlearn_quick.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .report import markdown

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- bnlearn-table:start (python -m benchmarks.bnlearn.readme) -->", "<!-- bnlearn-table:end -->"


def replace_between(text: str, body: str) -> str:
    """``text`` with what lies between the markers replaced by ``body``.

    >>> replace_between(f"a\\n{START}\\nold\\n{END}\\nb", "new")
    'a\\n<!-- bnlearn-table:start (python -m benchmarks.bnlearn.readme) -->\\nnew\\n<!-- bnlearn-table:end -->\\nb'
    """
    i, j = text.index(START) + len(START), text.index(END)
    return text[:i] + "\n" + body.strip() + "\n" + text[j:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default=str(ROOT / "benchmarks" / "results" / "bnlearn.json"))
    ap.add_argument("--readme", default=str(ROOT / "README.md"))
    args = ap.parse_args(argv)
    body = markdown(json.loads(Path(args.results).read_text()))
    readme = Path(args.readme)
    readme.write_text(replace_between(readme.read_text(), body))
    print(f"README table updated from {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
