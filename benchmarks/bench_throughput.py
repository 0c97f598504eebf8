"""IAMAT throughput of the real reference server against three baselines, on both event loops.

Usage::

    python3 benchmarks/bench_throughput.py [--duration S] [--rounds N] [--connections 1,10,100,1000]
                                           [--loops asyncio,uvloop] [--workers N] [--json]

For each event loop and each number of kept-open connections, four servers take the same
load, one after the other, in ``--rounds`` alternating rounds (herdref, lean, iamat, echo,
then again), each a separate process started the same way:

* ``herdref``: ``herdref serve`` (a one-server herd, its log on and bounded, Places fixture);
* ``lean``: benchmarks/baseline_servers.py's leanest correct IAMAT server (split, range
  checks, integer-nanosecond time difference with exact rounding, dict store, format, write,
  no log): the honest ceiling;
* ``iamat``: the same work through herdref's own parser and time arithmetic;
* ``echo``: a minimal line-echo server: the floor of any line server.

The load (herdref.tools.bench, ``--workers`` processes, 1 by default) is request-reply: every
connection sends an IAMAT, waits for its reply, sends the next; every IAMAT carries a newer
client time, so each is a new record the server stores (and logs). With ``taskset`` available
(Linux CPU affinity), every server runs on CPU 0 and the load generator on CPU 1, so the two
never compete for a core; the report says whether they were, as observed (the CPUs each server
process was given). Sharing a core changes what is measured: the load generator, woken by each
reply, preempts the server about every second request, and the server's CPU per request moves
with the scheduler's interleaving (before the servers were really pinned, one herdref process
in four to ten took some 35 % more user CPU per request that way, and served 20 % fewer
requests, for its whole life; pinned, none did).

The figure is herdref / lean: the ratio of their requests per second within each round (the
two ran back to back, so a change in other load on the machine disturbs both), and the median
of the rounds' ratios; also per core (requests per CPU-second of each server, which other load
on a shared machine disturbs least). ``server cores`` is the server's CPU time over the run's
length (near 1.0: the server was the bottleneck). The load average of the machine before the run is printed,
since other processes on a shared machine lower every figure.

Goal (issue 12): herdref >= 0.7 x lean at 100 connections. Exit status 0 either way: goals are
reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    LoadSettings,
    baseline_command,
    cpus_of,
    herdref_command,
    measure,
    pin_load_generator,
    processes,
    ratio,
    verdict,
    write_herd,
)

from herdref.checker.ports import free_ports
from herdref.herd.config import load_config

GOAL_VS_LEAN = 0.7
GOAL_AT_CONNECTIONS = 100
SERVERS = ("herdref", "lean", "iamat", "echo")


def run_loop(
    loop: str, connection_counts: list[int], duration_s: float, workers: int, rounds: int
) -> tuple[dict[str, Any], set[frozenset[int]]]:
    """The figures by number of connections, and the CPU sets the servers were given."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="herdref-bench-") as directory:
        herd_file = write_herd(Path(directory), ["Solo"])
        herd_port = load_config(herd_file).servers["Solo"].port
        lean_port, iamat_port, echo_port = free_ports(3)
        commands = {
            "herdref": (herdref_command(herd_file, "Solo", loop), herd_port),
            "lean": (baseline_command("lean", lean_port, loop), lean_port),
            "iamat": (baseline_command("iamat", iamat_port, loop), iamat_port),
            "echo": (baseline_command("echo", echo_port, loop), echo_port),
        }
        with processes(commands, server_cpu=0) as servers:
            server_cpus = {cpus_of(server.process.pid) for server in servers.values()}
            for connections in connection_counts:
                by_round: list[dict[str, Any]] = []
                for round_number in range(rounds):
                    measured: dict[str, Any] = {}
                    for kind in SERVERS:
                        settings = LoadSettings(
                            connections=connections,
                            duration_s=duration_s,
                            workers=workers,
                            client_prefix=f"{loop}-{kind}-{connections}-{round_number}-",
                        )
                        measured[kind] = measure(servers[kind], settings).summary()
                    by_round.append(measured)
                    round_ratio = ratio(
                        measured["herdref"]["requests_per_s"], measured["lean"]["requests_per_s"]
                    )
                    print(
                        f"  {loop:<8} {connections:>5} conns  round {round_number + 1}: "
                        + "  ".join(
                            f"{kind} {measured[kind]['requests_per_s']:.0f}/s "
                            f"(cores {measured[kind]['server_cores']:.2f})"
                            for kind in SERVERS
                        )
                        + f"  herdref/lean {round_ratio:.2f}",
                        file=sys.stderr,
                        flush=True,
                    )
                results[str(connections)] = summarise(by_round)
    return results, server_cpus


def summarise(by_round: list[dict[str, Any]]) -> dict[str, Any]:
    """Per server the median requests per second; per baseline the median of the rounds'
    herdref / baseline ratios (each ratio from two back-to-back runs)."""
    row: dict[str, Any] = {
        kind: {
            "requests_per_s": statistics.median(measured[kind]["requests_per_s"] for measured in by_round),
            "server_cores": statistics.median(measured[kind]["server_cores"] for measured in by_round),
            "errors": sum(measured[kind]["errors"] for measured in by_round),
        }
        for kind in SERVERS
    }
    for baseline in SERVERS[1:]:
        ratios = [
            ratio(measured["herdref"]["requests_per_s"], measured[baseline]["requests_per_s"])
            for measured in by_round
        ]
        row[f"herdref_vs_{baseline}"] = statistics.median(ratios)
        row[f"herdref_vs_{baseline}_rounds"] = ratios
        # Requests per CPU-second of the server: what other load on the machine disturbs least.
        row[f"herdref_vs_{baseline}_per_core"] = statistics.median(
            ratio(measured["herdref"]["per_core"] or 0.0, measured[baseline]["per_core"] or 0.0)
            for measured in by_round
        )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description="IAMAT throughput: herdref vs. minimal servers")
    parser.add_argument("--duration", type=float, default=1.5, help="seconds per measurement (default 1.5)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds, median kept (default 3)")
    parser.add_argument("--connections", default="1,10,100,1000")
    parser.add_argument("--loops", default="asyncio,uvloop")
    parser.add_argument("--workers", type=int, default=1, help="load generator processes (default 1)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    connection_counts = [int(count) for count in args.connections.split(",")]
    loops = args.loops.split(",")
    if "uvloop" in loops:
        try:
            import uvloop  # noqa: F401
        except ImportError:
            print(
                "uvloop is not installed (pip install 'herdref[speed]'): default loop only", file=sys.stderr
            )
            loops = [loop for loop in loops if loop != "uvloop"]
    load_before = os.getloadavg()
    load_pinned = pin_load_generator(cpu=1)
    by_loop: dict[str, Any] = {}
    server_cpus: set[frozenset[int]] = set()
    for loop in loops:
        by_loop[loop], cpus = run_loop(loop, connection_counts, args.duration, args.workers, args.rounds)
        server_cpus |= cpus
    # As observed, not as intended: a server left on the load generator's CPU is preempted by
    # it every few requests, and its figures then say more about the scheduler than the server.
    pinned = load_pinned and server_cpus == {frozenset({0})} and cpus_of(os.getpid()) == {1}
    report: dict[str, Any] = {
        "duration_s": args.duration,
        "rounds": args.rounds,
        "load_processes": args.workers,
        "pinned_server_cpu0_load_cpu1": pinned,
        "server_cpus": sorted(sorted(cpus) for cpus in server_cpus),
        "load_cpus": sorted(cpus_of(os.getpid())),
        "loadavg_before": [round(value, 2) for value in load_before],
        "loadavg_after": [round(value, 2) for value in os.getloadavg()],
        "by_loop": by_loop,
        "goal": {
            f"{loop}/{GOAL_AT_CONNECTIONS}": verdict(
                by_loop[loop][str(GOAL_AT_CONNECTIONS)]["herdref_vs_lean"], GOAL_VS_LEAN
            )
            for loop in by_loop
            if str(GOAL_AT_CONNECTIONS) in by_loop[loop]
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"IAMAT throughput, request-reply on kept-open connections, median of {args.rounds} alternating "
        f"rounds x {args.duration:g} s per server, {args.workers} load process(es), "
        + (
            "server on CPU 0 and load on CPU 1"
            if pinned
            else f"NOT pinned (servers on CPUs {report['server_cpus']}, load on {report['load_cpus']})"
        )
        + f"; load average before {report['loadavg_before'][0]}, after {report['loadavg_after'][0]}"
    )
    header = f"{'loop':<8} {'conns':>6} " + " ".join(f"{kind + ' req/s':>14}" for kind in SERVERS)
    header += (
        f" {'herdref/lean':>13} {'(rounds)':>20} {'per core':>9} {'herdref/iamat':>14} {'herdref/echo':>13}"
    )
    print(header)
    for loop, rows in by_loop.items():
        for connections, row in rows.items():
            rounds_text = ",".join(f"{value:.2f}" for value in row["herdref_vs_lean_rounds"])
            goal = (
                f"   goal >= {GOAL_VS_LEAN}: {verdict(row['herdref_vs_lean'], GOAL_VS_LEAN)}"
                if connections == str(GOAL_AT_CONNECTIONS)
                else ""
            )
            print(
                f"{loop:<8} {connections:>6} "
                + " ".join(f"{row[kind]['requests_per_s']:>14.0f}" for kind in SERVERS)
                + f" {row['herdref_vs_lean']:>13.2f} {rounds_text:>20}"
                + f" {row['herdref_vs_lean_per_core']:>9.2f}"
                + f" {row['herdref_vs_iamat']:>14.2f} {row['herdref_vs_echo']:>13.2f}"
                + goal
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
