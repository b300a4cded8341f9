"""A bare jitted ``jnp.einsum`` over the pruned factors: what a careful JAX user writes by hand.

The network is mutilated (X loses its parents and gets a one-hot factor),
pruned to the ancestors of Y and E, and contracted along an optimised
(opt_einsum greedy) path. The one-hot vectors are arguments, so a new value
reuses the compiled function.
"""

from __future__ import annotations

import numpy as np

from ..measure import timed, warm


def _factors(net, x, keep):
    """CPT tensors (axes: parents..., child) of the nodes in ``keep``; X's is an argument."""
    ops = []
    for i in sorted(keep):
        if i == x:
            continue
        ps = net.parents[i]
        p1 = np.asarray(net.p1[i], dtype=np.float64)
        t = np.stack([1 - p1, p1], axis=-1).reshape((2,) * len(ps) + (2,))
        ops.append((t, list(ps) + [i]))
    return ops


def _program(net, x, y, e):
    import jax
    import jax.numpy as jnp
    import opt_einsum

    keep = set()
    for t in [y] + ([e] if e is not None else []):
        stack = [t]
        while stack:
            j = stack.pop()
            if j not in keep:
                keep.add(j)
                if j != x:
                    stack.extend(net.parents[j])
    ops = _factors(net, x, keep)
    operands = [t for t, _ in ops] + [np.ones(2)] + ([np.ones(2)] if e is not None else [])
    axes = [a for _, a in ops] + [[x]] + ([[e]] if e is not None else [])
    sym = {v: opt_einsum.get_symbol(k) for k, v in enumerate(sorted(keep))}
    spec = ",".join("".join(sym[a] for a in ax) for ax in axes) + "->" + sym[y]
    path, _ = opt_einsum.contract_path(spec, *operands, optimize="greedy")
    consts = [jnp.asarray(t) for t, _ in ops]

    @jax.jit
    def answer(x_onehot, e_onehot):
        extra = [x_onehot] + ([e_onehot] if e is not None else [])
        p = jnp.einsum(spec, *consts, *extra, optimize=path)
        return p[1] / p.sum()

    return answer


def prime() -> None:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)  # the same float64 as causaldsl's exact engine

    jnp.einsum("i,i->", jnp.ones(2), jnp.ones(2)).block_until_ready()


def exact(net, repeats: int) -> dict:
    import jax.numpy as jnp

    x, y, e = net.query_nodes()
    one = jnp.asarray([0.0, 1.0])
    out = {}
    for name, ev in (("do", None), ("ev", e)):
        def first():
            fn = _program(net, x, y, ev)
            return fn, float(fn(one, one))

        (fn, ans), first_s = timed(first)
        out[name] = {"first_s": first_s, "answer": ans, "se": None,
                     "warm_s": warm(lambda: float(fn(one, one)), repeats)}
    return out

