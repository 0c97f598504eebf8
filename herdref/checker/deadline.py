"""``wait_until``: poll a condition until it holds, with a deadline. Nothing in herdref, its
tests or its benchmarks sleeps a fixed time to synchronise; they wait here on what they need.

Rules:

* The condition is asked at least once, then every ``poll_s`` until it holds or the deadline
  has passed.
* It returns the seconds it took; a deadline that passes is :class:`DeadlinePassed`, never a
  quiet False a caller could forget to look at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

__all__ = ["DEFAULT_POLL_S", "DeadlinePassed", "wait_until"]

DEFAULT_POLL_S: Final = 0.01


class DeadlinePassed(TimeoutError):
    """A condition did not hold before its deadline."""


def wait_until(
    condition: Callable[[], bool], *, deadline_s: float, what: str = "", poll_s: float = DEFAULT_POLL_S
) -> float:
    """Seconds until ``condition()`` held.

    Raises:
        DeadlinePassed: it did not hold within ``deadline_s`` (``what`` names it).
    """
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() - started > deadline_s:
            raise DeadlinePassed(f"not true within {deadline_s:g} s: {what or repr(condition)}")
        time.sleep(poll_s)
