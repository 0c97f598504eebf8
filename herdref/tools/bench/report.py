"""The report of a run: latency percentiles, the JSON document (``--json``) and its text form."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from herdref.tools.bench.flooding import count_log_lines, flooding_bound, wait_for_quiet_logs
from herdref.tools.bench.runs import LoadResult, PropagationResult

if TYPE_CHECKING:
    from herdref.herd.config import HerdConfig

__all__ = ["build_report", "format_report", "latency_summary_ms", "percentile"]


def percentile(sorted_values: Sequence[int] | Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (nan for none)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return float(sorted_values[rank - 1])


def latency_summary_ms(values_ns: Iterable[int]) -> dict[str, float | None]:
    ordered = sorted(values_ns)
    summary: dict[str, float | None] = {}
    for label, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)):
        value = percentile(ordered, fraction)
        summary[label] = None if math.isnan(value) else round(value / 1e6, 4)
    return summary


def build_report(
    config: HerdConfig,
    load: LoadResult,
    propagation: PropagationResult | None,
    log_paths: list[Path],
) -> dict[str, Any]:
    settings = load.settings
    servers: dict[str, Any] = {}
    for name, counts in load.by_server.items():
        servers[name] = {
            "requests": counts.requests,
            "iamat": counts.iamat,
            "whatsat": counts.whatsat,
            "errors": counts.errors,
            "requests_per_s": round(counts.requests / load.elapsed_s, 1) if load.elapsed_s else 0.0,
            "latency_ms": latency_summary_ms(counts.latencies_ns),
        }
    report: dict[str, Any] = {
        "settings": {
            "servers": list(load.by_server),
            "connections": settings.connections,
            "workers": settings.workers,
            "pipeline": settings.pipeline,
            "rate_per_s": settings.rate_per_s,
            "whatsat_ratio": settings.whatsat_ratio,
            "whatsat_bound": settings.whatsat_bound,
            "duration_s": settings.duration_s if settings.requests is None else None,
            "requests": settings.requests,
            "link_mode": config.link_mode,
        },
        "elapsed_s": round(load.elapsed_s, 3),
        "total": {
            "requests": load.requests,
            "iamat": load.iamat,
            "whatsat": sum(counts.whatsat for counts in load.by_server.values()),
            "errors": sum(counts.errors for counts in load.by_server.values()),
            "connection_errors": load.connection_errors,
            "requests_per_s": round(load.requests_per_s, 1),
            "latency_ms": latency_summary_ms(
                itertools.chain.from_iterable(counts.latencies_ns for counts in load.by_server.values())
            ),
        },
        "servers": servers,
    }
    if propagation is not None:
        ordered = sorted(propagation.samples_ns)
        report["propagation"] = {
            "probes": len(ordered) + propagation.incomplete,
            "complete": len(ordered),
            "incomplete": propagation.incomplete,
            "polls": propagation.polls,
            "poll_interval_ms": propagation.poll_interval_s * 1000,
            "error": propagation.error,
            **latency_summary_ms(ordered),
        }
    if log_paths:
        wait_for_quiet_logs(log_paths)
        floods = count_log_lines(log_paths, b"FLOOD", load.started_wall - 0.01, time.time())
        # Every bench IAMAT and every probe carries a newer client time: one update each.
        probes = report.get("propagation", {}).get("probes", 0)
        updates = load.iamat + probes
        report["flooding"] = {
            "source": "FLOOD lines in " + ", ".join(str(path) for path in log_paths),
            "at_messages": floods,
            "updates": updates,
            "per_update": round(floods / updates, 3) if updates else None,
            "bound_per_update": flooding_bound(config),
        }
    return report


def format_report(report: dict[str, Any]) -> str:
    settings = report["settings"]
    total = report["total"]
    lines = [
        f"herdref bench: {settings['connections']} connections from {settings['workers']} load "
        f"process{'es' if settings['workers'] != 1 else ''}, pipeline {settings['pipeline']}, "
        f"{settings['whatsat_ratio']:.0%} WHATSAT, "
        f"{report['elapsed_s']:.2f} s",
        "",
        f"{'server':<12} {'requests':>9} {'req/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7}",
    ]

    def row(name: str, entry: dict[str, Any]) -> str:
        latency = entry["latency_ms"]

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.3f}"

        return (
            f"{name:<12} {entry['requests']:>9} {entry['requests_per_s']:>10.1f} {ms(latency['p50']):>8} "
            f"{ms(latency['p95']):>8} {ms(latency['p99']):>8} {entry['errors']:>7}"
        )

    for name, entry in report["servers"].items():
        lines.append(row(name, entry))
    lines.append(row("all", total))
    lines.append(
        f"  ({total['iamat']} IAMAT, {total['whatsat']} WHATSAT, {total['errors']} '?' replies, "
        f"{total['connection_errors']} connections lost)"
    )
    propagation = report.get("propagation")
    if propagation is not None:
        lines.append("")
        if propagation["complete"]:
            lines.append(
                f"propagation to every server: p50 {propagation['p50']:.3f} ms, "
                f"p99 {propagation['p99']:.3f} ms, max {propagation['max']:.3f} ms "
                f"over {propagation['complete']} probes "
                f"(polled every {propagation['poll_interval_ms']:g} ms; "
                f"{propagation['incomplete']} incomplete)"
            )
        else:
            lines.append(f"propagation: no probe completed ({propagation['incomplete']} incomplete)")
        if propagation["error"]:
            lines.append(f"  probing stopped early: {propagation['error']}")
    flooding = report.get("flooding")
    if flooding is not None and "at_messages" not in flooding:
        lines.append(f"flooding: not measured: {flooding['source']}")
    elif flooding is not None:
        bound = flooding["bound_per_update"]
        lines.append(
            f"flooding: {flooding['at_messages']} AT messages for {flooding['updates']} updates = "
            f"{flooding['per_update']} per update "
            + (f"(bound {bound})" if bound is not None else "(no one bound: the herd is not connected)")
        )
    return "\n".join(lines)
