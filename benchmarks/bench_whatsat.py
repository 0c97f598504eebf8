"""WHATSAT replies per second per core against the in-process Places fixture.

Usage::

    python3 benchmarks/bench_whatsat.py [--duration S] [--connections N] [--loop auto|asyncio|uvloop]
                                        [--json]

One ``herdref serve`` (a one-server herd, ``provider = "fixture"``: places generated in
process, no network, logging on) takes request-reply load from ``herdref.tools.bench`` (one load
process): every connection sends one IAMAT, then only ``WHATSAT <own id> 10 <bound>``, for
bound 5 and bound 20 (the most a reply can hold). Replies per core = replies per second divided
by the share of a core the server used (its CPU time over the run's length), so the figure does
not depend on whether the load generator kept the server busy. The same run measures IAMAT
(the same server, the same load) as the baseline the ratio is taken against.

Goal (issue #7): at least 5,000 WHATSAT replies per second per core. Exit status 0 either way.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import LoadSettings, herdref_command, measure, processes, ratio, verdict, write_herd

from herdref.herd.config import load_config

GOAL_PER_CORE = 5000.0


def main() -> int:
    parser = argparse.ArgumentParser(description="WHATSAT replies per core with the Places fixture")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement (default 3)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    report: dict[str, Any] = {"loop": args.loop, "connections": args.connections, "load_processes": 1}
    with tempfile.TemporaryDirectory(prefix="herdref-bench-") as directory:
        herd_file = write_herd(Path(directory), ["Solo"], provider="fixture")
        port = load_config(herd_file).servers["Solo"].port
        with processes({"Solo": (herdref_command(herd_file, "Solo", args.loop), port)}) as servers:
            server = servers["Solo"]
            runs = {
                "iamat": LoadSettings(connections=args.connections, duration_s=args.duration, workers=1),
                "whatsat_bound_5": LoadSettings(
                    connections=args.connections,
                    duration_s=args.duration,
                    workers=1,
                    whatsat_ratio=1.0,
                    whatsat_bound=5,
                    client_prefix="w5-",
                ),
                "whatsat_bound_20": LoadSettings(
                    connections=args.connections,
                    duration_s=args.duration,
                    workers=1,
                    whatsat_ratio=1.0,
                    whatsat_bound=20,
                    client_prefix="w20-",
                ),
            }
            for name, settings in runs.items():
                measurement = measure(server, settings)
                entry = measurement.summary()
                entry["per_core"] = round(ratio(measurement.requests_per_s, measurement.server_cores), 1)
                report[name] = entry
                print(
                    f"  {name:<17} {entry['requests_per_s']:>9.0f} replies/s  server cores "
                    f"{entry['server_cores']:.2f}  -> {entry['per_core']:.0f}/s per core  "
                    f"p50 {entry['p50_ms']:.3f} ms  p99 {entry['p99_ms']:.3f} ms  errors {entry['errors']}",
                    file=sys.stderr,
                    flush=True,
                )
    for name in ("whatsat_bound_5", "whatsat_bound_20"):
        report[name]["vs_iamat_per_core"] = ratio(report[name]["per_core"], report["iamat"]["per_core"])
        report[name]["goal"] = verdict(report[name]["per_core"], GOAL_PER_CORE)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"WHATSAT with the in-process Places fixture, {args.connections} connections, loop {args.loop}")
    print(f"  IAMAT baseline        {report['iamat']['per_core']:>9.0f} replies/s per core")
    for name, label in (("whatsat_bound_5", "WHATSAT bound 5"), ("whatsat_bound_20", "WHATSAT bound 20")):
        entry = report[name]
        print(
            f"  {label:<20} {entry['per_core']:>9.0f} replies/s per core  "
            f"({entry['vs_iamat_per_core']:.2f} x IAMAT)"
            f"   goal >= {GOAL_PER_CORE:.0f}: {entry['goal']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
