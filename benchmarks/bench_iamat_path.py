"""CPU time per IAMAT inside the server process: the reference server's line path against the
minimal IAMAT server's, in one process, with no sockets.

Usage::

    python3 benchmarks/bench_iamat_path.py [--requests N] [--rounds R] [--no-log] [--json]

The protocols (``herdref.herd.server.ClientConnection`` of a one-server herd, and
benchmarks/baseline_servers.py's ``IamatServer`` and ``LeanIamatServer``) are fed the same IAMAT
lines, one line per read as in request-reply, through ``buffer_updated``, with a transport that
discards what is written. Each IAMAT is a new record (newer client time). The figure is the calling thread's
CPU time (``time.thread_time``) per request, so other processes on the machine disturb it far
less than a TCP benchmark; the herd log's writer thread (logging is on unless ``--no-log``) is
not counted, its cost to the loop is (formatting and queueing each line). Rounds alternate
between the two servers and the best round of each is kept.

The ratio minimal/herdref is the share of the server's per-request Python work that the IAMAT
itself needs (parse, skew, store, format); the rest is what a herd server does besides (limits,
sessions, log, flooding). It leaves out the event loop and the kernel's send and receive,
which bench_throughput.py includes. Exit status 0 always.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from baseline_servers import IamatServer, LeanIamatServer  # noqa: E402

from herdref.herd.config import load_config  # noqa: E402
from herdref.herd.log import HerdLog  # noqa: E402
from herdref.herd.server import ClientConnection, HerdServer  # noqa: E402

_CLIENTS = 100


class _DiscardingTransport(asyncio.Transport):
    """Takes every write and keeps nothing, as a client that reads at once."""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default


def _iamat_lines(count: int, round_number: int) -> list[bytes]:
    # Client times grow with the round too, so every IAMAT of every round is a new record.
    base = 1_700_000_000 + round_number * count
    return [
        b"IAMAT client%d +34.068930-118.445127 %d.%09d\n" % (index % _CLIENTS, base + index, index % 1000)
        for index in range(count)
    ]


def _feed(view: memoryview, buffer_updated: Callable[[int], None], lines: list[bytes]) -> float:
    """Thread CPU seconds to hand ``lines`` to a protocol one read each."""
    started = time.thread_time()
    for line in lines:
        size = len(line)
        view[:size] = line
        buffer_updated(size)
    return time.thread_time() - started


async def _measure(requests: int, rounds: int, log: bool, directory: Path) -> dict[str, float]:
    herd_file = directory / "herd.toml"
    herd_file.write_text(
        '[servers]\nSolo = { port = 9 }\n[links]\nmode = "persistent"\npairs = []\n'
        '[places]\nprovider = "fixture"\n',
        encoding="utf-8",
    )
    herd_log = HerdLog(directory / "Solo.log" if log else None)
    server = HerdServer(load_config(herd_file), "Solo", places=None, herd_log=herd_log)  # type: ignore[arg-type]
    herdref = ClientConnection(server)
    herdref.connection_made(_DiscardingTransport())
    minimal = IamatServer()
    minimal.connection_made(_DiscardingTransport())
    lean = LeanIamatServer()
    lean.connection_made(_DiscardingTransport())
    best = {"herdref": float("inf"), "minimal": float("inf"), "lean": float("inf")}
    try:
        for round_number in range(rounds):
            lines = _iamat_lines(requests, round_number)
            best["herdref"] = min(best["herdref"], _feed(server.read_view, herdref.buffer_updated, lines))
            best["minimal"] = min(best["minimal"], _feed(minimal.view, minimal.buffer_updated, lines))
            best["lean"] = min(best["lean"], _feed(lean.view, lean.buffer_updated, lines))
            await asyncio.sleep(0)  # let anything the server scheduled run between rounds
    finally:
        herd_log.close()
    return {name: seconds / requests * 1e6 for name, seconds in best.items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description="CPU time per IAMAT in process: herdref vs. a minimal server"
    )
    parser.add_argument("--requests", type=int, default=50_000, help="IAMATs per round (default 50000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per server, best kept (default 5)")
    parser.add_argument("--no-log", action="store_true", help="the herd log off (it is on by default)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="herdref-iamat-path-") as directory:
        per_request_us = asyncio.run(_measure(args.requests, args.rounds, not args.no_log, Path(directory)))
    report = {
        "requests": args.requests,
        "rounds": args.rounds,
        "log": not args.no_log,
        "herdref_us_per_request": round(per_request_us["herdref"], 2),
        "minimal_us_per_request": round(per_request_us["minimal"], 2),
        "minimal_over_herdref": round(per_request_us["minimal"] / per_request_us["herdref"], 3),
        "lean_us_per_request": round(per_request_us["lean"], 2),
        "lean_over_herdref": round(per_request_us["lean"] / per_request_us["herdref"], 3),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"CPU per IAMAT in process, one line per read, log {'on' if report['log'] else 'off'}:")
    print(f"  herdref  {report['herdref_us_per_request']:6.2f} us/request")
    print(f"  minimal  {report['minimal_us_per_request']:6.2f} us/request")
    print(f"  lean     {report['lean_us_per_request']:6.2f} us/request")
    print(
        f"  minimal / herdref {report['minimal_over_herdref']:.3f}, "
        f"lean / herdref {report['lean_over_herdref']:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
