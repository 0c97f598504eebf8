"""The ``herdref`` command line: one subcommand per job, ``main(argv) -> int``.

Each subcommand lives in its own module, which provides ``add_arguments(parser)`` and
``run(args) -> int``; modules keep heavy imports (aiohttp, lark, hypothesis) inside ``run`` so
that ``herdref serve`` starts listening fast (graders query a server 0.5 s after starting it).
Known errors (a bad herd file, a port in use) become one line on stderr and an exit status;
anything else is a bug and keeps its traceback.

Rules shared by every subcommand, defined here once:

* ``-q``/``--quiet``: results and errors only, no progress or banners;
  ``-v``/``--verbose``: also log what happens (links, checks, jobs) on stderr.
* ``--help`` shows each option's default.
* Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Final, TextIO

from herdref.tools.exitstatus import ExitStatus
from herdref.tools.version import VersionAction

__all__ = [
    "ExitStatus",
    "HelpFormatter",
    "add_verbosity",
    "configure_logging",
    "main",
    "paint",
    "use_colour",
]


# subcommand -> (module, one-line help)
_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("herdref.tools.serve", "run one server of the herd"),
    "herd": ("herdref.tools.herd", "run the whole herd on this machine, one process per server"),
    "send": ("herdref.tools.send", "send lines to a server and print the replies"),
    "places-fixture": ("herdref.places.fixture", "serve the offline Google Places fixture over HTTP"),
    "validate": ("herdref.tools.validate", "check any herd over TCP as a black box"),
    "grade": ("herdref.tools.grade", "grade a folder of submitted herds, in parallel, into grades.csv"),
    "gradescope-bundle": (
        "herdref.tools.gradescope",
        "write a Gradescope autograder zip that runs herdref grade",
    ),
    "bench": ("herdref.tools.bench", "load-test a herd and report throughput and latency"),
}

_COLOURS: Final = {"red": "31", "green": "32", "yellow": "33", "bold": "1"}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps descriptions as written and appends each option's default to its help, unless
    the help already states it or there is none to state."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if action.help is argparse.SUPPRESS or (
            not text
            or "default" in text.lower()
            or default is None
            or default is False
            or default in ([], "")
            or default is argparse.SUPPRESS
            or not action.option_strings
        ):
            return action.help
        return f"{text} (default: %(default)s)"


def _show_bare_defaults(parser: argparse.ArgumentParser) -> None:
    """An option given without help still shows its default (argparse prints nothing for it)."""
    for action in parser._actions:
        if action.help is None and action.option_strings and action.default not in (None, False, []):
            action.help = "(default: %(default)s)"


def add_verbosity(parser: argparse.ArgumentParser) -> None:
    """-q/--quiet and -v/--verbose, with one meaning in every subcommand; an option string the
    subcommand already defines is kept (same destination, same meaning)."""
    taken = set(parser._option_string_actions)
    for short, long, text in (
        ("-q", "--quiet", "results and errors only: no progress or banners"),
        ("-v", "--verbose", "also log what happens (links, checks, jobs) on stderr"),
    ):
        free = [option for option in (short, long) if option not in taken]
        if free:
            parser.add_argument(*free, dest=long[2:], action="store_true", help=text)


def use_colour(stream: TextIO) -> bool:
    """Colour on a terminal unless NO_COLOR is set (to anything) or TERM is dumb."""
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, colour: str, stream: TextIO) -> str:
    """``text`` in ``colour`` (red, green, yellow, bold) when ``stream`` takes colour."""
    if not use_colour(stream) or colour not in _COLOURS:
        return text
    return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m"


def _build_parser(
    command: str | None = None,
) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser, with a subparser for ``command`` alone when it names one (what it parses
    and every message it prints are the same: the top level's usage names no command, and
    ``--help`` or an unknown command gets every subparser). Each subparser costs argparse
    gettext look-ups on disk, and ``herdref serve`` should reach its bind without them."""
    parser = argparse.ArgumentParser(
        prog="herdref",
        description="Reference server herd, specification and checker for the server herd protocol.",
    )
    parser.add_argument("--version", action=VersionAction)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    subparsers: dict[str, argparse.ArgumentParser] = {}
    chosen = {command: _SUBCOMMANDS[command]} if command in _SUBCOMMANDS else _SUBCOMMANDS
    for name, (module_name, summary) in chosen.items():
        subparsers[name] = commands.add_parser(name, help=summary, description=summary)
        subparsers[name].set_defaults(module=module_name)
    return parser, subparsers


def configure_logging(args: argparse.Namespace) -> None:
    """The one place handlers are set: -v logs INFO, -q only errors, else warnings. Called
    before a subcommand runs, unless its module sets ``CONFIGURES_LOGGING`` (``serve`` calls
    this itself once its ports listen: importing logging is time before the bind)."""
    import logging

    verbose, quiet = getattr(args, "verbose", False), getattr(args, "quiet", False)
    level = logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(
        level=level, format=f"%(asctime)s {args.command} %(levelname)s %(message)s", stream=sys.stderr
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the herdref command line; returns the exit status."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`herdref ... | head`): no traceback, and no second error when
        # Python flushes stdout at exit (the Python documentation's recipe).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitStatus.FAILURE


def _main(argv: Sequence[str] | None) -> int:
    from herdref.herd.config import ConfigError

    argv = list(sys.argv[1:] if argv is None else argv)
    # Only the chosen subcommand's module is imported, so a fast command stays fast.
    command = next((word for word in argv if not word.startswith("-")), None)
    parser, subparsers = _build_parser(command)
    if command in subparsers:
        subparser = subparsers[command]
        importlib.import_module(_SUBCOMMANDS[command][0]).add_arguments(subparser)
        add_verbosity(subparser)
        _show_bare_defaults(subparser)
        subparser.formatter_class = HelpFormatter
    args = parser.parse_args(argv)
    module = importlib.import_module(args.module)
    if not getattr(module, "CONFIGURES_LOGGING", False):
        configure_logging(args)
    try:
        status: int = module.run(args)
    except ConfigError as exc:
        print(f"herdref {args.command}: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED
    return status
