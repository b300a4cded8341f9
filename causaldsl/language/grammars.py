"""Grammar loading: the Lark grammars shipped with the package (``grammar/*.lark`` in the
source tree, ``causaldsl/grammar/*.lark`` in a wheel)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def grammar_text(name: str) -> str:
    """The text of grammar ``name`` (``"causal.lark"``, ``"dagitty.lark"``), from the installed
    package or the source tree.

    >>> grammar_text("dagitty.lark").startswith("//") or "start" in grammar_text("dagitty.lark")
    True
    """
    try:
        packaged = resources.files("causaldsl").joinpath("grammar", name)
        if packaged.is_file():
            return packaged.read_text()
    except (FileNotFoundError, ModuleNotFoundError):  # pragma: no cover
        pass
    return (Path(__file__).resolve().parents[2] / "grammar" / name).read_text()
