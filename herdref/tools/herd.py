"""``herdref herd``: run every server of a herd on this machine, one process each.

Each server is a ``herdref serve`` child process, so the herd behaves exactly like servers
started by hand (and killing one is a real crash). With no API key configured the servers use
the offline Places fixture (PLACES-1), so the herd works with no key and no internet.
Ctrl-C or SIGTERM stops every server cleanly.

Rules:

* Each server runs in a process group of its own (:mod:`herdref.checker.processes`, as every
  server herdref starts): a terminal's Ctrl-C reaches ``herdref herd``, which stops them all
  with SIGTERM.
* The servers die with the herd: on Linux each child asks the kernel for SIGTERM when its
  parent dies (``PR_SET_PDEATHSIG``), so even ``kill -9`` of ``herdref herd`` leaves no server
  holding a port.
* A server that dies is named on stderr. By default the herd then stops (exit status 1);
  with ``--keep-going`` the others keep running (failover tests) until Ctrl-C, or until none
  is left.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from herdref.checker.deadline import DeadlinePassed
from herdref.checker.ports import port_open
from herdref.checker.processes import (
    ProcessExited,
    describe_exit,
    start_process,
    stop_processes,
    wait_listening,
)
from herdref.tools.cli import paint
from herdref.tools.serve import PLACES_PROVIDER_HELP, add_herd_file_arguments, config_from_args

__all__ = ["add_arguments", "run"]

_START_DEADLINE_S = 10.0
_STOP_DEADLINE_S = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_herd_file_arguments(parser)
    parser.add_argument("--log-dir", type=Path, help="directory of the servers' log files")
    parser.add_argument(
        "--places-provider", choices=("auto", "fixture", "legacy", "new"), help=PLACES_PROVIDER_HELP
    )
    parser.add_argument("--places-url", help="base URL of the Places endpoint")
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="when a server dies, say so and keep the others running (failover tests)",
    )


def _serve_command(args: argparse.Namespace, name: str) -> list[str]:
    # The herd prints one table for all (so its servers never print their own: -q); each server
    # logs on stderr only with -v.
    command = [sys.executable, "-m", "herdref", "serve", name, "-q", *(["-v"] if args.verbose else [])]
    if args.config is not None:
        command += ["--config", str(args.config)]
    elif args.preset is not None:
        command += ["--preset", args.preset]
    for flag, value in (
        ("--log-dir", args.log_dir),
        ("--places-provider", args.places_provider),
        ("--places-url", args.places_url),
    ):
        if value is not None:
            command += [flag, str(value)]
    return command


def _supervise(
    children: dict[str, subprocess.Popen[bytes]], *, keep_going: bool, stopped: Callable[[], bool]
) -> int:
    """Watch the servers until a stop is requested; 0 then, 1 when a server died (without
    --keep-going) or none is left."""
    alive = dict(children)
    while not stopped():
        for name, child in list(alive.items()):
            if child.poll() is None:
                continue
            del alive[name]
            how = describe_exit(child.returncode)
            if not keep_going:
                print(
                    paint(f"herdref herd: {name} died ({how}); stopping the herd", "red", sys.stderr)
                    + " (--keep-going keeps the others running)",
                    file=sys.stderr,
                )
                return 1
            if not alive:
                print(
                    paint(f"herdref herd: {name} died ({how}); no server left", "red", sys.stderr),
                    file=sys.stderr,
                )
                return 1
            print(
                paint(f"herdref herd: {name} died ({how});", "red", sys.stderr)
                + f" {', '.join(alive)} keep running (--keep-going)",
                file=sys.stderr,
                flush=True,
            )
        time.sleep(0.1)  # supervision tick
    return 0


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    stop_requested = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    # start_process's pre-exec hook is safe here: herdref herd starts no threads.
    children = {
        name: start_process(_serve_command(args, name), stdout=None, die_with_parent=True)
        for name in config.servers
    }
    try:
        deadline = time.monotonic() + _START_DEADLINE_S
        waiting: list[str] = []
        try:
            for name, address in config.servers.items():
                wait_listening(
                    children[name],
                    address.host,
                    address.port,
                    deadline_s=max(deadline - time.monotonic(), 0.0),
                    name=name,
                )
        except ProcessExited as exc:
            if stop_requested:  # Ctrl-C or SIGTERM while the servers were starting: just stop
                return 0
            print(f"herdref herd: {exc}", file=sys.stderr)
            return 1
        except DeadlinePassed:
            waiting = [
                name for name, address in config.servers.items() if not port_open(address.host, address.port)
            ]
        if stop_requested:  # Ctrl-C or SIGTERM while the servers were starting: just stop
            return 0
        if waiting:
            print(
                f"herdref herd: not listening after {_START_DEADLINE_S:g} s: {', '.join(waiting)}",
                file=sys.stderr,
            )
            return 1
        if not args.quiet:
            print(f"herd of {len(config.servers)} servers ({config.link_mode} links), Ctrl-C stops it:")
            for name, address in config.servers.items():
                neighbours = ", ".join(config.neighbours(name)) or "none"
                print(f"  {name:<12} {address.host}:{address.port}   talks with {neighbours}")
            print(f"logs in {args.log_dir or config.log_dir}/")
            sys.stdout.flush()
        return _supervise(children, keep_going=args.keep_going, stopped=lambda: stop_requested)
    finally:
        stop_processes(children.values(), grace_s=_STOP_DEADLINE_S)
