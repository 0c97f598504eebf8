"""Propagation latency across the default herd, idle and under load, and AT messages per update
against the flooding bound.

Usage::

    python3 benchmarks/bench_propagation.py [--probes N] [--load-rate R] [--load-duration S]
                                            [--loop auto|asyncio|uvloop] [--json]

The herd is the default preset's topology (five ``herdref serve`` processes, persistent links,
logging on) on free loopback ports. A probe is an IAMAT for a fresh client at one server (each
server in turn); its propagation time runs from the IAMAT's reply until every other server
answers ``WHATSAT <client> 1 0`` with the probe's AT line, polled every ``--poll-ms`` (the
resolution). One probe is in flight at a time (herdref.tools.bench.measure_propagation).

* idle: ``--probes`` probes and nothing else;
* under load: the same probes while ``herdref.tools.bench`` sends ``--load-rate`` IAMATs per second
  (paced, one load process, 20 connections over all five servers), each a new record.

Messages per update come from the servers' logs (one ``FLOOD`` line per AT line written to a
neighbour) over each phase, divided by the updates made in it. The bound for one update in a
connected herd is sum of degrees - (servers - 1): 8 here. Under load, several updates of one
client can coalesce in an outbox before the link writes it (LINK-5), so fewer is possible.

Goal (issue #7): propagation p99 <= 5 ms idle and under ~1,000 updates/s. Exit status 0 either
way.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    DEFAULT_LINKS,
    DEFAULT_NAMES,
    LoadSettings,
    herdref_command,
    processes,
    run_load,
    verdict,
    write_herd,
)

from herdref.herd.config import load_config
from herdref.tools.bench import (
    PropagationResult,
    count_log_lines,
    flooding_bound,
    measure_propagation,
    percentile,
    wait_for_quiet_logs,
)

GOAL_P99_MS = 5.0


def summary(result: PropagationResult) -> dict[str, Any]:
    ordered = sorted(result.samples_ns)
    return {
        "probes": len(ordered) + result.incomplete,
        "incomplete": result.incomplete,
        "p50_ms": round(percentile(ordered, 0.5) / 1e6, 3),
        "p99_ms": round(percentile(ordered, 0.99) / 1e6, 3),
        "max_ms": round(percentile(ordered, 1.0) / 1e6, 3),
        "poll_interval_ms": result.poll_interval_s * 1000,
    }


def floods_between(log_paths: list[Path], since: float, until: float) -> int:
    wait_for_quiet_logs(log_paths)
    return count_log_lines(log_paths, b"FLOOD", since, until)


def main() -> int:
    parser = argparse.ArgumentParser(description="propagation latency and flooding cost of the default herd")
    parser.add_argument("--probes", type=int, default=200, help="idle probes (default 200)")
    parser.add_argument("--load-rate", type=float, default=1000.0, help="IAMAT/s under load (default 1000)")
    parser.add_argument("--load-duration", type=float, default=10.0, help="seconds of load (default 10)")
    parser.add_argument("--poll-ms", type=float, default=0.25, help="probe poll interval (default 0.25)")
    parser.add_argument("--interval-ms", type=float, default=20.0, help="pause between probes (default 20)")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    report: dict[str, Any] = {"loop": args.loop}
    with tempfile.TemporaryDirectory(prefix="herdref-bench-") as directory:
        herd_file = write_herd(Path(directory), DEFAULT_NAMES, DEFAULT_LINKS)
        config = load_config(herd_file)
        bound = flooding_bound(config)
        log_paths = [config.log_dir / f"{name}.log" for name in config.servers]
        commands = {
            name: (herdref_command(herd_file, name, args.loop), address.port)
            for name, address in config.servers.items()
        }
        with processes(commands) as servers:
            targets = [server.target for server in servers.values()]
            # Links connect (and exchange their catch-up) before anything is measured.
            measure_propagation(targets, result=PropagationResult(), probes=5, timeout_s=5.0)
            wait_for_quiet_logs(log_paths)

            idle = PropagationResult()
            since = time.time()
            measure_propagation(
                targets,
                result=idle,
                probes=args.probes,
                interval_s=args.interval_ms / 1000,
                poll_interval_s=args.poll_ms / 1000,
                client_prefix="idle-",
            )
            idle_floods = floods_between(log_paths, since, time.time())
            report["idle"] = summary(idle)
            updates = len(idle.samples_ns) + idle.incomplete
            report["idle"]["flooding"] = {
                "at_messages": idle_floods,
                "updates": updates,
                "per_update": round(idle_floods / updates, 3) if updates else None,
                "bound": bound,
            }

            loaded = PropagationResult()
            settings = LoadSettings(
                connections=20,
                duration_s=args.load_duration,
                workers=1,
                rate_per_s=args.load_rate,
                client_prefix="load-",
            )
            load = run_load(
                targets,
                settings,
                during=lambda stop: measure_propagation(
                    targets,
                    result=loaded,
                    stop=stop,
                    interval_s=args.interval_ms / 1000,
                    poll_interval_s=args.poll_ms / 1000,
                    client_prefix="loaded-",
                ),
            )
            load_floods = floods_between(log_paths, load.started_wall, time.time())
            report["loaded"] = summary(loaded)
            updates = load.iamat + len(loaded.samples_ns) + loaded.incomplete
            report["loaded"]["load_requests_per_s"] = round(load.requests_per_s, 1)
            report["loaded"]["flooding"] = {
                "at_messages": load_floods,
                "updates": updates,
                "per_update": round(load_floods / updates, 3) if updates else None,
                "bound": bound,
            }
    for phase in ("idle", "loaded"):
        report[phase]["goal_p99"] = verdict(report[phase]["p99_ms"], GOAL_P99_MS, at_most=True)
        flooding = report[phase]["flooding"]
        flooding["vs_bound"] = round(flooding["per_update"] / bound, 3) if flooding["per_update"] else None
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"propagation across the default herd (5 servers, persistent links, loop {args.loop})")
    for phase, label in (
        ("idle", "idle"),
        ("loaded", f"under {report['loaded']['load_requests_per_s']:.0f} IAMAT/s"),
    ):
        entry = report[phase]
        print(
            f"  {label:<22} p50 {entry['p50_ms']:.3f} ms  p99 {entry['p99_ms']:.3f} ms  "
            f"max {entry['max_ms']:.3f} ms  ({entry['probes']} probes, {entry['incomplete']} incomplete, "
            f"polled every "
            f"{entry['poll_interval_ms']:g} ms)   goal p99 <= {GOAL_P99_MS} ms: {entry['goal_p99']}"
        )
    for phase, label in (("idle", "idle"), ("loaded", "under load")):
        flooding = report[phase]["flooding"]
        print(
            f"  AT messages per update, {label}: {flooding['at_messages']} / {flooding['updates']} = "
            f"{flooding['per_update']} (bound {bound}, ratio {flooding['vs_bound']})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
