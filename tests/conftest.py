"""Shared pytest set-up.

Hypothesis profiles for the fuzz tests (tests/test_fuzz.py): ``default`` is short; ``ci``
(what .ci/run selects) tries 25 times as many examples; both are derandomised, the same
examples on every run, so that a landing never fails on an example no one has seen.
``explore`` draws fresh examples each run, with a larger budget still: run it by hand to look
for new failures (``HYPOTHESIS_PROFILE=explore pytest tests/test_fuzz.py``), and keep what it
finds as explicit cases in test_fuzz.py. None writes an example database into the checkout.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much])
settings.register_profile("default", max_examples=8, derandomize=True, **_COMMON)
settings.register_profile("ci", max_examples=200, derandomize=True, **_COMMON)
settings.register_profile("explore", max_examples=1000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="module")
def shell():
    """An IPython shell with the causaldsl extension loaded (the notebook tests' kernel)."""
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "causaldsl")
    yield ip
    InteractiveShell.clear_instance()
