"""Memory per stored client record with one million clients.

Usage::

    python3 benchmarks/bench_memory.py [--clients N] [--json]

Each measurement runs in a fresh subprocess, which notes its resident set size (RSS), stores N
clients, collects garbage and notes its RSS again; the difference divided by N is the cost of
one record, allocator overhead included.

* ``herdref``: a ``HerdNode`` (no neighbours) receives one IAMAT line per client, so the table
  is filled by the server's own code path (parse, format, ``LocationTable.update``);
* ``dict``: the obvious store in the same process layout: the same lines, parsed the same way,
  kept as ``{client_id: at_line}``.

Client IDs look like ``kiwi0000001.cs.ucla.edu`` (23 octets); an AT line is then 89 octets.

Goal (issue #7): at most 250 bytes per record. Exit status 0 either way.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_BYTES = 250
_NOW_NS = 1_700_000_000_123_456_789


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def iamat_line(number: int) -> bytes:
    return b"IAMAT kiwi%07d.cs.ucla.edu +34.068930-118.445127 %d.%09d" % (
        number,
        1_700_000_000 + number // 1000,
        number,
    )


def fill(kind: str, clients: int) -> int:
    """Store ``clients`` records; returns the bytes of RSS they added."""
    from herdref.herd.node import HerdNode, Session
    from herdref.protocol import At, IAmAt, format_at, format_time_diff, parse_line

    node = HerdNode("Bailey", ())
    session = Session()
    naive: dict[bytes, bytes] = {}
    gc.collect()
    before = rss_bytes()
    if kind == "herdref":
        for number in range(clients):
            node.receive(session, iamat_line(number), _NOW_NS)
        assert len(node.table) == clients
    else:
        for number in range(clients):
            message = parse_line(iamat_line(number))
            assert isinstance(message, IAmAt)
            naive[message.client_id] = format_at(
                At(
                    b"Bailey",
                    format_time_diff(_NOW_NS, message.client_time),
                    message.client_id,
                    message.location,
                    message.client_time,
                )
            )
        assert len(naive) == clients
    gc.collect()
    return rss_bytes() - before


def measure(kind: str, clients: int) -> float:
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--clients", str(clients)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(output) / clients


def main() -> int:
    parser = argparse.ArgumentParser(description="memory per stored client record")
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=("herdref", "dict"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(fill(args.child, args.clients))
        return 0
    report: dict[str, Any] = {
        "clients": args.clients,
        "client_id_octets": len(b"kiwi0000001.cs.ucla.edu"),
        "bytes_per_record": {kind: round(measure(kind, args.clients), 1) for kind in ("herdref", "dict")},
    }
    per_record = report["bytes_per_record"]
    report["herdref_vs_dict"] = round(per_record["herdref"] / per_record["dict"], 3)
    report["goal"] = "met" if per_record["herdref"] <= GOAL_BYTES else "MISSED"
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"memory per stored record, {args.clients:,} clients (RSS delta in a fresh process)")
    print(f"  herdref LocationTable  {per_record['herdref']:7.1f} bytes")
    print(f"  plain dict id -> line  {per_record['dict']:7.1f} bytes")
    print(
        f"  herdref / dict = {report['herdref_vs_dict']:.2f}   goal <= {GOAL_BYTES} bytes: {report['goal']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
