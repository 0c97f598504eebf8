"""The baselines the reference server is measured against, each a minimal asyncio server.

Usage::

    python3 benchmarks/baseline_servers.py {lean,iamat,echo} --port PORT [--loop asyncio|uvloop]

* ``lean``: the honest ceiling for IAMAT: the least a correct reply needs, written for this
  one job: split the line, check the field count and the location's ranges, take the time
  difference in integer nanoseconds (exact, with the half-up rounding of AT-2 for client times
  with more than nine decimals), keep the newest record per client in a dict, format the AT
  line, write it. No herdref code on the path, no log, no links, no limits, no WHATSAT.
* ``iamat``: the same work done with herdref's own parser and time arithmetic
  (herdref.protocol): what herdref's line path costs without the server around it.
* ``echo``: writes every complete line back as it is, the floor of any line server.

Both read like the reference server does (a ``BufferedProtocol`` with one preallocated 64 KiB
buffer), so the comparison is about the work per line, not about buffer management (a plain
``Protocol`` on the default loop makes glibc mmap and munmap a 256 KiB buffer on every read).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import ClassVar, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from herdref.protocol import (
    At,
    IAmAt,
    ProtocolError,
    error_reply,
    format_at,
    format_time_diff,
    is_newer,
    parse_line,
)

_BUFFER_BYTES = 65_536
SERVER_NAME = b"Solo"


class _LineServer(asyncio.BufferedProtocol):
    def __init__(self) -> None:
        self.buffer = bytearray(_BUFFER_BYTES)
        self.view = memoryview(self.buffer)
        self.partial = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        data = self.view[:nbytes].tobytes()
        if self.partial:
            data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        if lines and self.transport is not None:
            self.transport.write(self.answer(lines))

    def answer(self, lines: list[bytes]) -> bytes:
        raise NotImplementedError


class EchoServer(_LineServer):
    def answer(self, lines: list[bytes]) -> bytes:
        return b"\n".join(lines) + b"\n"


class IamatServer(_LineServer):
    #: One table for every connection, as in a herd server.
    table: ClassVar[dict[bytes, bytes]] = {}

    def answer(self, lines: list[bytes]) -> bytes:
        replies = []
        table = self.table
        for line in lines:
            try:
                message = parse_line(line)
            except ProtocolError:
                replies.append(error_reply(line))
                continue
            if not isinstance(message, IAmAt):
                replies.append(error_reply(line))
                continue
            at_line = format_at(
                At(
                    SERVER_NAME,
                    format_time_diff(time.time_ns(), message.client_time),
                    message.client_id,
                    message.location,
                    message.client_time,
                )
            )
            stored = table.get(message.client_id)
            if stored is None or is_newer(message.client_time, stored[stored.rfind(b" ") + 1 :]):
                table[message.client_id] = at_line
            replies.append(at_line + b"\n")
        return b"".join(replies)


_NS_PER_S = 1_000_000_000


def _client_time_ns(client_time: bytes) -> tuple[int, int] | None:
    """``(value, scale)``: the client time is ``value / 10**scale`` seconds: in nanoseconds
    (scale 9) when it has at most nine decimals, else in its own finest unit.
    None if it is not digits with an optional fraction (LEX-6)."""
    whole, point, fraction = client_time.partition(b".")
    if not whole.isdigit() or (point and not fraction.isdigit()) or not whole.isascii():
        return None
    if len(fraction) <= 9:
        return int(whole) * _NS_PER_S + int(fraction.ljust(9, b"0")), 9
    return int(whole + fraction), len(fraction)


def _time_diff(received_ns: int, client_time: tuple[int, int]) -> bytes:
    """AT-2 in integers: ``received - client`` to the nanosecond, halves toward +infinity."""
    value, scale = client_time
    if scale == 9:
        nanoseconds = received_ns - value
    else:
        unit = 10 ** (scale - 9)  # even: adding half of it and flooring rounds half up
        nanoseconds = (received_ns * unit - value + unit // 2) // unit
    sign = b"-" if nanoseconds < 0 else b"+"
    seconds, fraction = divmod(abs(nanoseconds), _NS_PER_S)
    return b"%s%d.%09d" % (sign, seconds, fraction)


def _location_ok(location: bytes) -> bool:
    """LEX-5, lean: sign, latitude, sign, longitude, each in range."""
    split = max(location.rfind(b"+"), location.rfind(b"-"))
    if split <= 0 or location[:1] not in (b"+", b"-"):
        return False
    try:
        latitude, longitude = float(location[:split]), float(location[split:])
    except ValueError:
        return False
    return -90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0


class LeanIamatServer(_LineServer):
    #: client ID -> (client time as (value, scale), AT line), for every connection.
    table: ClassVar[dict[bytes, tuple[tuple[int, int], bytes]]] = {}

    def answer(self, lines: list[bytes]) -> bytes:
        replies = []
        table = self.table
        now_ns = time.time_ns
        for line in lines:
            fields = line.split()
            client_time = _client_time_ns(fields[3]) if len(fields) == 4 and fields[0] == b"IAMAT" else None
            if client_time is None or not _location_ok(fields[2]):
                replies.append(b"? " + line + b"\n")
                continue
            _, client_id, location, client_time_text = fields
            at_line = b"AT %s %s %s %s %s\n" % (
                SERVER_NAME,
                _time_diff(now_ns(), client_time),
                client_id,
                location,
                client_time_text,
            )
            stored = table.get(client_id)
            # Newer by exact comparison of value / 10**scale (cross-multiplied when scales differ).
            if stored is None or _newer(client_time, stored[0]):
                table[client_id] = (client_time, at_line)
            replies.append(at_line)
        return b"".join(replies)


def _newer(candidate: tuple[int, int], stored: tuple[int, int]) -> bool:
    (value, scale), (stored_value, stored_scale) = candidate, stored
    if scale == stored_scale:
        return value > stored_value
    return value * 10 ** max(stored_scale - scale, 0) > stored_value * 10 ** max(scale - stored_scale, 0)


SERVERS = {"lean": LeanIamatServer, "iamat": IamatServer, "echo": EchoServer}


async def serve(kind: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    factory = SERVERS[kind]
    server = await loop.create_server(factory, "127.0.0.1", port, reuse_address=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=tuple(SERVERS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.run(serve(args.kind, args.port))
    else:
        asyncio.run(serve(args.kind, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
