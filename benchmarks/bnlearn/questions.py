"""The questions every system answers on one network, drawn once (seeded) in the driver.

Evidence values come from forward samples of the network, so every piece of evidence has positive
probability, under the intervention too (the sample's own value of X is the value X is held at).
Each new question differs from every other in its target or its evidence variables, so no
system answers it from a cache of an earlier one.
"""

from __future__ import annotations

import random

import networkx as nx
import numpy as np


def tables(model) -> dict:
    """name -> (levels, parents, probs) of a causaldsl model of a discrete network."""
    from causaldsl.interchange.network import network_tables

    return {t.name: (t.levels, t.parents, np.asarray(t.probs)) for t in network_tables(model.ir)}


def forward_sample(tabs: dict, rng: np.random.Generator) -> dict:
    """One draw of every variable (ancestral sampling), as level names."""
    g = nx.DiGraph([(p, v) for v, (_, ps, _) in tabs.items() for p in ps])
    g.add_nodes_from(tabs)
    idx: dict = {}
    for v in nx.topological_sort(g):
        levels, ps, probs = tabs[v]
        row = probs[tuple(idx[p] for p in ps)]
        idx[v] = int(rng.choice(len(levels), p=row / row.sum()))
    return {v: tabs[v][0][i] for v, i in idx.items()}


def questions(tabs: dict, seed: int, new: int = 8) -> dict:
    """``{"marginal", "conditional", "do": [y, evidence, do], "new", "new_do": [[y, evidence, do], ...]}``."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    g = nx.DiGraph([(p, v) for v, (_, ps, _) in tabs.items() for p in ps])
    g.add_nodes_from(tabs)
    nodes = sorted(tabs)
    seen: set = set()

    def fresh(kind: str):
        for _ in range(1000):
            s = forward_sample(tabs, nrng)
            y = rng.choice(nodes)
            if kind == "marginal":
                q = [y, {}, {}]
            elif kind == "conditional":
                es = rng.sample([n for n in nodes if n != y], min(2, len(nodes) - 1))
                q = [y, {e: s[e] for e in es}, {}]
            else:
                ancestors = [a for a in nx.ancestors(g, y) if g.in_degree(a)] or [n for n in nodes if n != y]
                x = rng.choice(sorted(ancestors))
                e = rng.choice([n for n in nodes if n not in (x, y)])
                q = [y, {e: s[e]}, {x: s[x]}]
            key = (q[0], frozenset(q[1]), frozenset(q[2]))
            if key not in seen:
                seen.add(key)
                return q
        raise ValueError("too few distinct questions on this network")

    out = {"marginal": fresh("marginal"), "conditional": fresh("conditional"), "do": fresh("do")}
    out["new"] = [fresh("conditional") for _ in range(new)]
    out["new_do"] = [fresh("do") for _ in range(new)]
    return out
