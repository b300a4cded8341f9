"""The model IR as a NumPyro program, and plain forward sampling.

:func:`numpyro_model` gives the model function a NumPyro user expects: one
``numpyro.sample`` site per ``~`` statement, ``numpyro.deterministic`` for
``:=`` and for intervened variables, so that NumPyro's own handlers
(``condition``, ``do``, ``trace``, ``Predictive``) work on it.

>>> from causaldsl import model
>>> import numpyro
>>> fn = model("model m {\\n x ~ Bernoulli(0.5)\\n y := 1 - x\\n}").numpyro()
>>> tr = numpyro.handlers.trace(numpyro.handlers.seed(fn, 0)).get_trace()
>>> float(tr["x"]["value"]) + float(tr["y"]["value"])
1.0
"""

from __future__ import annotations

from typing import Iterator, Optional

from ..model.lazy_modules import lazy_module
jax = lazy_module("jax")
jnp = lazy_module("jax.numpy")
import numpy as np

from .config import float64
from ..model.distributions import FAMILIES
from ..model.expressions import compile_expr
from ..model.ir import Model
from .montecarlo import forward


def prior_sites(ir: Model) -> dict:
    """Sample every parameter from its prior (NumPyro sites, in declaration order)."""
    import numpyro

    theta: dict = {}
    for p in ir.params:
        fam = FAMILIES[p.family]
        args = tuple(jnp.asarray(compile_expr(a)(theta), dtype=float) for a in p.args)
        d = fam.numpyro(args)
        if p.shape:
            d = d.expand(p.shape).to_event(len(p.shape))
        theta[p.name] = numpyro.sample(p.name, d)
    return theta


def numpyro_model(ir: Model):
    """A NumPyro model function for ``ir``; it returns a dict of every variable's value."""
    import numpyro

    compiled = {n.name: ([compile_expr(a) for a in n.args] if n.kind == "sample"
                         else [compile_expr(n.expr)] if n.kind == "assign" else [])
                for n in ir.nodes}

    def model():
        theta = prior_sites(ir)
        env = {}
        for node in ir.nodes:
            if node.kind == "fixed":
                env[node.name] = numpyro.deterministic(node.name, jnp.asarray(node.value, dtype=float))
                continue
            penv = {**theta, **{e: env[p] for e, p in node.env_names.items()}}
            if node.kind == "assign":
                env[node.name] = numpyro.deterministic(node.name, compile_expr(node.expr)(penv))
                continue
            fam = FAMILIES[node.family]
            params = tuple(jnp.asarray(f(penv), dtype=float) for f in compiled[node.name])
            env[node.name] = numpyro.sample(node.name, fam.numpyro(params),
                                            infer={"latent": node.latent} if node.latent else {})
        return env

    model.__name__ = ir.name
    model.__doc__ = f"NumPyro model of causaldsl model '{ir.name}'."
    return model


@float64
def sample(ir: Model, n: int, seed: int = 0, theta=None, samplers: Optional[dict] = None) -> dict[str, np.ndarray]:
    """``n`` joint draws of every variable of ``ir`` (vectorised, one compiled function).

    With ``theta`` (parameter draws with a leading axis), each of the ``n``
    draws uses a parameter draw picked at random: predictive simulation; its compiled sampler
    is kept in ``samplers`` (a model's ``engine.samplers``) when given.
    """
    if theta:
        samplers = {} if samplers is None else samplers
        key = (ir.nodes, "predictive")
        if key not in samplers:
            run, _ = forward(ir, {}, 1, shard_draws=False)
            samplers[key] = jax.jit(jax.vmap(lambda k, th: run(k, jnp.zeros((1,)), th)[0]))
        k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
        count = next(iter(theta.values())).shape[0]
        pick = jax.random.randint(k1, (int(n),), 0, count)
        th = {name: jnp.asarray(v)[pick] for name, v in theta.items()}
        env = samplers[key](jax.random.split(k2, int(n)), th)
        return {name: np.asarray(env[name]).reshape(-1) for name in ir.names}
    env = sample_arrays(ir, n, seed, samplers)
    return {name: np.asarray(env[name]) for name in ir.names}


#: Models with more nodes than this are sampled op by op (JAX's eager mode) instead of as one
#: compiled program: XLA's CPU compiler takes 20-130 ms per node of such a program (130 s for a
#: 1,000-node binary network), while eager operations cost about 1 ms per node for 10,000 draws.
EAGER_NODES = 48

#: Bytes of float64 values one chunk of :func:`sample_chunks` may hold (``8 * nodes * draws``).
CHUNK_BYTES = 128 * 2 ** 20


def chunk_draws(nodes: int, most: int = 1 << 20) -> int:
    """Draws per chunk for a model of ``nodes`` nodes: ``CHUNK_BYTES / (8 * nodes)``, at most
    ``most`` and at least 1,024.

    >>> chunk_draws(10), chunk_draws(1000), chunk_draws(10 ** 6)
    (1048576, 16777, 1024)
    """
    return int(min(most, max(1024, CHUNK_BYTES // (8 * max(1, nodes)))))


@float64
def sample_arrays(ir: Model, n: int, seed: int = 0, samplers: Optional[dict] = None) -> dict:
    """:func:`sample` as JAX arrays, left where they were computed (split across the devices
    when there are several: see :mod:`causaldsl.engines.sharding`).

    A model of more than :data:`EAGER_NODES` nodes runs op by op, without compiling a program
    for its whole structure (the same operations, one at a time: see :data:`EAGER_NODES`).

    >>> from causaldsl import model
    >>> env = sample_arrays(model("model m {\\n x ~ Normal(0, 1)\\n}").ir, 8)
    >>> env["x"].shape
    (8,)
    """
    samplers = {} if samplers is None else samplers
    key = (ir.nodes, int(n))
    if key not in samplers:
        run, _ = forward(ir, {}, int(n), checks=False)  # the flags are not read here

        def draw(k):
            return run(k, jnp.zeros((1,)), {})[0]

        samplers[key] = draw if len(ir.nodes) > EAGER_NODES else jax.jit(draw)
    return samplers[key](jax.random.PRNGKey(seed))


def chunk_seed(seed: int, i: int) -> int:
    """The seed of chunk ``i`` of a run seeded ``seed`` (NumPy's ``SeedSequence([seed, i])``)."""
    return int(np.random.SeedSequence([int(seed), int(i)]).generate_state(1, np.uint32)[0])


def sample_chunks(ir: Model, n: int, seed: int = 0, theta=None, samplers: Optional[dict] = None,
                  chunk: Optional[int] = None) -> Iterator[dict]:
    """:func:`sample`'s ``n`` draws as a stream of chunks (dicts of NumPy arrays), each of
    ``chunk`` draws (default :func:`chunk_draws`; the last one cut to what is left).

    A run of at most one chunk is :func:`sample` itself with ``seed``; longer runs draw chunk
    ``i`` with :func:`chunk_seed` ``(seed, i)``, so the draws depend on ``(seed, chunk)`` and
    not on who consumes them. Every chunk is the same program (whole chunks are drawn and the
    last is cut), and only one chunk's values are alive at a time: a consumer that keeps
    nothing runs in memory bounded by the chunk, whatever ``n``.

    >>> from causaldsl import model
    >>> m = model("model m {\\n x ~ Normal(0, 1)\\n y := 2 * x\\n}")
    >>> [len(c["y"]) for c in sample_chunks(m.ir, 2500, chunk=1000)]
    [1000, 1000, 500]
    """
    size = chunk_draws(len(ir.nodes)) if chunk is None else int(chunk)
    if n <= size:
        yield sample(ir, n, seed, theta, samplers)
        return
    for i in range(-(-n // size)):
        part = sample(ir, size, chunk_seed(seed, i), theta, samplers)
        left = n - i * size
        yield part if left >= size else {k: v[:left] for k, v in part.items()}
