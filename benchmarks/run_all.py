"""Run every benchmark, one after the other, and print what each measured.

Usage::

    python3 benchmarks/run_all.py [--only NAME[,NAME...]] [--json]

Each benchmark is a separate ``python3 benchmarks/bench_*.py`` process with its default
settings (each also runs alone; see benchmarks/README.md). They run one at a time because they
measure the machine: two at once would measure each other. With ``--json`` the figures are
collected into one JSON document on standard output; otherwise each benchmark's report is
printed as it finishes. Timing goals are reported, never asserted: the exit status is 0 unless
a benchmark itself failed to run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("parser", "iamat_path", "throughput", "propagation", "memory", "whatsat", "startup")


def main() -> int:
    parser = argparse.ArgumentParser(description="run every herdref benchmark")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--json", action="store_true", help="one JSON document with every figure")
    args = parser.parse_args()
    chosen = BENCHMARKS if args.only is None else tuple(args.only.split(","))
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"run_all: unknown benchmark(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    collected: dict[str, object] = {}
    failed = []
    for name in chosen:
        script = HERE / f"bench_{name}.py"
        if not script.exists():
            print(f"== {name}: {script.name} is missing, skipped", file=sys.stderr)
            failed.append(name)
            continue
        command = [sys.executable, str(script), *(["--json"] if args.json else [])]
        print(f"== {name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
        started = time.monotonic()
        result = subprocess.run(command, stdout=subprocess.PIPE, text=True)
        took = time.monotonic() - started
        if result.returncode != 0:
            print(f"== {name}: failed with status {result.returncode}", file=sys.stderr)
            failed.append(name)
            continue
        if args.json:
            collected[name] = {"seconds": round(took, 1), **json.loads(result.stdout)}
        else:
            print(result.stdout.rstrip())
            print(f"   ({took:.0f} s)\n", flush=True)
    if args.json:
        print(json.dumps(collected, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
