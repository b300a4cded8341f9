"""Timing and memory helpers shared by every system's runner.

Times are wall-clock (``time.perf_counter``) medians; peak memory is the
process's maximum resident set size, which is why each system runs in its own
subprocess (see ``run.py``): one system's allocations cannot inflate another's.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time


def timed(fn):
    """``(result, seconds)`` of one call."""
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def warm(fn, repeats: int, budget_s: float = 5.0, min_s: float = 0.25):
    """Median seconds of ``fn()`` over at least ``repeats`` calls and at least ``min_s`` of them,
    stopping early past ``budget_s``.

    Every system gets the same time to settle, not the same count: a call of a few tens of
    microseconds keeps getting faster for hundreds of repeats on this kind of machine (caches,
    clocks), where twenty calls of a millisecond-long peer have long since settled."""
    times = []
    start = time.perf_counter()
    while len(times) < max(1, repeats) or time.perf_counter() - start < min_s:
        _, s = timed(fn)
        times.append(s)
        if time.perf_counter() - start > budget_s and len(times) >= 3:
            break
    return statistics.median(times)


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
