"""Monte Carlo work split across every device JAX sees (``jax.sharding``).

One mesh, one axis (``"draws"``) over ``jax.devices()``. Two kinds of batch are split on it:

* the draws of a Monte Carlo program: the noise rows (:mod:`causaldsl.engines.noise`) are
  constrained to be split along the mesh, and XLA's partitioner propagates the split to
  every node's values; the sums of the estimator become all-reduces. The noise is generated
  whole before it is split, so the draws (and so the answer, up to the order of
  floating-point sums) are the same on one device or eight;
* the parameter draws of a posterior query (``inference._run_posterior``): the
  leading axis of ``theta`` is placed sharded across the mesh before the vmapped
  program runs (padded by repeating the last draw when it does not divide evenly).

On one device nothing is constrained or moved, so that path compiles to exactly
the program it was before.

>>> import jax
>>> (mesh() is None) == (len(jax.devices()) == 1)
True
>>> devices() >= 1
True
"""

from __future__ import annotations

import functools
from typing import Optional

from ..model.lazy_modules import lazy_module
jax = lazy_module("jax")
jnp = lazy_module("jax.numpy")
import numpy as np

AXIS = "draws"


@functools.lru_cache(maxsize=None)
def mesh() -> Optional[jax.sharding.Mesh]:
    """A 1-d mesh over all devices, or None on a single device."""
    devices = jax.devices()
    if len(devices) < 2:
        return None
    return jax.sharding.Mesh(np.asarray(devices), (AXIS,))


def devices() -> int:
    """How many devices the work is split over (1 without a mesh)."""
    m = mesh()
    return 1 if m is None else m.size


def split(ndim: int = 1) -> Optional[jax.sharding.NamedSharding]:
    """The sharding of an array split along its leading axis (None on one device)."""
    m = mesh()
    if m is None:
        return None
    return jax.sharding.NamedSharding(m, jax.sharding.PartitionSpec(AXIS, *([None] * (ndim - 1))))


def constrain_draws(x: jnp.ndarray) -> jnp.ndarray:
    """``x`` (draws along its last axis) split across the mesh along that axis, inside ``jit``;
    unchanged on one device or when the draws do not divide evenly."""
    m = mesh()
    if m is None or x.shape[-1] % m.size:
        return x
    spec = jax.sharding.PartitionSpec(*([None] * (x.ndim - 1)), AXIS)
    return jax.lax.with_sharding_constraint(x, jax.sharding.NamedSharding(m, spec))


def shard_leading(tree: dict) -> tuple[dict, Optional[int]]:
    """Arrays with a common leading axis, padded to a multiple of the device count and placed
    split across the mesh; returns the tree and the original length (to cut the results back)."""
    if not tree:
        return tree, None
    count = int(next(iter(tree.values())).shape[0])
    m = mesh()
    if m is None:
        return tree, count
    pad = (-count) % m.size
    out = {}
    for k, v in tree.items():
        v = jnp.asarray(v)
        if pad:
            v = jnp.concatenate([v, jnp.repeat(v[-1:], pad, axis=0)])
        out[k] = jax.device_put(v, split(v.ndim))
    return out, count
