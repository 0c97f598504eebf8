"""The baselines the reference server is measured against, each a minimal asyncio server.

Usage::

    python3 benchmarks/baseline_servers.py {iamat,echo} --port PORT [--loop asyncio|uvloop]

* ``iamat``: the ceiling for IAMAT. It does only the work every IAMAT needs and nothing a
  herd server also does: parse the line with the same fast parser (herdref.protocol), compute
  the skew, keep the newest line per client in a dict, format the AT reply, and write it. No
  log, no links, no limits, no WHATSAT.
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


async def serve(kind: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    factory = IamatServer if kind == "iamat" else EchoServer
    server = await loop.create_server(factory, "127.0.0.1", port, reuse_address=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("iamat", "echo"))
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
