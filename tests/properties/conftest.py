"""Hypothesis profiles for the property suite, chosen with ``HYPOTHESIS_PROFILE``.

* ``ci`` (default): sized so that all of ``tests/properties`` runs in about two and a half
  minutes on two cores. No deadline: a simulated herd step is fast, but a shared CI machine
  is not.
* ``thorough``: many more examples and longer step sequences, for hunting bugs locally:
  ``HYPOTHESIS_PROFILE=thorough pytest -m properties``.

A failing state machine prints its minimal step sequence (``state = ...; state.iamat(...)``)
and the blob to reproduce it; paste the steps into a regression test.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=2_000,
    stateful_step_count=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
