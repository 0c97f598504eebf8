"""What a herd under test needs around it: the Places fixture and the environment that points
its servers at it.

Rules:

* The fixture is the project's HTTP Places fixture (``herdref.places.fixture``), run in a
  thread on a free loopback port for the whole validate run.
* Servers learn its URL from ``{places_url}`` in the launch command and from the environment
  (``HERDREF_PLACES_URL``, ``PLACES_URL``); API key variables are set to a dummy value so code
  that insists on a key starts.
* Python code that hard-codes Google's hosts is redirected only on request
  (``--redirect-google``, :mod:`herdref.checker.redirect`).
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from herdref.places.fixture import FixtureHandle

__all__ = ["places_environment", "start_fixture"]


def start_fixture(stack: ExitStack) -> FixtureHandle | None:
    """Start the HTTP Places fixture, closed with ``stack``; None if it is not installed."""
    try:
        from herdref.places.fixture import run_fixture_in_thread
    except ImportError:
        return None
    handle = run_fixture_in_thread(host="127.0.0.1", port=0)
    stack.callback(handle.close)
    return handle


def places_environment(places_url: str) -> dict[str, str]:
    """Environment variables for the servers under test."""
    env: dict[str, str] = {"HERDREF_PLACES_API_KEY": "herdref-validate", "GOOGLE_API_KEY": "herdref-validate"}
    if places_url:
        env["HERDREF_PLACES_URL"] = places_url
        env["PLACES_URL"] = places_url
    return env
