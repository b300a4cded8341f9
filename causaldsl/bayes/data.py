"""Data for fitting: columns matched to the model's variables, checked and coded.

Each observed variable needs a column of the same name. A cell that is empty,
``NA`` or ``NaN`` is unobserved for that row; a latent variable needs no column.
Level names become codes, booleans become 0/1. Every mistake names the column
and a row, and points at the variable's statement in the model.

>>> import causaldsl as cd
>>> m = cd.model("model m {\\n w ~ Categorical(sun: 0.7, rain: 0.3)\\n}")
>>> ds = prepare(m.ir, {"w": ["rain", "sun", None]})
>>> ds.columns["w"].tolist(), ds.rows
([1.0, 0.0, nan], 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..language.errors import DataError, did_you_mean
from ..model.ir import Model, Node

_MISSING = {"", "na", "nan", "null", "none", "n/a"}
_TRUE, _FALSE = {"true", "yes"}, {"false", "no"}
# Supports that do not depend on parameters: a value outside is impossible under any parameters.
_SUPPORT = {
    "Exponential": (lambda x: x >= 0, "values >= 0"),
    "Gamma": (lambda x: x > 0, "values > 0"),
    "LogNormal": (lambda x: x > 0, "values > 0"),
    "HalfNormal": (lambda x: x >= 0, "values >= 0"),
    "Beta": (lambda x: (x > 0) & (x < 1), "values strictly between 0 and 1"),
    "Poisson": (lambda x: (x >= 0) & (x == np.round(x)), "whole numbers >= 0"),
}


@dataclass(frozen=True)
class Dataset:
    """Coded columns (NaN where unobserved), one per variable with data."""

    columns: dict[str, np.ndarray]
    rows: int
    ignored: tuple[str, ...] = ()
    origin: str = "data"

    def observed(self, name: str) -> np.ndarray:
        """Boolean mask of the rows where ``name`` has a value."""
        col = self.columns.get(name)
        return np.zeros(self.rows, bool) if col is None else ~np.isnan(col)


def read_table(data: Any) -> tuple[dict[str, np.ndarray], str]:
    """Raw columns (object or float arrays) of a DataFrame, a CSV path or a mapping."""
    if isinstance(data, (str, Path)):
        import pandas as pd

        path = Path(data)
        if not path.exists():
            raise DataError(f"no such data file: {path}", hint="pass a CSV path, a DataFrame or a dict of columns")
        try:
            df = pd.read_csv(path, skipinitialspace=True)
        except Exception as exc:  # pandas' parser errors carry the line; keep its words
            raise DataError(f"cannot read {path.name} as CSV: {exc}",
                            hint="a CSV file whose first row names the columns") from None
        return {str(c).strip(): df[c].to_numpy() for c in df.columns}, path.name
    if hasattr(data, "columns") and hasattr(data, "__getitem__"):
        return {str(c): np.asarray(data[c]) for c in data.columns}, "the DataFrame"
    if isinstance(data, Mapping):
        cols = {str(k): np.asarray(v) for k, v in data.items()}
        lengths = {k: len(v) for k, v in cols.items()}
        if len(set(lengths.values())) > 1:
            raise DataError("columns have different lengths: "
                            + ", ".join(f"{k} ({n})" for k, n in lengths.items()),
                            hint="give every column one value per row (None where unobserved)")
        return cols, "the data"
    raise DataError(f"cannot read data from {type(data).__name__}",
                    hint="pass a pandas DataFrame, a CSV path, or a dict of column arrays")


def prepare(ir: Model, data: Any, source: str = "") -> Dataset:
    """Match ``data`` to the variables of ``ir`` and code every value (see the module doc)."""
    raw, origin = read_table(data)
    rows = len(next(iter(raw.values()))) if raw else 0
    if rows == 0:
        raise DataError(f"{origin} has no rows", hint="fit needs at least one observation")
    columns: dict[str, np.ndarray] = {}
    for node in ir.nodes:
        if node.name not in raw:
            if node.latent:
                continue
            raise DataError(f"column '{node.name}' is missing from {origin}", span=node.span,
                            source=source or ir.source,
                            hint=(did_you_mean(node.name, list(raw)) or "columns are: " + ", ".join(list(raw)[:12]))
                            + f"; if '{node.name}' is never observed, declare it: latent {node.text or node.name}")
        columns[node.name] = _code(node, raw[node.name], origin, source or ir.source)
    ignored = tuple(c for c in raw if c not in columns)
    return Dataset(columns, rows, ignored, origin)


def _code(node: Node, col: np.ndarray, origin: str, source: str) -> np.ndarray:
    if col.dtype.kind in "biuf":  # numbers already (NaN: unobserved); only text needs a look per cell
        out = col.astype(float)
    else:
        out = np.empty(len(col), dtype=float)
        for i, v in enumerate(col):
            out[i] = _cell(node, v, i, origin, source)
    present = out[~np.isnan(out)]
    if node.domain is not None:
        dom = np.asarray(node.domain)
        ok = np.isclose(present[:, None], dom[None, :], atol=1e-9).any(axis=1)
        if not ok.all():
            row = int(np.flatnonzero(~np.isnan(out))[np.argmin(ok)])
            vals = ", ".join(node.levels) if node.levels else ", ".join(f"{d:g}" for d in node.domain[:12])
            raise _bad(node, f"{out[row]:g} is not a value of '{node.name}'", row, origin, source,
                       f"'{node.name}' takes {vals}")
        return out
    fam_support = _SUPPORT.get(node.family or "")
    if fam_support is not None and present.size:
        test, words = fam_support
        ok = test(present)
        if not np.all(ok):
            row = int(np.flatnonzero(~np.isnan(out))[np.argmin(ok)])
            raise _bad(node, f"{out[row]:g} is impossible for '{node.name}' ({node.family} takes {words})",
                       row, origin, source, "check the column, or change the variable's distribution")
    return out


def _cell(node: Node, v, row: int, origin: str, source: str) -> float:
    if v is None:
        return math.nan
    if isinstance(v, (bool, np.bool_)):
        return float(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)  # NaN stays NaN: unobserved
    text = str(v).strip()
    if text.lower() in _MISSING:
        return math.nan
    if node.levels:
        if text in node.levels:
            return float(node.levels.index(text))
        guess = did_you_mean(text, node.levels)
        raise _bad(node, f"'{text}' is not a level of '{node.name}'", row, origin, source,
                   (guess + "; " if guess else "") + "levels are: " + ", ".join(node.levels))
    try:
        return float(text)
    except ValueError:
        pass
    if node.domain == (0.0, 1.0) and text.lower() in _TRUE | _FALSE:
        return 1.0 if text.lower() in _TRUE else 0.0
    kind = "discrete values " + ", ".join(f"{d:g}" for d in node.domain[:8]) if node.domain else "numbers"
    raise _bad(node, f"column '{node.name}' holds text ('{text}') where a number is expected", row, origin,
               source, f"'{node.name}' takes {kind}; give it named levels with Categorical(a: ..., b: ...) "
                       "or recode the column")


def _bad(node: Node, what: str, row: int, origin: str, source: str, hint: str) -> DataError:
    where = f"row {row + 1} of {origin}"
    if origin.endswith(".csv"):
        where += f" (line {row + 2})"
    return DataError(f"column '{node.name}', {where}: {what}", span=node.span, source=source, hint=hint)
