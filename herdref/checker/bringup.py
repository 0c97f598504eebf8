"""Bring a herd under test up for checking: the Places fixture, the servers (launched, attached
or the reference herd), and the dialect to talk to them in (:mod:`herdref.checker.dialect`).
Used by ``herdref validate`` and by the pytest plugin's wire tier.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.dialect import probe_dialect
from herdref.checker.environment import places_environment, start_fixture
from herdref.checker.isolation import NETNS_ENV
from herdref.checker.launcher import Launcher, LaunchError
from herdref.checker.places_evidence import ROUTE_ISOLATE, ROUTE_REDIRECT, ROUTE_URL
from herdref.checker.ports import herd_on_free_ports, port_open
from herdref.checker.redirect import lookup_log
from herdref.checker.target import Target
from herdref.herd.config import HerdConfig, PlacesSettings, dump_config, load_config, load_preset

__all__ = ["REFERENCE_TEMPLATE", "open_target", "with_connect_host"]

#: How the reference herd's servers are started when no --launch is given.
REFERENCE_TEMPLATE = "{python} -m herdref serve {{name}} --config {{config}}"


def reference_herd_file(config: HerdConfig, directory: Path, places_url: str | None) -> Path:
    """A copy of ``config`` on free loopback ports, Places pointed at the fixture."""
    places = PlacesSettings(provider="legacy", base_url=places_url) if places_url else None
    copy = herd_on_free_ports(
        config.servers,
        config.links,
        log_dir=directory / "herd-logs",
        mode=config.link_mode,
        host={name: address.host for name, address in config.servers.items()},
        places=places,
    )
    path = directory / "herd.toml"
    path.write_text(dump_config(copy), encoding="utf-8")
    return path


def with_connect_host(config: HerdConfig, host: str) -> HerdConfig:
    """``config`` with every server's host replaced by ``host`` (ports unchanged)."""
    servers = {name: dataclasses.replace(address, host=host) for name, address in config.servers.items()}
    return dataclasses.replace(config, servers=servers)


def open_target(
    stack: ExitStack,
    *,
    launch: str | None,
    attach: bool,
    config_path: Path | None,
    cwd: Path | None = None,
    timeout_s: float = 5.0,
    propagation_s: float = 5.0,
    startup_s: float = 10.0,
    redirect_google: bool = False,
    output_dir: Path | None = None,
    on_describe: Callable[[str], None] = lambda text: None,
    probe: bool = True,
    connect_host: str | None = None,
) -> tuple[Target, str]:
    """Start (or find) the herd; everything started is stopped when ``stack`` closes.

    Raises:
        LaunchError: a server never opened its port before ``startup_s``.
    """
    work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="herdref-validate-")))
    config = load_config(config_path) if config_path else load_preset()
    fixture = None if attach else start_fixture(stack)
    places_url = fixture.base_url if fixture is not None else ""
    launcher = None
    route = ""  # an attached herd: how it reaches Places is its own business
    if attach:
        description = f"attached herd {config_path}"
    else:
        if launch:
            assert config_path is not None
            template, launched_config = launch, config_path.resolve()
            description = f"{launch!r} with {config_path}"
        else:
            launched_config = reference_herd_file(config, work_dir, places_url or None)
            config = load_config(launched_config)
            template = REFERENCE_TEMPLATE.format(python=shlex.quote(sys.executable))
            description = "the reference herd (herdref serve)"
        if os.environ.get(NETNS_ENV):
            description += f" in network namespace {os.environ[NETNS_ENV]}"
        env = places_environment(places_url)
        route = ROUTE_URL if fixture is not None else ""
        if fixture is not None and os.environ.get(NETNS_ENV):
            route = ROUTE_ISOLATE
            from herdref.checker.redirect import install_isolated_fronts

            env.update(install_isolated_fronts(fixture.port, work_dir, stack))
        elif redirect_google and fixture is not None:
            from herdref.checker.redirect import install_redirect

            env.update(install_redirect(fixture.port, work_dir, stack))
            route = ROUTE_REDIRECT
        launcher = Launcher(
            template=template,
            config=config,
            config_path=launched_config,
            output_dir=output_dir if output_dir is not None else work_dir / "server-output",
            cwd=cwd,
            env=env,
            places_url=places_url,
        )
        stack.callback(launcher.stop_all)
    if connect_host:
        # The herd binds what its herd file says (a lab host name, 0.0.0.0); the checker
        # reaches every server at ``connect_host`` on the same port.
        config = with_connect_host(config, connect_host)
        if launcher is not None:
            launcher.config = config
        description += f", reached at {connect_host}"
    on_describe(f"herdref validate: {description}")
    target = Target(
        config=config,
        launcher=launcher,
        fixture=fixture,
        timeout_s=timeout_s,
        propagation_s=propagation_s,
        startup_s=startup_s,
        route_taken=route,
        redirect_log=lookup_log(work_dir) if route == ROUTE_REDIRECT else None,
    )
    if launcher is not None:
        launcher.start_all(deadline_s=startup_s)
    else:
        for name, address in config.servers.items():
            try:
                wait_until(partial(port_open, address.host, address.port), deadline_s=startup_s)
            except DeadlinePassed:
                raise LaunchError(
                    f"{name} is not listening on {address.host}:{address.port}", name=name
                ) from None
    if probe:  # validate leaves it to its first check, ``dialect``, which reports it
        target.dialect = probe_dialect(target)[0]
    return target, description
