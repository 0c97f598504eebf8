"""``herdref serve NAME``: run one server of the herd until SIGTERM or Ctrl-C.

Start-up is kept lean (no Lark, no aiohttp client until the first WHATSAT) because graders
query a server half a second after starting it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import logging
import os
import signal
import sys
from pathlib import Path

from herdref.herd.config import DEFAULT_PRESET, ConfigError, HerdConfig, load_config, load_preset

__all__ = ["add_arguments", "add_herd_file_arguments", "config_from_args", "run", "serve"]

logger = logging.getLogger("herdref")


def add_herd_file_arguments(parser: argparse.ArgumentParser) -> None:
    """--config / --preset, shared by the commands that read a herd file."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", type=Path, help="herd file (TOML); default: the 'default' preset")
    source.add_argument("--preset", help=f"a herd shipped with herdref (default: {DEFAULT_PRESET})")


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
    parser.add_argument(
        "--places-provider", choices=("fixture", "legacy", "new"), help="overrides [places] provider"
    )
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
    parser.add_argument("-v", "--verbose", action="store_true", help="log link events to stderr")


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


async def serve(config: HerdConfig, name: str) -> int:
    """Run server ``name`` until SIGTERM/SIGINT; returns the exit status."""
    from herdref.herd.log import open_server_log
    from herdref.herd.server import HerdServer
    from herdref.places.client import make_places_client

    herd_log = open_server_log(config, name)
    server = HerdServer(config, name, places=make_places_client(config.places, name=name), herd_log=herd_log)
    try:
        await server.start()
    except OSError as exc:
        await herd_log.aclose()
        address = config.address(name)
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        print(f"herdref serve: cannot listen on {address.host}:{address.port}: {reason}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    address = config.address(name)
    logger.info("%s listening on %s:%d, logging to %s", name, address.host, address.port, herd_log.path)
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
    config.address(args.name)  # an unknown name is a usage error, before anything starts
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format=f"%(asctime)s {args.name} %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    if _use_uvloop(args.loop):
        import uvloop

        return uvloop.run(serve(config, args.name))
    return asyncio.run(serve(config, args.name))
