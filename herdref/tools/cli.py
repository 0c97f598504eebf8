"""The ``herdref`` command line: one subcommand per job, ``main(argv) -> int``.

Each subcommand lives in its own module, which provides ``add_arguments(parser)`` and
``run(args) -> int``; modules keep heavy imports (aiohttp, lark, hypothesis) inside ``run`` so
that ``herdref serve`` starts listening fast (graders query a server 0.5 s after starting it).
Known errors (a bad herd file, a port in use) become one line on stderr and an exit status;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from herdref.tools.exitstatus import ExitStatus
from herdref.tools.version import VersionAction

__all__ = ["ExitStatus", "main"]


# subcommand -> (module, one-line help)
_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("herdref.tools.serve", "run one server of the herd"),
    "herd": ("herdref.tools.herd", "run the whole herd on this machine, one process per server"),
    "send": ("herdref.tools.send", "send lines to a server and print the replies"),
    "places-fixture": ("herdref.places.fixture", "serve the offline Google Places fixture over HTTP"),
    "validate": ("herdref.tools.validate", "check any herd over TCP as a black box"),
    "bench": ("herdref.tools.bench", "load-test a herd and report throughput and latency"),
}


def _build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="herdref",
        description="Reference server herd, specification and checker for the server herd protocol.",
    )
    parser.add_argument("--version", action=VersionAction)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    subparsers: dict[str, argparse.ArgumentParser] = {}
    for name, (module_name, summary) in _SUBCOMMANDS.items():
        subparsers[name] = commands.add_parser(name, help=summary, description=summary)
        subparsers[name].set_defaults(module=module_name)
    return parser, subparsers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the herdref command line; returns the exit status."""
    from herdref.herd.config import ConfigError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser, subparsers = _build_parser()
    # Only the chosen subcommand's module is imported, so a fast command stays fast.
    command = next((word for word in argv if not word.startswith("-")), None)
    if command in subparsers:
        importlib.import_module(_SUBCOMMANDS[command][0]).add_arguments(subparsers[command])
    args = parser.parse_args(argv)
    module = importlib.import_module(args.module)
    try:
        status: int = module.run(args)
    except ConfigError as exc:
        print(f"herdref {args.command}: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED
    return status
