"""``herdref --version``: prints ``herdref.__version__``, which is read from the installed
distribution only when the option is given, so that building the parser stays cheap."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NoReturn

import herdref

__all__ = ["VersionAction"]


class VersionAction(argparse.Action):
    """``parser.add_argument("--version", action=VersionAction)``: print "PROG VERSION", exit 0."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **_: Any) -> None:
        super().__init__(
            option_strings,
            dest,
            nargs=0,
            default=argparse.SUPPRESS,
            help="show program's version number and exit",
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> NoReturn:
        print(f"{parser.prog} {herdref.__version__}")
        parser.exit()
