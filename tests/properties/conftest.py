"""Hypothesis profiles for the property suite, chosen with ``HYPOTHESIS_PROFILE``.

* ``ci`` (default): 60 examples a property (the state machines take 2x and 5x that), sized
  for the whole suite's CI budget on two cores, where the suite is CPU-bound (it was 100).
  No deadline: a simulated herd step is fast, but a shared CI machine is not.
* ``thorough``: ten times the examples and longer step sequences, for hunting bugs locally:
  ``HYPOTHESIS_PROFILE=thorough pytest -m properties`` (tens of minutes; the per-test
  timeout is lifted for it).

A failing state machine prints its minimal step sequence (``state = ...; state.iamat(...)``)
and the blob to reproduce it; paste the steps into a regression test.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=1_000,
    stateful_step_count=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if PROFILE == "thorough":
        for item in items:
            if "/tests/properties/" in str(item.path):
                item.add_marker(pytest.mark.timeout(0))
