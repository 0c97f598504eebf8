"""pytest plugin installed with herdref: lets the property suite's wire tier and the e2e
checks run against any herd, not only the reference one.

    pytest -m properties --herd-launch 'python3 server.py {name}' --herd-config herd.toml

The wire tier ships in the package (:mod:`herdref.checker.wire_properties`): when the run
names a herd (``--herd-launch``/``--herd-config``) or selects ``-m properties``, the plugin
adds that module's tests to what pytest collected, so the command works from any folder where
``herdref[check]`` is installed (a project's own ``.venv`` included). In a checkout, where
``tests/properties/test_wire.py`` collects the same tests, each is run once.

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


# tryfirst: the items added here must exist before ``-m``/``-k`` deselect (a later hook).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add the packaged wire tier to what was collected, built from the module itself rather
    than from a path argument: pytest skips paths inside a virtual environment (a project's
    ``.venv`` holding herdref) and may skip an installed package under the rootdir, which
    left the README's command collecting nothing (exit 5). A test a checkout's shim
    (``tests/properties/test_wire.py``) already collected is not added twice."""
    if not _wants_wire_tier(config):
        return
    from herdref.checker import wire_properties

    module = pytest.Module.from_parent(session, path=Path(wire_properties.__file__).resolve())
    already = {item.name for item in items}
    packaged = list(session.genitems(module))
    items.extend(item for item in packaged if item.name not in already)
    # Counted as collected by genitems: say they were left out, so the summary adds up.
    if duplicates := [item for item in packaged if item.name in already]:
        config.hook.pytest_deselected(items=duplicates)


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
