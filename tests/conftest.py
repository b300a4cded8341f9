"""Shared pytest set-up.

Hypothesis profiles for the fuzz tests (tests/test_fuzz.py): ``default`` is short and
reproducible (derandomised: the same examples on every run); ``ci`` explores far more, with
fresh examples each run. Pick one with ``HYPOTHESIS_PROFILE=ci pytest tests/test_fuzz.py``.
Neither writes an example database into the checkout.
"""

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much])
settings.register_profile("default", max_examples=8, derandomize=True, **_COMMON)
settings.register_profile("ci", max_examples=200, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
