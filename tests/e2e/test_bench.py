"""``herdref bench`` against a real five-server herd: the report's structure and arithmetic,
not its speed (timing goals live in benchmarks/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from herdref.herd.config import load_config

from .herd_harness import running_herd, write_herd_file


def bench(*arguments: str, timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "herdref", "bench", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def test_report_counts_add_up_against_a_real_herd(tmp_path: Path) -> None:
    herd_file = write_herd_file(tmp_path)
    with running_herd(herd_file):
        result = bench(
            "--config", str(herd_file), "--duration", "1", "--connections", "10", "--workers", "1",
            "--pipeline", "2", "--whatsat-ratio", "0.3", "--whatsat-bound", "0", "--json",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    total, servers = report["total"], report["servers"]
    assert set(servers) == {"Bailey", "Bona", "Campbell", "Clark", "Jaquez"}
    for entry in [*servers.values(), total]:
        assert entry["requests"] == entry["iamat"] + entry["whatsat"] + entry["errors"]
        latency = entry["latency_ms"]
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    for key in ("requests", "iamat", "whatsat", "errors"):
        assert total[key] == sum(entry[key] for entry in servers.values()), key
    # Ten connections, two per server, each starting with an IAMAT.
    assert all(entry["iamat"] >= 2 for entry in servers.values())
    assert total["whatsat"] > 0
    assert total["errors"] == 0 and total["connection_errors"] == 0
    # The rate is the count over the run's length (elapsed_s is rounded to the millisecond).
    rate = total["requests"] / report["elapsed_s"]
    assert abs(total["requests_per_s"] - rate) < 0.01 * rate

    propagation = report["propagation"]
    assert propagation["complete"] >= 1
    assert propagation["probes"] == propagation["complete"] + propagation["incomplete"]
    assert 0 < propagation["p50"] <= propagation["p99"] <= propagation["max"]

    flooding = report["flooding"]
    config = load_config(herd_file)
    assert flooding["bound_per_update"] == 8  # 12 link ends - (5 - 1) for the default topology
    assert flooding["updates"] == total["iamat"] + propagation["probes"]
    # FLOOD-2/3: an update is sent at most once over each link, never back: never above the bound.
    assert 0 < flooding["at_messages"] <= flooding["updates"] * flooding["bound_per_update"]
    assert set(config.servers) == set(servers)


def test_an_unreachable_herd_is_one_line_and_status_1(tmp_path: Path) -> None:
    herd_file = write_herd_file(tmp_path)  # nothing is started on its ports
    result = bench("--config", str(herd_file), "--duration", "1")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("herdref bench: cannot reach ")


def test_bad_arguments_are_one_line_and_status_2(tmp_path: Path) -> None:
    herd_file = write_herd_file(tmp_path)
    for arguments in (
        ["--connections", "0"],
        ["--connections", "many"],
        ["--whatsat-ratio", "1.5"],
        ["--pipeline", "0"],
        ["--duration", "1", "--requests", "5"],
        ["--servers", "Nobody"],
    ):
        result = bench("--config", str(herd_file), *arguments)
        assert result.returncode == 2, arguments
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("herdref bench: "), arguments
