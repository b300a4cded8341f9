"""Numbers from an :class:`~causaldsl.graphs.estimand.Estimand`: on a model, or from data.

* :func:`evaluate_on_model` computes the estimand from a discrete model's own
  observational distribution (exactly), which must equal the model's
  interventional answer: the project's strongest self-check.
* :func:`estimate_from_data` computes it from a data set: plug-in estimation with
  a bootstrap interval for discrete data, linear back-door adjustment (least
  squares) for continuous data.

The model is taken as an object with ``ir`` and ``query`` (a
:class:`~causaldsl.api.CausalModel`), so this module sits below the faces.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import numpy as np

from ..language.errors import MethodError, QueryError, ZeroProbabilityError


def _numeric(v):
    """Level names stay strings; numbers become floats (so 1 and 1.0 match)."""
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return float(v)
    return v


def evaluate_on_model(est, model, values: Optional[Mapping[str, Any]] = None):
    """The estimand computed exactly from ``model``'s observational distribution."""
    # Any object that answers queries over an IR will do; importing CausalModel would point upwards.
    if not (hasattr(model, "ir") and callable(getattr(model, "query", None))):
        raise QueryError("evaluate() takes a causaldsl model", hint="pass the model, e.g. est.evaluate(m)")
    if not est.identifiable:
        raise QueryError(f"{est.query} is not identifiable, so it has no formula to evaluate", hint=est.reason)

    variables = sorted(set(est.variables) | set(est.outcomes + est.treatments + est.conditions))
    for v in variables:
        if not model.ir[v].finite:
            raise MethodError(f"evaluate() computes the estimand exactly, and '{v}' is continuous",
                              hint="use a discrete model, or est.estimate(data) on samples: "
                                   "m.sample(100_000) gives a data set")
    joint = model.query("P(" + ", ".join(variables) + ")").value
    if len(variables) == 1:
        joint = {(k,): p for k, p in joint.items()}
    domains = {v: _labels(model.ir[v]) for v in variables}
    vals = {k: _numeric(v) for k, v in dict(est.values).items()}
    vals.update({k: _numeric(v) for k, v in (values or {}).items()})
    out = est.evaluate_table(variables, domains, joint, vals)
    if np.ndim(out) == 0:
        return float(out)
    # A table over the query's variables that have no value, keyed by their values.
    free = [v for v in est.outcomes + est.treatments + est.conditions if v not in vals]
    return {k if len(free) > 1 else k[0]: float(out[idx])
            for idx, k in zip(np.ndindex(*out.shape), _product([domains[v] for v in free]))}


def _labels(node) -> list:
    return list(node.levels) if node.levels else [float(d) for d in node.domain]


def _product(lists):
    return itertools.product(*lists)


# ------------------------------------------------------------------ data
def load_data(data) -> dict[str, np.ndarray]:
    """Columns of a pandas DataFrame, a CSV path, or a mapping of arrays."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.exists():
            raise QueryError(f"no such data file: {path}", hint="pass a CSV path, a DataFrame or a dict of columns")
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
        if not rows:
            raise QueryError(f"{path} is empty", hint="the first row names the columns")
        header, body = rows[0], rows[1:]
        cols = {}
        for j, name in enumerate(header):
            raw = [r[j] if j < len(r) else "" for r in body]
            try:
                cols[name.strip()] = np.array([float(x) for x in raw])
            except ValueError:
                cols[name.strip()] = np.array([x.strip() for x in raw], dtype=object)
        return cols
    if hasattr(data, "columns") and hasattr(data, "__getitem__"):
        return {str(c): np.asarray(data[c]) for c in data.columns}
    if isinstance(data, Mapping):
        return {str(k): np.asarray(v) for k, v in data.items()}
    raise QueryError(f"cannot read data from {type(data).__name__}",
                     hint="pass a pandas DataFrame, a CSV path, or a dict of column arrays")


@dataclass(frozen=True)
class Estimate:
    """A number estimated from data, with a bootstrap interval and the method used.

    When the query leaves some of its variables free (``P(y | do(x))``), ``value``
    is a table with one axis per free variable: ``axes`` holds each one's name and
    values, and the estimate prints as a labelled table.

    >>> print(Estimate("P(y | do(x))", np.array([[0.8, 0.4], [0.2, 0.6]]), None, "plug-in", 10,
    ...                (("y", (0, 1)), ("x", (0, 1)))))
    P(y | do(x))  [plug-in, 10 rows]
    y  x  estimate
    0  0  0.8
    0  1  0.4
    1  0  0.2
    1  1  0.6
    """

    query: str
    value: Union[float, np.ndarray]
    interval: Optional[tuple]
    method: str
    rows: int
    axes: tuple = ()  # ((name, values), ...): the free variables of a table estimate, in axis order
    draws: Optional[np.ndarray] = None  # method="bayes": posterior draws (last axis), value = their mean
    level: float = 0.95  # the interval's probability

    def __float__(self) -> float:
        return float(self.value)

    @property
    def _interval_name(self) -> str:
        return f"{self.level:.0%} " + ("credible interval" if self.draws is not None else "interval")

    def __str__(self) -> str:
        if np.ndim(self.value) == 0:
            ci = "" if self.interval is None else \
                f"  {self._interval_name} [{self.interval[0]:.4g}, {self.interval[1]:.4g}]"
            return f"{self.query} ≈ {self.value:.6g}{ci}  [{self.method}, {self.rows:,} rows]"
        return f"{self.query}  [{self.method}, {self.rows:,} rows]\n" + self._table()

    def _table(self) -> str:
        value = np.asarray(self.value)
        axes = list(self.axes) or [(f"axis {i}", tuple(range(n))) for i, n in enumerate(value.shape)]
        head = [name for name, _ in axes] + ["estimate"] + ([] if self.interval is None else [self._interval_name])
        rows = [head]
        for idx in np.ndindex(*value.shape):
            row = [_fmt_level(axes[i][1][j]) for i, j in enumerate(idx)] + [f"{value[idx]:.6g}"]
            if self.interval is not None:
                row.append(f"[{np.asarray(self.interval[0])[idx]:.4g}, {np.asarray(self.interval[1])[idx]:.4g}]")
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _fmt_level(v) -> str:
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def _is_continuous(col: np.ndarray) -> bool:
    if col.dtype == object:
        return False
    vals = np.unique(col[~np.isnan(col)])
    return len(vals) > 20 or not np.all(vals == np.round(vals))


METHODS = ("plug-in", "bayes")


def estimate_from_data(est, data, values: Optional[Mapping[str, Any]] = None, *, method: str = "plug-in",
                       bootstrap: int = 200, seed: int = 0, draws: int = 2000, prior: float = 1.0,
                       level: float = 0.95) -> Estimate:
    """Estimate ``est`` from observed data (see the module docstring).

    ``method="plug-in"``: the formula on the empirical joint, with a ``bootstrap`` percentile
    interval. ``method="bayes"``: the formula under a Dirichlet posterior over the observed
    joint (discrete columns only): ``draws`` joints from ``Dirichlet(counts + prior)``, one
    value of the formula per draw; the estimate is the posterior mean, the interval the
    central ``level`` credible interval, and ``.draws`` holds the draws.
    """
    if method not in METHODS:
        raise MethodError(f"unknown estimation method {method!r}", hint="method = \"plug-in\" or \"bayes\"")
    if not est.identifiable:
        raise QueryError(f"{est.query} is not identifiable, so no data set can estimate it", hint=est.reason)
    if not 0 < level < 1:
        raise QueryError(f"level = {level} is not a probability strictly between 0 and 1", hint="e.g. level = 0.9")

    cols = load_data(data)
    counterfactual = hasattr(est, "gamma")
    needed = sorted(set(est.variables) | (set() if counterfactual else
                                          set(est.outcomes + est.treatments + est.conditions)))
    for v in needed:
        if v not in cols:
            raise QueryError(f"the data have no column '{v}'", hint="columns are: " + ", ".join(cols))
    n = len(next(iter(cols.values())))
    vals = {} if counterfactual else {k: _numeric(v) for k, v in dict(est.values).items()}
    vals.update({k: _numeric(v) for k, v in (values or {}).items()})
    rng = np.random.default_rng(seed)
    if any(_is_continuous(cols[v]) for v in needed):
        if method == "bayes" or counterfactual:
            v = next(v for v in needed if _is_continuous(cols[v]))
            raise MethodError(f"{'Bayesian' if method == 'bayes' else 'this'} estimation of {est.query} needs "
                              f"discrete columns, and '{v}' looks continuous (more than 20 values, or fractions)",
                              hint="discretise the column (e.g. numpy.digitize), or use method = \"plug-in\" "
                                   "on a back-door query, which fits a linear adjustment")
        return _linear_backdoor(est, cols, vals, n, bootstrap, rng)
    if method == "bayes" or counterfactual:
        return _discrete(est, cols, needed, vals, n, rng, method, bootstrap, draws, prior, level)
    for v in needed:
        col = cols[v]
        if col.dtype != object and np.isnan(col).any():
            raise QueryError(f"column '{v}' has missing values (row {int(np.argmax(np.isnan(col))) + 2})",
                             hint="drop or impute the rows with missing values first")
    data_cols = [np.array([_numeric(x) for x in cols[v]], dtype=object) for v in needed]
    domains = {v: sorted(set(c.tolist()), key=lambda x: (isinstance(x, str), x)) for v, c in zip(needed, data_cols)}
    codes = np.stack([np.array([domains[v].index(x) for x in c]) for v, c in zip(needed, data_cols)], axis=1)
    shape = tuple(len(domains[v]) for v in needed)

    def plug_in(rows):
        joint = np.zeros(shape)
        np.add.at(joint, tuple(rows.T), 1.0)
        return est.evaluate_table(needed, domains, joint / len(rows), vals)

    value = plug_in(codes)
    samples = []
    for _ in range(bootstrap):
        try:
            samples.append(plug_in(codes[rng.integers(0, n, n)]))
        except ZeroProbabilityError:
            continue  # a resample that misses a needed cell says nothing about the interval
    interval = None
    if len(samples) >= max(20, bootstrap // 2):
        lo, hi = np.percentile(np.asarray(samples), [2.5, 97.5], axis=0)
        interval = (lo, hi) if np.ndim(value) == 0 else (np.asarray(lo), np.asarray(hi))
    method = f"plug-in ({est.rule}), bootstrap {len(samples)}/{bootstrap}"
    label = est.query + (" at " + ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                                            for k, v in vals.items()) if vals else "")
    # The table's axes: the query's variables left free, in evaluate_table's order.
    free = [v for v in est.outcomes + est.treatments + est.conditions if v not in vals]
    axes = tuple((v, tuple(domains[v])) for v in free) if np.ndim(value) == len(free) else ()
    return Estimate(label, value, interval, method, n, axes)


def _linear_backdoor(est, cols, vals, n, bootstrap, rng) -> Estimate:
    if est.rule != "back-door" or len(est.treatments) != 1 or len(est.outcomes) != 1 or est.conditions:
        raise MethodError(f"continuous data are estimated by linear back-door adjustment, and {est.query} "
                          f"is identified by the {est.rule} rule",
                          hint="discretise the data, or ask a query with a back-door adjustment set")
    x, y = est.treatments[0], est.outcomes[0]
    zs = sorted(est.adjustment or ())
    try:
        X = np.column_stack([np.ones(n), cols[x].astype(float)] + [cols[z].astype(float) for z in zs])
        Y = cols[y].astype(float)
    except ValueError:
        raise QueryError("linear adjustment needs numeric columns", hint="encode categories as numbers") from None
    if np.isnan(X).any() or np.isnan(Y).any():
        raise QueryError("the data have missing values", hint="drop or impute rows with missing values first")

    def fit(idx):
        coef, *_ = np.linalg.lstsq(X[idx], Y[idx], rcond=None)
        if x in vals:  # E[Y | do(X = x)] = a + b x + c . mean(Z)
            return coef[0] + coef[1] * float(vals[x]) + coef[2:] @ X[idx, 2:].mean(axis=0)
        return coef[1]  # the effect of one unit of X

    value = float(fit(np.arange(n)))
    boots = [float(fit(rng.integers(0, n, n))) for _ in range(bootstrap)]
    interval = tuple(np.percentile(boots, [2.5, 97.5])) if boots else None
    what = f"E[{y} | do({x} = {vals[x]:g})]" if x in vals else f"d E[{y} | do({x})] / d{x}"
    adj = ", ".join(zs) if zs else "nothing"
    return Estimate(what, value, interval, f"linear back-door adjustment for {adj} (least squares), "
                    f"bootstrap {bootstrap}", n)


# ------------------------------------------------------------------ Dirichlet posterior
def _codes(cols, needed) -> tuple:
    data_cols = [np.array([_numeric(x) for x in cols[v]], dtype=object) for v in needed]
    for v, c in zip(needed, data_cols):
        if any(isinstance(x, float) and np.isnan(x) for x in c):
            raise QueryError(f"column '{v}' has missing values", hint="drop or impute the rows with missing values first")
    domains = {v: sorted(set(c.tolist()), key=lambda x: (isinstance(x, str), x)) for v, c in zip(needed, data_cols)}
    codes = np.stack([np.array([domains[v].index(x) for x in c]) for v, c in zip(needed, data_cols)], axis=1)
    return domains, codes


def _counts(codes: np.ndarray, shape: tuple) -> np.ndarray:
    joint = np.zeros(shape)
    np.add.at(joint, tuple(codes.T), 1.0)
    return joint


def _per_draw_value(est, needed, domains, joints: np.ndarray, vals):
    """The formula at each joint of a stack (leading axis), in one vectorised evaluation: every
    probability is conditioned on a pseudo-variable that indexes the stack."""
    k = joints.shape[0]
    stacked = joints / k  # P(draw = d, v) = P_d(v) / k, so P(v | draw = d) = P_d(v)
    return est.per_draw_value(needed, domains, stacked, k, vals)


def _discrete(est, cols, needed, vals, n, rng, method, bootstrap, draws, prior, level) -> Estimate:
    if method == "bayes" and (draws < 10 or prior <= 0):
        raise QueryError("method = \"bayes\" needs draws >= 10 and a positive prior",
                         hint="e.g. draws = 2000, prior = 1 (a uniform Dirichlet)")
    domains, codes = _codes(cols, needed)
    shape = tuple(len(domains[v]) for v in needed)
    counts = _counts(codes, shape)
    tail = (1 - level) / 2
    label = est.query + (" at " + ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                                            for k, v in vals.items()) if vals else "")
    free = [] if hasattr(est, "gamma") else [v for v in est.outcomes + est.treatments + est.conditions if v not in vals]
    if method == "bayes":
        alpha = counts.reshape(-1) + prior
        joints = rng.dirichlet(alpha, size=draws).reshape((draws,) + shape)
        samples = _per_draw_value(est, needed, domains, joints, vals)  # draw axis last
        value = samples.mean(axis=-1)
        lo, hi = np.quantile(samples, [tail, 1 - tail], axis=-1)
        value = float(value) if np.ndim(value) == 0 else value
        interval = (float(lo), float(hi)) if np.ndim(lo) == 0 else (lo, hi)
        rule = est.rule
        meth = f"Bayes ({rule}): posterior mean under Dirichlet(counts + {prior:g}), {draws} draws"
        axes = tuple((v, tuple(domains[v])) for v in free) if np.ndim(value) == len(free) else ()
        return Estimate(label, value, interval, meth, n, axes, draws=samples, level=level)
    # plug-in with a bootstrap, for counterfactual estimands (vectorised like the posterior)
    value = float(_per_draw_value(est, needed, domains, (counts / n)[None], vals).reshape(-1)[0])
    boots = np.stack([_counts(codes[rng.integers(0, n, n)], shape) / n for _ in range(bootstrap)])
    try:
        samples = _per_draw_value(est, needed, domains, boots, vals)
        lo, hi = np.quantile(samples, [tail, 1 - tail])
        interval = (float(lo), float(hi))
    except ZeroProbabilityError:
        interval = None  # a resample missed a needed cell
    return Estimate(label, value, interval, f"plug-in ({est.rule}), bootstrap {bootstrap}", n, level=level)
