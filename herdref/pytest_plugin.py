"""pytest plugin installed with herdref: lets the property suite's wire tier and the e2e
checks run against any herd, not only the reference one.

    pytest -m properties --herd-launch 'python3 server.py {name}' --herd-config herd.toml
"""

from __future__ import annotations

import pytest

__all__ = ["pytest_addoption"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("herdref", "herdref: the herd under test")
    group.addoption(
        "--herd-launch",
        default=None,
        help="command that starts one server of the herd under test; {name}, {port}, {config} "
        "and {places_url} are substituted (default: the reference herd)",
    )
    group.addoption(
        "--herd-config",
        default=None,
        help="herd file (TOML) describing the herd under test (default: a free-port copy of the "
        "default preset)",
    )
    group.addoption(
        "--herd-cwd",
        default=None,
        help="working directory for --herd-launch",
    )
