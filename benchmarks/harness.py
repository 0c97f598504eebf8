"""What the benchmarks share: servers as subprocesses on free loopback ports, their CPU time,
and a load run through ``herdref.tools.bench`` (the same load generator as ``herdref bench``).

Every server is a separate process, so the load generator (its own processes, on the uvloop
loop when installed) never shares an event loop with the server it measures.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from herdref.checker.ports import LOOPBACK, herd_on_free_ports  # noqa: E402
from herdref.checker.processes import start_process, stop_processes, wait_listening  # noqa: E402
from herdref.herd.config import (  # noqa: E402
    LinkMode,
    PlacesProvider,
    PlacesSettings,
    dump_config,
    load_preset,
)
from herdref.tools.bench import LoadResult, LoadSettings, Target, percentile, run_load  # noqa: E402

#: The course's current herd, as shipped in the default preset.
_DEFAULT_HERD = load_preset()
DEFAULT_NAMES = list(_DEFAULT_HERD.servers)
DEFAULT_LINKS = sorted(tuple(sorted(pair)) for pair in _DEFAULT_HERD.links)
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def write_herd(
    directory: Path,
    names: Sequence[str],
    links: Sequence[tuple[str, str]] = (),
    *,
    provider: PlacesProvider = "fixture",
    mode: LinkMode = "persistent",
) -> Path:
    """A herd file on free ports with its logs in ``directory/logs``."""
    config = herd_on_free_ports(
        names, links, log_dir=directory / "logs", mode=mode, places=PlacesSettings(provider=provider)
    )
    path = directory / "herd.toml"
    path.write_text(dump_config(config), encoding="utf-8")
    return path


@dataclass
class ServerProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    @property
    def target(self) -> Target:
        return Target(self.name, LOOPBACK, self.port)


#: The CPUs this process may use as it started, before ``pin_load_generator`` narrows them: the
#: servers are given theirs from these (they would otherwise inherit the load generator's).
_CPUS_AT_START: frozenset[int] = (
    frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else frozenset()
)


def _can_pin(cpu: int | None = None) -> bool:
    """Whether processes can be given CPUs here (Linux affinity and ``taskset``), with two CPUs
    to give (and ``cpu`` among them)."""
    return (
        hasattr(os, "sched_setaffinity")
        and shutil.which("taskset") is not None
        and len(_CPUS_AT_START) >= 2
        and (cpu is None or cpu in _CPUS_AT_START)
    )


def pin_load_generator(cpu: int = 1) -> bool:
    """Run this process (and the load generator processes it forks) on ``cpu`` alone, so that
    servers pinned to another CPU never compete with it; False if it cannot be done."""
    if not _can_pin(cpu):
        return False
    os.sched_setaffinity(0, {cpu})
    return True


def cpus_of(pid: int) -> frozenset[int]:
    """The CPUs process ``pid`` may run on (empty where affinity is unknown)."""
    return frozenset(os.sched_getaffinity(pid)) if hasattr(os, "sched_getaffinity") else frozenset()


@contextlib.contextmanager
def processes(
    commands: dict[str, tuple[list[str], int]], *, server_cpu: int | None = None
) -> Iterator[dict[str, ServerProcess]]:
    """Start ``{name: (command, port)}``, wait until each listens, stop them all at the end.
    With ``server_cpu`` (and ``taskset`` available) every server runs on that CPU alone, whatever
    CPUs this process has been narrowed to since it started (``pin_load_generator``)."""
    started: dict[str, ServerProcess] = {}
    pin = ["taskset", "-c", str(server_cpu)] if server_cpu is not None and _can_pin(server_cpu) else []
    try:
        for name, (command, port) in commands.items():
            # taskset execs the command: the process (and its pid) is the server's.
            started[name] = ServerProcess(name, port, start_process([*pin, *command], cwd=ROOT))
        for server in started.values():
            wait_listening(server.process, LOOPBACK, server.port, deadline_s=15.0, name=server.name)
        yield started
    finally:
        stop_processes((server.process for server in started.values()), grace_s=10.0)


def herdref_command(herd_file: Path, name: str, loop: str) -> list[str]:
    return [sys.executable, "-m", "herdref", "serve", name, "--config", str(herd_file), "--loop", loop]


def baseline_command(kind: str, port: int, loop: str) -> list[str]:
    return [
        sys.executable,
        str(ROOT / "benchmarks" / "baseline_servers.py"),
        kind,
        "--port",
        str(port),
        "--loop",
        loop,
    ]


@dataclass
class Measurement:
    load: LoadResult
    server_cpu_s: float

    @property
    def requests_per_s(self) -> float:
        return self.load.requests_per_s

    @property
    def server_cores(self) -> float:
        """The share of one core the server used during the run."""
        return self.server_cpu_s / self.load.elapsed_s if self.load.elapsed_s else 0.0

    def summary(self) -> dict[str, Any]:
        latencies = sorted(self.load.by_server[next(iter(self.load.by_server))].latencies_ns)
        p50, p99 = (percentile(latencies, fraction) / 1e6 for fraction in (0.5, 0.99))
        errors = sum(counts.errors for counts in self.load.by_server.values())
        return {
            "requests_per_s": round(self.requests_per_s, 1),
            "requests": self.load.requests,
            "errors": errors,
            "p50_ms": round(p50, 3),
            "p99_ms": round(p99, 3),
            "server_cores": round(self.server_cores, 2),
            "per_core": round(self.load.requests / self.server_cpu_s, 1) if self.server_cpu_s else None,
        }


def measure(server: ServerProcess, settings: LoadSettings) -> Measurement:
    """Run the load against one server and note the CPU time it spent meanwhile."""
    cpu_before = server.cpu_seconds()
    load = run_load([server.target], settings)
    return Measurement(load, server.cpu_seconds() - cpu_before)


def ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 3) if denominator else float("nan")


def verdict(value: float, goal: float, *, at_most: bool = False) -> str:
    met = value <= goal if at_most else value >= goal
    return "met" if met else "MISSED"
