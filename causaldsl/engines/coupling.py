"""How the copies of one variable in several worlds share its noise: the two couplings.

A counterfactual query makes one copy of a variable per world; the copies share the variable's
exogenous noise, and the *coupling* says how. Seeing and doing never depend on it (each world
alone has the variable's own distribution); counterfactuals do.

* ``quantile`` (the default; comonotone): one ``U ~ Uniform(0, 1)``, each copy its inverse CDF
  at ``U``. Copies with tables ``p^(1) .. p^(k)`` over the same values take ``j_1 .. j_k`` with
  probability ``max(0, min_c F_c(j_c) - max_c F_c(j_c - 1))``, the length of the intersection
  of their CDF intervals. For ordered values (counts, Bernoulli) it is the monotone coupling of
  the textbooks (Pearl 2009, §9.2); for a Categorical it depends on the order the levels are
  written in.
* ``gumbel`` (Gumbel-max; Oberst & Sontag 2019, "Counterfactual Off-Policy Evaluation with
  Gumbel-Max Structural Causal Models", ICML): one standard Gumbel ``g_l`` per value ``l``; a
  copy with table ``p`` takes ``argmax_l (log p_l + g_l)``. It is *counterfactually stable*
  (their Definition 2: a unit seen at ``i`` moves to ``j`` only if ``p'_j / p_j > p'_i / p_i``)
  and does not depend on the order of the levels.

For two copies the Gumbel-max joint is computed here in closed form (:func:`gumbel_max_joint`),
so discrete counterfactuals over two worlds stay exact; Monte Carlo draws the Gumbels
(:func:`gumbels`, :func:`gumbel_argmax`) and abducts them from an observed value
(:func:`gumbel_posterior`). Two-valued variables are coupled alike by both.

All functions take arrays of either namespace (``numpy`` or ``jax.numpy``), probabilities on
the last axis.
"""

from __future__ import annotations

import numpy as np



def quantile_joint(pmfs: list, pshape: tuple, xp=np):
    """The joint table of copies coupled by one shared uniform (the comonotone coupling).

    ``pmfs[c]`` has shape ``pshape + (K_c,)``; the answer ``pshape + (K_1, ..., K_k)``, entry
    ``max(0, min_c F_c(j_c) - max_c F_c(j_c - 1))``.

    >>> quantile_joint([np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.3, 0.5])], ()).round(2)
    array([[0.2, 0.3, 0. ],
           [0. , 0. , 0.3],
           [0. , 0. , 0.2]])
    """
    if len(pmfs) == 1:
        return pmfs[0]
    k = len(pmfs)
    up = lo = None
    for i, pmf in enumerate(pmfs):
        cdf = xp.cumsum(pmf, axis=-1)
        shape = pshape + tuple(-1 if j == i else 1 for j in range(k))
        u, low = cdf.reshape(shape), (cdf - pmf).reshape(shape)
        up, lo = (u, low) if up is None else (xp.minimum(up, u), xp.maximum(lo, low))
    return xp.maximum(up - lo, 0.0)


def gumbel_max_joint(p, q, xp=np):
    """``P(argmax(log p + g) = i, argmax(log q + g) = j)`` for shared standard Gumbels ``g``.

    ``p``, ``q``: tables of shape ``(..., K)``; the answer has shape ``(..., K, K)`` (``i`` then
    ``j``), exact up to rounding.

    Derivation. With ``x_l = exp(-g_l)`` (independent ``Exp(1)``), a copy takes
    ``argmin_l x_l / p_l``. On the diagonal, integrating out ``x_i``,
    ``P(i, i) = p_i q_i / Σ_l max(p_l q_i, q_l p_i)``. Off it, write ``(x_i, x_j) = r (1 - t, t)``
    and integrate ``r`` out: ``P(i, j) = (p_i q_j)² ∫ dt / D(t)²`` over
    ``p_j / (p_i + p_j) <= t <= q_j / (q_i + q_j)``, with
    ``D(t) = p_i q_j + Σ_{l ≠ i, j} max(q_j p_l (1 - t), p_i q_l t)`` piecewise linear; on a
    piece ``[t0, t1]`` where it is linear ``∫ dt / D² = (t1 - t0) / (D(t0) D(t1))``. The
    interval is empty unless ``q_j / p_j > q_i / p_i``: counterfactual stability.

    >>> p, q = np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.3, 0.5])
    >>> j = gumbel_max_joint(p, q)
    >>> j.sum(-1).round(12), j.sum(-2).round(12)   # its margins are p and q
    (array([0.5, 0.3, 0.2]), array([0.2, 0.3, 0.5]))
    >>> bool(j[2, 0] == 0 and j[1, 0] == 0)       # only moves towards levels q favours more
    True
    """
    p, q = xp.broadcast_arrays(xp.asarray(p, dtype=float), xp.asarray(q, dtype=float))
    k = p.shape[-1]
    eye = np.eye(k, dtype=bool)
    pi, qj = p[..., :, None], q[..., None, :]  # (..., i, j)
    pj, qi = p[..., None, :], q[..., :, None]
    # the diagonal
    dsum = xp.sum(xp.maximum(p[..., None, :] * q[..., :, None], q[..., None, :] * p[..., :, None]), -1)
    diag_ii = xp.where(dsum > 0, p * q / xp.where(dsum > 0, dsum, 1.0), 0.0)  # (..., K)
    # off the diagonal: the t-interval and the breakpoints of D, one per other level l
    lo = xp.where(pi + pj > 0, pj / xp.where(pi + pj > 0, pi + pj, 1.0), 1.0)
    hi = xp.where(qi + qj > 0, qj / xp.where(qi + qj > 0, qi + qj, 1.0), 0.0)
    hi = xp.maximum(hi, lo)
    pl, ql = p[..., None, None, :], q[..., None, None, :]  # (..., i, j, l)
    a, b = qj[..., None] * pl, pi[..., None] * ql  # D's term l: max(a (1 - t), b t)
    brk = xp.where(a + b > 0, a / xp.where(a + b > 0, a + b, 1.0), 0.0)
    pts = xp.concatenate([lo[..., None], hi[..., None], xp.clip(brk, lo[..., None], hi[..., None])], -1)
    pts = xp.sort(pts, axis=-1)  # (..., i, j, K + 2)
    others = ~(eye[:, :, None] | eye[:, None, :] | eye[None, :, :])  # l differs from i and from j
    others = others if xp is np else xp.asarray(others)

    def dval(t):  # D at the points t: (..., i, j, m)
        terms = xp.maximum(a[..., None, :] * (1 - t[..., None]), b[..., None, :] * t[..., None])
        return (pi * qj)[..., None] + xp.sum(xp.where(others[:, :, None, :], terms, 0.0), -1)

    d = dval(pts)
    d0, d1 = d[..., :-1], d[..., 1:]
    width = pts[..., 1:] - pts[..., :-1]
    ok = (d0 > 0) & (d1 > 0)
    pieces = xp.where(ok, width / xp.where(ok, d0 * d1, 1.0), 0.0)
    off = (pi * qj) ** 2 * xp.sum(pieces, -1)
    return xp.where(eye, diag_ii[..., None, :] * eye, off)


def gumbels(u, xp=np):
    """Standard Gumbel draws from uniforms in (0, 1): ``-log(-log u)``.

    >>> float(gumbels(np.exp(-1.0)))
    -0.0
    """
    return -xp.log(-xp.log(u))


def gumbel_argmax(probs, g, xp=np):
    """The value index a copy with table ``probs`` (``(..., K)``) takes under the Gumbels ``g``.

    A value of probability 0 is never taken.

    >>> int(gumbel_argmax(np.array([0.2, 0.8, 0.0]), np.array([2.0, 0.0, 9.0])))
    0
    """
    logits = xp.where(probs > 0, xp.log(xp.where(probs > 0, probs, 1.0)), -xp.inf)
    return xp.argmax(logits + g, axis=-1)


def gumbel_posterior(probs, observed, u, xp=np):
    """Gumbels ``g`` drawn from their posterior given that ``argmax(log probs + g) = observed``.

    ``u``: uniforms, shape ``(..., K)``; ``observed``: integer index (broadcast against
    ``probs[..., 0]``). Top-down sampling (Maddison, Tarlow & Minka 2014, "A* Sampling", §3;
    Oberst & Sontag 2019, §4): the maximum ``M = max_l (log p_l + g_l)`` is a standard Gumbel
    (``Σ p = 1``), independent of the argmax, and is reached at ``observed``; every other
    ``log p_l + g_l`` is a Gumbel at ``log p_l`` truncated below ``M``, drawn by its inverse CDF
    ``log p_l - log(exp(log p_l - M) - log u_l)``. Values of probability 0 put no constraint on
    their Gumbel, which stays a plain draw.

    >>> g = gumbel_posterior(np.array([0.2, 0.5, 0.3]), 2, np.array([0.3, 0.6, 0.9]))
    >>> int(gumbel_argmax(np.array([0.2, 0.5, 0.3]), g))
    2
    """
    k = probs.shape[-1]
    pos = probs > 0
    logp = xp.log(xp.where(pos, probs, 1.0))
    at = xp.arange(k) == xp.asarray(observed)[..., None]
    m = -xp.log(-xp.log(xp.sum(xp.where(at, u, 0.0), -1)))[..., None]  # the maximum
    trunc = logp - xp.log(xp.exp(logp - m) - xp.log(u))
    top = xp.where(at, m, trunc)
    return xp.where(pos, top - logp, gumbels(u, xp))


def shared_noise(net) -> tuple:
    """The ``~`` copies of ``net`` grouped by the noise they share, for the noises two or more of
    them share (a variable's copies in several worlds: what the couplings join). Worked out once
    per network and kept in it (the Model is immutable): the method choice and the answer's note
    both ask, and a question in one world, where there are none, pays one pass over its nodes.

    >>> import causaldsl as cd
    >>> from causaldsl.language.parser import parse_query
    >>> from causaldsl.model.queries import plan_query
    >>> m = cd.model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(if x then 0.9 else 0.2)\\n}")
    >>> net = plan_query(m.ir, parse_query("P(y[x = 1] = 1 | y = 0)")).network
    >>> [[n.name for n in group] for group in shared_noise(net)], shared_noise(m.ir)
    ([['y', 'y[x=$1]']], ())
    """
    got = net.__dict__.get("_shared_noise")
    if got is None:
        groups: dict = {}
        for node in net.nodes:
            if node.kind == "sample":
                groups.setdefault(node.noise, []).append(node)
        got = net.__dict__["_shared_noise"] = tuple(tuple(g) for g in groups.values() if len(g) > 1)
    return got


def exact_limit(net) -> "str | None":
    """Why the exact engine cannot answer on the network ``net``, or None: a Gumbel-max
    coupling joins at most two copies there (more copies of one variable would need a
    multi-dimensional integral per table entry; Monte Carlo draws the Gumbels instead).

    >>> import causaldsl as cd
    >>> m = cd.model("model m {\\n y ~ Categorical(a: 0.2, b: 0.3, c: 0.5, coupling = gumbel)\\n}")
    >>> exact_limit(m.ir) is None
    True
    """
    for group in shared_noise(net):
        racing = [node for node in group if node.gumbel_race]
        if len(racing) > 2:
            return (f"the exact engine couples '{racing[0].origin}' by Gumbel-max over two worlds at most, "
                    f"and this query has {len(racing)}")
    return None


def order_note(net) -> "str | None":
    """A note for an answer that depends on the order a Categorical's levels are written in:
    copies of a variable with three or more levels in several worlds, coupled by quantile.
    None otherwise (seeing and doing never depend on it).

    >>> import causaldsl as cd
    >>> m = cd.model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Categorical(a: table(x) { 0: 0.5, 1: 0.1 }, "
    ...              "b: 0.3, c: table(x) { 0: 0.2, 1: 0.6 })\\n}")
    >>> m.query("P(y[x = 0] = a | x = 1, y = c)").note
    "the answer depends on the order of y's levels (quantile coupling); coupling = gumbel does not"
    """
    ordered = ([node.origin for node in group if node.coupling == "quantile" and node.family == "Categorical"
                and len(node.domain) > 2] for group in shared_noise(net))
    names = sorted({copies[0] for copies in ordered if len(copies) > 1})
    if not names:
        return None
    which = ", ".join(f"{n}'s" for n in names)
    return f"the answer depends on the order of {which} levels (quantile coupling); coupling = gumbel does not"
