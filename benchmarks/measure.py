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


def warm(fn, repeats: int, budget_s: float = 5.0):
    """Median seconds of ``fn()`` over up to ``repeats`` calls, stopping early past ``budget_s``."""
    times = []
    start = time.perf_counter()
    for _ in range(max(1, repeats)):
        _, s = timed(fn)
        times.append(s)
        if time.perf_counter() - start > budget_s and len(times) >= 3:
            break
    return statistics.median(times)


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
