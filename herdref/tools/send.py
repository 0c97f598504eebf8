"""``herdref send HOST:PORT LINE...``: send lines to a server and print its replies.

The lines go out on one connection, the connection is half-closed (FRAME-4), and everything
the server sends until it closes is printed, so WHATSAT replies appear whole. The replies are
the result (printed under ``-q`` too); ``-v`` also logs the exchange on stderr.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time

from herdref.checker.client import exchange
from herdref.tools.exitstatus import ExitStatus

__all__ = ["add_arguments", "run"]

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("address", help="HOST:PORT of a server, e.g. 127.0.0.1:12000")
    parser.add_argument("lines", nargs="*", help="lines to send (default: read them from standard input)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the replies (> 0)")


def _split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65_536:
        raise ValueError(f"address must be HOST:PORT, not {address!r}")
    return host.strip("[]"), int(port)


def run(args: argparse.Namespace) -> int:
    # A zero or negative socket timeout would mean "non-blocking" or a ValueError, not a wait.
    if not 0 < args.timeout < math.inf:
        print(
            f"herdref send: --timeout must be a number of seconds > 0, not {args.timeout:g}", file=sys.stderr
        )
        return ExitStatus.USAGE
    try:
        host, port = _split_address(args.address)
    except ValueError as exc:
        print(f"herdref send: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    if args.lines:
        payload = b"".join(line.encode("utf-8", "surrogateescape") + b"\n" for line in args.lines)
    else:
        payload = sys.stdin.buffer.read()
    logger.info(
        "sending %d lines (%d bytes) to %s:%d, then half-closing",
        payload.count(b"\n"),
        len(payload),
        host,
        port,
    )
    started = time.monotonic()
    reply = exchange(host, port, payload, timeout_s=args.timeout)
    if reply.error is not None:
        print(f"herdref send: cannot reach {host}:{port}: {reply.error}", file=sys.stderr)
        return 1
    if not reply.closed:
        print(
            f"herdref send: no complete answer from {host}:{port} within {args.timeout:g} s", file=sys.stderr
        )
        return 1
    logger.info(
        "%s:%d closed after %d bytes (%d lines) in %.3f s",
        host,
        port,
        len(reply.data),
        reply.data.count(b"\n"),
        time.monotonic() - started,
    )
    sys.stdout.buffer.write(reply.data)
    sys.stdout.flush()
    return 0
