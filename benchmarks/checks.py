"""Does every system give the same answer? Decided before any time is shown.

Exact answers must agree to ``EXACT_TOL``; Monte Carlo answers must lie within
``SIGMAS`` of their own standard error (plus the reference's) of the reference.
The reference is the closed form where there is one (Gaussian moments, one-unit
counterfactuals), otherwise causaldsl's exact answer, itself checked against pgmpy
and the hand-written einsum.
"""

from __future__ import annotations

import math

EXACT_TOL = 1e-7
SIGMAS = 5.0


def agrees(answer, se, ref, ref_se=None) -> tuple[bool, str]:
    """``(ok, how far)`` for one answer against the reference."""
    if answer is None or ref is None or not math.isfinite(answer):
        return False, "no answer"
    diff = abs(answer - ref)
    if se is None and ref_se is None:
        tol = EXACT_TOL * max(1.0, abs(ref))
        return diff <= tol, f"|Δ| = {diff:.1e} (tol {tol:.0e})"
    spread = math.hypot(se or 0.0, ref_se or 0.0)
    return diff <= SIGMAS * spread + EXACT_TOL, f"|Δ| = {diff:.1e} = {diff / spread if spread else 0:.1f} s.e."
