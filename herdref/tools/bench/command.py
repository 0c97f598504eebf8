"""``herdref bench``'s arguments and run: check the arguments, reach every server, run the load
with the prober beside it, print the report.

The report is the result (printed under ``-q`` too); the live progress line is not (``-q``
turns it off, even with ``--progress``); ``-v`` also logs each step on stderr."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import socket
import sys
import threading
import time
from pathlib import Path
from typing import NoReturn

from herdref.tools.bench.load import run_load
from herdref.tools.bench.propagation import measure_propagation
from herdref.tools.bench.report import build_report, format_report
from herdref.tools.bench.runs import DEFAULT_WORKERS, LoadSettings, PropagationResult, Target

__all__ = ["add_arguments", "run"]

logger = logging.getLogger(__name__)


class _UsageError(Exception):
    pass


def _usage_error(message: str) -> NoReturn:
    print(f"herdref bench: {message}", file=sys.stderr)
    raise SystemExit(2)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from herdref.tools.serve import add_herd_file_arguments

    parser.error = _usage_error  # type: ignore[method-assign]  # one stderr line, exit 2
    add_herd_file_arguments(parser)
    parser.add_argument("--servers", help="comma-separated servers to load (default: all)")
    parser.add_argument("--connections", type=int, default=50, help="client connections (default 50)")
    parser.add_argument(
        "--whatsat-ratio", type=float, default=0.1, help="share of requests that are WHATSAT (default 0.1)"
    )
    parser.add_argument("--whatsat-radius", default="10", help="WHATSAT radius in km (default 10)")
    parser.add_argument(
        "--whatsat-bound",
        type=int,
        help="WHATSAT bound (default: 5 if the herd file's Places provider is the offline fixture, "
        "else 0, so a benchmark never spends Google API quota unless asked to)",
    )
    parser.add_argument(
        "--pipeline", type=int, default=1, metavar="DEPTH", help="requests in flight per connection"
    )
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--duration", type=float, help="seconds of load (default 10)")
    stop.add_argument("--requests", type=int, help="total requests, instead of a duration")
    parser.add_argument(
        "--rate", type=float, help="pace the load to this many requests/s in total (default: unpaced)"
    )
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help=f"load processes (default {DEFAULT_WORKERS})"
    )
    parser.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="event loop of the load processes: uvloop when installed (auto), or force one",
    )
    parser.add_argument("--log-dir", type=Path, help="the herd's log directory (default: from the herd file)")
    parser.add_argument("--probe-interval-ms", type=float, default=50.0, help="pause between probes")
    parser.add_argument("--probe-poll-ms", type=float, default=0.5, help="WHATSAT poll interval of a probe")
    parser.add_argument("--no-probe", action="store_true", help="do not measure propagation")
    parser.add_argument(
        "--progress", action="store_true", help="show progress even when not a tty (not with -q)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _settings_from(args: argparse.Namespace) -> LoadSettings:
    from herdref.protocol import ProtocolError, _check_radius

    if args.connections < 1:
        raise _UsageError("--connections must be at least 1")
    if not 0.0 <= args.whatsat_ratio <= 1.0:
        raise _UsageError("--whatsat-ratio must be between 0 and 1")
    if args.whatsat_bound is not None and not 0 <= args.whatsat_bound <= 20:
        raise _UsageError("--whatsat-bound must be between 0 and 20")
    try:
        radius = args.whatsat_radius.encode("ascii")
        if not radius.replace(b".", b"", 1).isdigit():
            raise ValueError
        _check_radius(radius)
    except (ValueError, ProtocolError):
        raise _UsageError("--whatsat-radius must be a decimal in (0, 50]") from None
    if args.pipeline < 1:
        raise _UsageError("--pipeline must be at least 1")
    if args.workers < 1:
        raise _UsageError("--workers must be at least 1")
    if args.duration is not None and not args.duration > 0:
        raise _UsageError("--duration must be positive")
    if args.rate is not None and not args.rate > 0:
        raise _UsageError("--rate must be positive")
    if args.requests is not None and args.requests < 1:
        raise _UsageError("--requests must be at least 1")
    if args.probe_interval_ms < 0 or args.probe_poll_ms <= 0:
        raise _UsageError("--probe-interval-ms must be >= 0 and --probe-poll-ms > 0")
    duration = args.duration if args.duration is not None or args.requests is not None else 10.0
    return LoadSettings(
        connections=args.connections,
        whatsat_ratio=args.whatsat_ratio,
        whatsat_radius=radius,
        whatsat_bound=args.whatsat_bound if args.whatsat_bound is not None else 0,
        pipeline=args.pipeline,
        duration_s=duration,
        requests=args.requests,
        workers=args.workers,
        loop=args.loop,
        rate_per_s=args.rate,
        client_prefix=f"r{time.time_ns() % 10**9}-",
    )


def _reachable(target: Target) -> str | None:
    """None if the server accepts a connection, else why not."""
    try:
        with socket.create_connection((target.host, target.port), timeout=2.0):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def run(args: argparse.Namespace) -> int:
    from herdref.tools.serve import config_from_args

    try:
        settings = _settings_from(args)
    except _UsageError as exc:
        print(f"herdref bench: {exc}", file=sys.stderr)
        return 2
    config = config_from_args(args)
    if args.whatsat_bound is None and config.places.provider == "fixture":
        settings = dataclasses.replace(settings, whatsat_bound=5)
    names = list(config.servers)
    if args.servers:
        names = [name.strip() for name in args.servers.split(",") if name.strip()]
        unknown = [name for name in names if name not in config.servers]
        if unknown or not names:
            print(f"herdref bench: unknown server(s): {', '.join(unknown) or '(none)'}", file=sys.stderr)
            return 2
    targets = [Target(name, config.servers[name].host, config.servers[name].port) for name in names]
    every_server = [Target(name, address.host, address.port) for name, address in config.servers.items()]
    for target in every_server:
        reason = _reachable(target)
        if reason is not None:
            print(
                f"herdref bench: cannot reach {target.name} at {target.host}:{target.port}: {reason}",
                file=sys.stderr,
            )
            return 1

    logger.info("all %d servers accept connections; loading %s", len(every_server), ", ".join(names))
    show_progress = (args.progress or sys.stderr.isatty()) and not getattr(args, "quiet", False)

    def progress(completed: int, elapsed_s: float) -> None:
        rate = completed / elapsed_s if elapsed_s > 0 else 0.0
        print(f"\r  {elapsed_s:6.1f} s  {completed:>10} replies  {rate:>10.0f}/s", end="", file=sys.stderr)

    probe_result = None if args.no_probe or len(every_server) < 2 else PropagationResult()

    def prober(stop: threading.Event) -> None:
        if probe_result is None:
            return
        try:
            measure_propagation(
                every_server,
                result=probe_result,
                stop=stop,
                interval_s=args.probe_interval_ms / 1000,
                poll_interval_s=args.probe_poll_ms / 1000,
                client_prefix=settings.client_prefix,
            )
        except OSError as exc:  # ConnectionError included: the report says probing stopped
            probe_result.error = str(exc) or type(exc).__name__

    log_dir: Path = args.log_dir if args.log_dir is not None else config.log_dir
    log_paths = [log_dir / f"{name}.log" for name in config.servers]
    log_paths = log_paths if all(path.exists() for path in log_paths) else []
    logger.info(
        "load: %d connections, pipeline %d, %s; propagation probe %s; flooding counted %s",
        settings.connections,
        settings.pipeline,
        f"{settings.duration_s:g} s" if settings.duration_s else f"{settings.requests} requests",
        "off" if probe_result is None else f"every {args.probe_interval_ms:g} ms",
        f"from the logs in {log_dir}" if log_paths else f"nowhere (no logs in {log_dir})",
    )
    try:
        load = run_load(targets, settings, during=prober, on_progress=progress if show_progress else None)
    except (ConnectionError, OSError) as exc:
        if show_progress:
            print(file=sys.stderr)
        print(f"herdref bench: {exc}", file=sys.stderr)
        return 1
    if show_progress:
        print(file=sys.stderr)
    if load.requests == 0:
        print("herdref bench: no request got an answer", file=sys.stderr)
        return 1
    logger.info("load done: %d requests answered", load.requests)
    report = build_report(config, load, probe_result, log_paths)
    if not log_paths:
        report["flooding"] = {"source": f"no logs found in {log_dir} (use --log-dir)"}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    return 0
