"""benchmarks/harness.py: servers and load generator on separate CPUs, as the throughput figures
assume (a server sharing the load generator's CPU is preempted by it every few requests)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# In a process of its own, as bench_throughput.py does it: narrow this process to CPU 1 for the
# load generator first, then start a server asked to run on CPU 0.
PIN_THEN_START = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
from harness import baseline_command, cpus_of, pin_load_generator, processes
from herdref.checker.ports import free_ports
(port,) = free_ports(1)
load_pinned = pin_load_generator(cpu=1)
with processes({"echo": (baseline_command("echo", port, "asyncio"), port)}, server_cpu=0) as servers:
    server = sorted(cpus_of(servers["echo"].process.pid))
print(json.dumps({"load_pinned": load_pinned, "load": sorted(cpus_of(os.getpid())), "server": server}))
"""


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity")
    or not {0, 1} <= os.sched_getaffinity(0)
    or shutil.which("taskset") is None,
    reason="needs CPU affinity, taskset and CPUs 0 and 1",
)
def test_a_server_started_after_the_load_generator_is_pinned_runs_on_its_own_cpu() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PIN_THEN_START, str(ROOT / "benchmarks")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    # Before the fix the server inherited the load generator's CPU 1 and was never pinned.
    assert json.loads(result.stdout) == {"load_pinned": True, "load": [1], "server": [0]}
