"""The functions JAX traces for ``jit`` while a block runs, read from JAX's public monitoring events.

Tests of compiled programs ("new values reuse the compiled program", "a fully observed unit is
answered without compiling") count traces here rather than reading an engine's own counters, so
that the engines can be rebuilt without these tests changing: a new query structure costs a
trace, the same structure with other values costs none.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Iterator

import jax
from jax import monitoring

# The engine's one hook for "let the background compilations finish" (no public one exists);
# only this module names it.
from causaldsl.engines.exact import wait_compiled

# JAX records this once per function it traces for jit (not for jits nested inside a trace).
TRACE_EVENT = "/jax/core/compile/jaxpr_trace_duration"


@contextmanager
def _listening() -> Iterator[list]:
    traces: list = []

    def listen(event: str, duration: float, **_) -> None:
        if event == TRACE_EVENT:
            traces.append(duration)

    monitoring.register_event_duration_secs_listener(listen)
    try:
        yield traces
    finally:
        monitoring.unregister_event_duration_listener(listen)


@functools.cache
def _events_seen() -> None:
    """Fail loudly, once, if JAX stopped reporting traces (else "nothing traced" would always hold)."""
    with _listening() as traces:
        jax.jit(lambda x: x + 1)(1.0)  # a new function: always traced
    if not traces:
        raise RuntimeError(f"JAX no longer records {TRACE_EVENT!r}: update tests/jax_traces.py")


@contextmanager
def jax_traces() -> Iterator[list]:
    """A list that gains one entry per function JAX traces for jit inside the ``with`` block.

    Compilations the engine runs in the background are let finish before the block (so
    that the list holds only what the block asked for) and after it (so that it holds
    everything the block asked for).

    >>> with jax_traces() as traces:
    ...     _ = jax.jit(lambda x: 2 * x)(1.0)
    >>> len(traces)
    1
    """
    _events_seen()
    wait_compiled()
    with _listening() as traces:
        yield traces
        wait_compiled()
