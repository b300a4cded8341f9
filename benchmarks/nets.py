"""Seeded random networks, described once and built by every system from the same description.

Three families, each a plain-data spec (NumPy only, so every peer can import it):

* :class:`BinaryNet` — binary variables, each with up to 3 earlier parents and a
  conditional probability table (workloads 1, 2, 5);
* :class:`GaussNet` — linear-Gaussian SCM ``v_i = Σ w_ij v_j + s_i ε_i`` (workloads 3, 4);
* the same spec with ``nonlinear=True``: ``v_i = Σ w_ij σ(v_j) + s_i ε_i`` with σ the
  logistic function, an additive-noise SCM that is not linear (workload 4).

Each spec also knows its exact answers (by enumeration-free linear algebra for the
Gaussian nets, by the query's own closed form for one-unit counterfactuals), which
the benchmark uses to check every system before timing is reported.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

import numpy as np


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _ancestors(parents, i: int) -> set[int]:
    out, stack = set(), [i]
    while stack:
        j = stack.pop()
        if j not in out:
            out.add(j)
            stack.extend(parents[j])
    return out


def _pick(n: int, parents) -> tuple[int, int]:
    """(X, Y) with a non-trivial answer: Y the node with the most ancestors (the latest on ties),
    X the ancestor of Y with the fewest ancestors of its own (nearest n/3 on ties), so that
    do(X) cuts off as little of Y's network as possible and every system has work to do."""
    y = max(range(n), key=lambda i: (len(_ancestors(parents, i)), i))
    anc = sorted(_ancestors(parents, y) - {y})
    x = min(anc, key=lambda a: (len(_ancestors(parents, a)), abs(a - n // 3), a))
    return x, y


# ------------------------------------------------------------------ binary networks
@dataclass(frozen=True)
class BinaryNet:
    n: int
    parents: tuple[tuple[int, ...], ...]  # parents[i]: earlier nodes
    p1: tuple[np.ndarray, ...]  # p1[i][k]: P(v_i = 1 | parent config k), k in itertools.product order

    @property
    def names(self) -> list[str]:
        return [f"v{i}" for i in range(self.n)]

    def ancestors(self, i: int) -> set[int]:
        return _ancestors(self.parents, i)

    def query_nodes(self) -> tuple[int, int, int]:
        """(X, Y, E): see :func:`_pick`; E an ancestor of Y before X (so not a descendant of X,
        and P(Y | do(X), E) means the same in every system: pgmpy adjusts for X's parents given E)."""
        x, y = _pick(self.n, self.parents)
        anc = sorted(self.ancestors(y) - {x, y})
        before = [a for a in anc if a < x] or anc
        return x, y, before[len(before) // 2]

    def dsl(self) -> str:
        lines = []
        for i in range(self.n):
            ps = self.parents[i]
            if not ps:
                lines.append(f"v{i} ~ Bernoulli({self.p1[i][0]:.3f})")
                continue
            rows = []
            for k, key in enumerate(itertools.product((0, 1), repeat=len(ps))):
                lhs = f"({', '.join(map(str, key))})" if len(ps) > 1 else str(key[0])
                rows.append(f"{lhs}: {self.p1[i][k]:.3f}")
            lines.append(f"v{i} ~ Bernoulli(table({', '.join(f'v{p}' for p in ps)}) {{ {', '.join(rows)} }})")
        return "model net {\n" + "\n".join("    " + ln for ln in lines) + "\n}\n"


def binary_net(n: int, seed: int = 0) -> BinaryNet:
    """Each node takes up to 3 parents among earlier nodes; probabilities rounded to 3 digits
    (as written in the DSL text) so that every system holds exactly the same numbers."""
    r = random.Random(seed)
    parents, p1 = [], []
    for i in range(n):
        ps = tuple(sorted(r.sample(range(i), min(i, r.randint(0, 3)))))
        parents.append(ps)
        if not ps:
            p1.append(np.array([round(r.uniform(0.1, 0.9), 3)]))
        else:
            p1.append(np.array([round(r.uniform(0.05, 0.95), 3) for _ in range(2 ** len(ps))]))
    return BinaryNet(n, tuple(parents), tuple(p1))


# ------------------------------------------------------------------ additive-noise networks
@dataclass(frozen=True)
class GaussNet:
    n: int
    parents: tuple[tuple[int, ...], ...]
    weights: tuple[np.ndarray, ...]  # weights[i][k]: weight of parents[i][k]
    scale: np.ndarray  # noise standard deviation of each node
    nonlinear: bool = False

    @property
    def names(self) -> list[str]:
        return [f"v{i}" for i in range(self.n)]

    def f(self, i: int, parent_values: list, sigmoid=_sigmoid) -> object:
        """Mechanism of node i without its noise, for arrays of any library (pass its sigmoid)."""
        out = 0.0
        for w, v in zip(self.weights[i], parent_values):
            out = out + float(w) * (sigmoid(v) if self.nonlinear else v)
        return out

    def query_nodes(self) -> tuple[int, int]:
        """(X, Y): see :func:`_pick`."""
        return _pick(self.n, self.parents)

    def sampled(self, x: int, y: int) -> list[int]:
        """The nodes a draw of Y under do(X) needs: Y's ancestors once X's parents are cut off, in
        order. causaldsl samples only these; the peers' models of workload 3 are written over the
        same nodes (X a root there, since do replaces it), so both sides do the same work."""
        mutilated = tuple(() if i == x else ps for i, ps in enumerate(self.parents))
        return sorted(_ancestors(mutilated, y))

    def parents_under_do(self, i: int, x: int) -> tuple[int, ...]:
        return () if i == x else self.parents[i]

    def dsl(self) -> str:
        lines = []
        for i in range(self.n):
            terms = []
            for w, p in zip(self.weights[i], self.parents[i]):
                terms.append(f"{w:.4f} * " + (f"sigmoid(v{p})" if self.nonlinear else f"v{p}"))
            mean = " + ".join(terms) if terms else "0"
            lines.append(f"v{i} ~ Normal({mean}, {self.scale[i]:.4f})")
        return "model net {\n" + "\n".join("    " + ln for ln in lines) + "\n}\n"

    # exact answers -------------------------------------------------------------
    def interventional_moments(self, x: int, value: float, y: int) -> tuple[float, float]:
        """Mean and variance of v_y under do(v_x = value) (linear nets only)."""
        assert not self.nonlinear
        n = self.n
        b = np.zeros((n, n))  # v = B v + D ε  =>  v = (I - B)^-1 D ε
        for i in range(n):
            if i == x:
                continue
            for w, p in zip(self.weights[i], self.parents[i]):
                b[i, p] = w
        d = np.diag([0.0 if i == x else self.scale[i] for i in range(n)])
        c = np.zeros(n)
        c[x] = value
        inv = np.linalg.inv(np.eye(n) - b)
        mean = inv @ c
        cov = inv @ d @ d.T @ inv.T
        return float(mean[y]), float(cov[y, y])

    def unit(self, seed: int = 1) -> np.ndarray:
        """One unit drawn from the model (the factual observation of workload 4)."""
        rng = np.random.default_rng(seed)
        v = np.zeros(self.n)
        for i in range(self.n):
            v[i] = self.f(i, [v[p] for p in self.parents[i]]) + self.scale[i] * rng.standard_normal()
        return np.round(v, 4)  # as written in the query text

    def counterfactual(self, unit: np.ndarray, x: int, value: float, y: int) -> float:
        """Y in the world where X had been ``value``, for the unit ``unit`` (abduct, act, predict)."""
        noise = np.array([unit[i] - self.f(i, [unit[p] for p in self.parents[i]]) for i in range(self.n)])
        v = np.zeros(self.n)
        for i in range(self.n):
            v[i] = value if i == x else self.f(i, [v[p] for p in self.parents[i]]) + noise[i]
        return float(v[y])


def gauss_net(n: int, seed: int = 0, nonlinear: bool = False) -> GaussNet:
    """Up to 3 earlier parents; weights scaled by 1/sqrt(#parents) so variances stay O(1)."""
    r = random.Random(seed + 1000)
    parents, weights = [], []
    for i in range(n):
        ps = tuple(sorted(r.sample(range(i), min(i, r.randint(0, 3)))))
        parents.append(ps)
        k = max(len(ps), 1)
        weights.append(np.array([round(r.choice((-1, 1)) * r.uniform(0.3, 0.9) / np.sqrt(k), 4) for _ in ps]))
    scale = np.array([round(r.uniform(0.5, 1.5), 4) for _ in range(n)])
    return GaussNet(n, tuple(parents), tuple(weights), scale, nonlinear)
