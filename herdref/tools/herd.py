"""``herdref herd``: run every server of a herd on this machine, one process each.

Each server is a ``herdref serve`` child process, so the herd behaves exactly like servers
started by hand (and killing one is a real crash). With no API key configured the servers use
the offline Places fixture (PLACES-1), so the herd works with no key and no internet.
Ctrl-C or SIGTERM stops every server cleanly.

Rules:

* The servers die with the herd: on Linux each child asks the kernel for SIGTERM when its
  parent dies (``PR_SET_PDEATHSIG``), so even ``kill -9`` of ``herdref herd`` leaves no server
  holding a port.
* A server that dies is named on stderr. By default the herd then stops (exit status 1);
  with ``--keep-going`` the others keep running (failover tests) until Ctrl-C, or until none
  is left.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

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


_PR_SET_PDEATHSIG: Final = 1


def _die_with_parent_hook() -> Callable[[], None] | None:
    """What each child runs before exec so that it gets SIGTERM when the herd process dies
    (Linux ``PR_SET_PDEATHSIG``, kept across exec); None elsewhere. libc is loaded here, in
    the parent, so the child only makes two system calls; a parent that died before the prctl
    is caught by the parent-pid check."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return hook


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


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + _STOP_DEADLINE_S
    for child in children.values():
        try:
            child.wait(max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


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
            how = f"status {child.returncode}" if child.returncode >= 0 else f"signal {-child.returncode}"
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
    hook = _die_with_parent_hook()
    # preexec_fn is unsafe only with threads, and herdref herd starts none.
    children = {
        name: subprocess.Popen(_serve_command(args, name), env=os.environ.copy(), preexec_fn=hook)  # noqa: PLW1509
        for name in config.servers
    }
    try:
        deadline = time.monotonic() + _START_DEADLINE_S
        waiting = dict(config.servers)
        while waiting and time.monotonic() < deadline and not stop_requested:
            for name, address in list(waiting.items()):
                if children[name].poll() is not None:
                    print(
                        f"herdref herd: {name} exited with status {children[name].returncode}",
                        file=sys.stderr,
                    )
                    return 1
                if _listening(address.host, address.port):
                    del waiting[name]
            if waiting:
                time.sleep(0.02)  # polling interval while waiting for listeners, not synchronisation
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
        _stop(children)
