"""``herdref herd``: run every server of a herd on this machine, one process each.

Each server is a ``herdref serve`` child process, so the herd behaves exactly like servers
started by hand (and killing one is a real crash). With no API key configured the servers use
the offline Places fixture (PLACES-1), so the herd works with no key and no internet.
Ctrl-C or SIGTERM stops every server cleanly.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from herdref.tools.serve import add_herd_file_arguments, config_from_args

__all__ = ["add_arguments", "run"]

_START_DEADLINE_S = 10.0
_STOP_DEADLINE_S = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_herd_file_arguments(parser)
    parser.add_argument("--log-dir", type=Path, help="directory of the servers' log files")
    parser.add_argument("--places-provider", choices=("auto", "fixture", "legacy", "new"))
    parser.add_argument("--places-url", help="base URL of the Places endpoint")


def _serve_command(args: argparse.Namespace, name: str) -> list[str]:
    command = [sys.executable, "-m", "herdref", "serve", name]
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


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    stop_requested = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    children = {
        name: subprocess.Popen(_serve_command(args, name), env=os.environ.copy()) for name in config.servers
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
        if waiting:
            print(
                f"herdref herd: not listening after {_START_DEADLINE_S:g} s: {', '.join(waiting)}",
                file=sys.stderr,
            )
            return 1
        print(f"herd of {len(config.servers)} servers ({config.link_mode} links), Ctrl-C stops it:")
        for name, address in config.servers.items():
            neighbours = ", ".join(config.neighbours(name)) or "none"
            print(f"  {name:<12} {address.host}:{address.port}   talks with {neighbours}")
        print(f"logs in {args.log_dir or config.log_dir}/")
        sys.stdout.flush()
        while not stop_requested:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"herdref herd: {name} exited with status {child.returncode}", file=sys.stderr)
                    return 1
            time.sleep(0.1)  # supervision tick
        return 0
    finally:
        _stop(children)
