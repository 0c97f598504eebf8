"""pytest plugin installed with herdref: lets the property suite's wire tier and the e2e
checks run against any herd, not only the reference one.

    pytest -m properties --herd-launch 'python3 server.py {name}' --herd-config herd.toml

The wire tier ships in the package (:mod:`herdref.checker.wire_properties`): when the run
names a herd (``--herd-launch``/``--herd-config``) or selects ``-m properties``, the plugin
adds that module to what pytest collects, so the command works from any folder where
``herdref[check]`` is installed. In a checkout, where ``tests/properties/test_wire.py``
collects the same tests, each is run once.

The ``herd_target`` fixture (one per session) starts the herd under test: the servers named by
``--herd-launch`` and ``--herd-config`` (run from ``--herd-cwd``), or by default the reference
herd on free ports, each with the Places fixture, and stops them at the end of the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from herdref.checker.target import Target

__all__ = ["herd_target", "pytest_addoption", "pytest_collection_modifyitems", "pytest_configure"]


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


def _wants_wire_tier(config: pytest.Config) -> bool:
    names_a_herd = bool(config.getoption("--herd-launch") or config.getoption("--herd-config"))
    return names_a_herd or "properties" in (config.getoption("markexpr", "") or "")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "properties: Hypothesis property tests (simulation and wire tiers)")
    if _wants_wire_tier(config):
        from herdref.checker import wire_properties

        module = str(Path(wire_properties.__file__).resolve())
        if module not in config.args:
            config.args.append(module)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test collected both from the package and from a checkout's shim runs once."""
    packaged = [item for item in items if Path(str(item.path)).name == "wire_properties.py"]
    elsewhere = {item.name for item in items if item not in packaged}
    duplicates = [item for item in packaged if item.name in elsewhere]
    if duplicates:
        config.hook.pytest_deselected(items=duplicates)
        items[:] = [item for item in items if item not in duplicates]


@pytest.fixture(scope="session")
def herd_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The running herd under test (see the module docstring)."""
    from herdref.checker.bringup import open_target
    from herdref.checker.launcher import LaunchError, PortBusy

    launch = request.config.getoption("--herd-launch")
    config = request.config.getoption("--herd-config")
    cwd = request.config.getoption("--herd-cwd")
    if launch and not config:
        raise pytest.UsageError("--herd-launch needs --herd-config (the herd's names, ports and links)")
    with ExitStack() as stack:
        try:
            target, _ = open_target(
                stack,
                launch=launch,
                attach=False,
                config_path=Path(config) if config else None,
                cwd=Path(cwd) if cwd else None,
                propagation_s=3.0,
                startup_s=15.0,
            )
        except (LaunchError, PortBusy) as exc:
            pytest.fail(f"the herd under test never became reachable: {exc}", pytrace=False)
        # The reference herd implements the catch-up extension (CATCHUP-1); the model then
        # owes a restarted server every record of its component.
        target.catch_up = not launch
        yield target
