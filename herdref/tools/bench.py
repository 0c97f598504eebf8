"""``herdref bench``: load-test a running herd and report throughput, latency, propagation
and flooding cost.

How it measures:

* Load: ``--workers`` separate processes (forked; default 2), each with its own event loop,
  share ``--connections`` client connections spread round-robin over the servers. Every
  connection has its own client ID, starts with an IAMAT, then sends a mix of IAMAT and
  ``WHATSAT <own id> <radius> <bound>`` (``--whatsat-ratio``), one request at a time or
  ``--pipeline DEPTH`` in flight. Every IAMAT carries a strictly newer client time, so each
  one is a new record that the herd stores and floods. Latency is from the write of a
  request to the arrival of the last octet of its reply (replies are framed by the protocol:
  one line, or for WHATSAT everything up to the empty line, FRAME-3, WHATSAT-5).
* Propagation: meanwhile this process sends one probe IAMAT at a time to a server (in turn)
  and polls every other server with ``WHATSAT <probe id> 1 0`` (bound 0: no Places call) every
  ``--probe-poll-ms`` until each returns the probe's AT line. The time from the IAMAT's reply
  to the last server's matching reply is one propagation sample; its resolution is the poll
  interval plus one round trip. One probe at a time, so probing stays a small share of the
  load.
* Flooding cost: the servers' own logs (``<log dir>/<Name>.log``, LOG-1) have one ``FLOOD``
  line per AT line written to a neighbour. AT messages per update = FLOOD lines logged during
  the run / IAMATs that stored a new record, compared with the bound for one update flooded
  through a connected herd: sum of degrees - (servers - 1) (FLOOD-1, FLOOD-3). Fewer means
  records coalesced in outboxes (LINK-5).

Exit status: 0 after a report; 1 if the herd (or any chosen server) cannot be reached or no
request got an answer; 2 for bad arguments. Each failure is one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import itertools
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import random
import resource
import socket
import sys
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn, cast

if TYPE_CHECKING:
    from herdref.herd.config import HerdConfig

__all__ = [
    "LoadResult",
    "LoadSettings",
    "PropagationResult",
    "Target",
    "add_arguments",
    "count_log_lines",
    "flooding_bound",
    "measure_propagation",
    "percentile",
    "run",
    "run_load",
    "wait_for_quiet_logs",
]

DEFAULT_WORKERS: Final = 2
_CONNECT_TIMEOUT_S: Final = 5.0
_DRAIN_TIMEOUT_S: Final = 10.0
_READY_TIMEOUT_S: Final = 60.0
_LOCATION: Final = b"+34.068930-118.445127"
_NANOS: Final = 1_000_000_000
_READ_BUFFER_BYTES: Final = 65_536
_IAMAT: Final = 0
_WHATSAT: Final = 1


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """One server to put load on."""

    name: str
    host: str
    port: int


@dataclasses.dataclass(frozen=True, slots=True)
class LoadSettings:
    connections: int = 10
    whatsat_ratio: float = 0.0
    whatsat_radius: bytes = b"10"
    whatsat_bound: int = 0
    pipeline: int = 1
    #: Stop after this many seconds, or after ``requests`` requests, whichever is set.
    duration_s: float | None = 5.0
    requests: int | None = None
    workers: int = DEFAULT_WORKERS
    #: "auto" (uvloop when installed), "asyncio" or "uvloop"; for the load generator only.
    loop: str = "auto"
    #: Prefix of the client IDs, so concurrent runs do not share clients.
    client_prefix: str = ""
    seed: int = 1
    #: Requests per second over all connections (paced), or None for as fast as replies come.
    rate_per_s: float | None = None


@dataclasses.dataclass(slots=True)
class ServerCounts:
    """What one server answered (merged over workers)."""

    iamat: int = 0
    whatsat: int = 0
    errors: int = 0
    latencies_ns: array[int] = dataclasses.field(default_factory=lambda: array("q"))

    @property
    def requests(self) -> int:
        return self.iamat + self.whatsat + self.errors


@dataclasses.dataclass(slots=True)
class LoadResult:
    settings: LoadSettings
    elapsed_s: float
    by_server: dict[str, ServerCounts]
    connection_errors: int
    #: Monotonic start and end of the load, and their wall-clock (time.time) equivalents.
    started_wall: float
    ended_wall: float

    @property
    def requests(self) -> int:
        return sum(counts.requests for counts in self.by_server.values())

    @property
    def iamat(self) -> int:
        return sum(counts.iamat for counts in self.by_server.values())

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclasses.dataclass(slots=True)
class PropagationResult:
    samples_ns: list[int] = dataclasses.field(default_factory=list)
    incomplete: int = 0
    polls: int = 0
    poll_interval_s: float = 0.0005
    #: Why probing stopped early, if it did.
    error: str | None = None


# ---- statistics ----------------------------------------------------------------------------


def percentile(sorted_values: Sequence[int] | Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (nan for none)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return float(sorted_values[rank - 1])


def _latency_summary_ms(values_ns: Iterable[int]) -> dict[str, float | None]:
    ordered = sorted(values_ns)
    summary: dict[str, float | None] = {}
    for label, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)):
        value = percentile(ordered, fraction)
        summary[label] = None if math.isnan(value) else round(value / 1e6, 4)
    return summary


# ---- the load generator (runs in worker processes) -----------------------------------------


class _ClientTime:
    """Strictly increasing client times (POSIX seconds, nine decimals), so every IAMAT is
    newer than the last one of its client (FLOOD-2)."""

    __slots__ = ("_last_ns",)

    def __init__(self) -> None:
        self._last_ns = 0

    def next(self) -> bytes:
        now_ns = max(time.time_ns(), self._last_ns + 1)
        self._last_ns = now_ns
        return b"%d.%09d" % divmod(now_ns, _NANOS)


class _LoadConnection(asyncio.BufferedProtocol):
    """One client connection of the load: keeps ``pipeline`` requests in flight.

    It reads into its worker's one preallocated buffer (``BufferedProtocol``): on the default
    loop a plain ``Protocol`` gets a fresh 256 KiB buffer per read, which glibc maps and unmaps
    every time, and the load generator would measure itself."""

    def __init__(
        self,
        worker: _Worker,
        counts: ServerCounts,
        client_id: bytes,
        quota: int | None,
    ) -> None:
        self.worker = worker
        self.counts = counts
        self.client_id = client_id
        self.quota = quota
        self.sent = 0
        self.transport: asyncio.Transport | None = None
        self.in_flight: collections.deque[tuple[int, int]] = collections.deque()
        self.buffer = b""
        self.clock = _ClientTime()
        self.timer: asyncio.TimerHandle | None = None
        #: Paced load: when this connection's next request is due (staggered start).
        self.next_send_ns = 0
        self.whatsat_line = b"WHATSAT %s %s %d\n" % (
            client_id,
            worker.settings.whatsat_radius,
            worker.settings.whatsat_bound,
        )
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast("asyncio.Transport", transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.in_flight and not self.worker.stopping:
            self.worker.connection_errors += 1
        for _ in range(len(self.in_flight)):
            self.worker.answered(counted=False)
        self.in_flight.clear()
        if not self.closed.done():
            self.closed.set_result(None)
        self.worker.connection_done()

    def may_send(self) -> bool:
        if not self.worker.sending:
            return False
        return self.quota is None or self.sent < self.quota

    def fill(self) -> None:
        """Send requests until ``pipeline`` are in flight (or, when paced, until the next one
        is not due yet), in one write."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        worker = self.worker
        depth = worker.settings.pipeline
        ratio = worker.settings.whatsat_ratio
        rand = worker.random.random
        interval_ns = worker.interval_ns
        lines: list[bytes] = []
        now = time.monotonic_ns()
        if interval_ns and self.next_send_ns < now - interval_ns:
            self.next_send_ns = now - interval_ns  # behind schedule: catch up by one, not a burst
        while len(self.in_flight) < depth and self.may_send():
            if interval_ns:
                if self.next_send_ns > now:
                    if self.timer is None:
                        self.timer = asyncio.get_running_loop().call_later(
                            (self.next_send_ns - now) / _NANOS, self._due
                        )
                    break
                self.next_send_ns += interval_ns
            # The first request of a connection is an IAMAT, so WHATSAT has a record to find.
            if self.sent and ratio and rand() < ratio:
                lines.append(self.whatsat_line)
                self.in_flight.append((_WHATSAT, now))
            else:
                lines.append(b"IAMAT %s %s %s\n" % (self.client_id, _LOCATION, self.clock.next()))
                self.in_flight.append((_IAMAT, now))
            self.sent += 1
        if lines:
            worker.outstanding += len(lines)
            transport.write(b"".join(lines))
        elif not self.in_flight and not self.may_send():
            transport.close()

    def _due(self) -> None:
        self.timer = None
        self.fill()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.worker.read_view

    def buffer_updated(self, nbytes: int) -> None:
        data = self.worker.read_view[:nbytes].tobytes()
        buffer = self.buffer + data if self.buffer else data
        position = 0
        counts = self.counts
        latencies = counts.latencies_ns
        now = time.monotonic_ns()
        in_flight = self.in_flight
        worker = self.worker
        while in_flight:
            kind, sent_ns = in_flight[0]
            if position >= len(buffer):
                break
            error = buffer[position] == 0x3F  # '?': ERR-1, one line
            if kind == _IAMAT or error:
                end = buffer.find(b"\n", position)
                if end < 0:
                    break
                end += 1
            else:
                end = buffer.find(b"\n\n", position)  # WHATSAT-5: ends with an empty line
                if end < 0:
                    break
                end += 2
            in_flight.popleft()
            worker.answered()
            position = end
            latencies.append(now - sent_ns)
            if error:
                counts.errors += 1
            elif kind == _IAMAT:
                counts.iamat += 1
            else:
                counts.whatsat += 1
            self.buffer = buffer[position:]
        self.fill()


class _Worker:
    """One load process: its connections, its counts."""

    def __init__(self, index: int, targets: Sequence[Target], settings: LoadSettings) -> None:
        self.index = index
        self.targets = targets
        self.settings = settings
        self.random = random.Random(settings.seed * 1000 + index)
        #: Paced load: nanoseconds between two requests of one connection (0: not paced).
        self.interval_ns = (
            int(settings.connections / settings.rate_per_s * _NANOS) if settings.rate_per_s else 0
        )
        self.by_server = {target.name: ServerCounts() for target in targets}
        self.connections: list[_LoadConnection] = []
        #: False once the duration is over: no new requests, only the replies in flight.
        self.sending = True
        #: True when closing on purpose, so a lost connection is not an error.
        self.stopping = False
        self.started_ns = 0
        self.ended_ns = 0
        self.completed = 0
        #: Requests sent and not yet answered, over all connections.
        self.outstanding = 0
        self.drained = asyncio.Event()
        self.connection_errors = 0
        self.open_connections = 0
        self.all_closed: asyncio.Future[None] | None = None
        #: One receive buffer for all connections: each read is copied out before the next.
        self.read_view = memoryview(bytearray(_READ_BUFFER_BYTES))

    def my_connections(self) -> list[tuple[int, int]]:
        """(global connection number, its quota) for this worker's share."""
        settings = self.settings
        numbers = range(self.index, settings.connections, settings.workers)
        quotas: list[tuple[int, int]] = []
        for number in numbers:
            quota = 0
            if settings.requests is not None:
                quota = settings.requests // settings.connections
                quota += 1 if number < settings.requests % settings.connections else 0
            quotas.append((number, quota))
        return quotas

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        self.all_closed = loop.create_future()
        for number, quota in self.my_connections():
            target = self.targets[number % len(self.targets)]
            client_id = f"{self.settings.client_prefix}bench{os.getpid()}-{number}".encode()
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    self._factory(target, client_id, quota),
                    target.host,
                    target.port,
                ),
                _CONNECT_TIMEOUT_S,
            )
            self.connections.append(connection)
            self.open_connections += 1

    def _factory(self, target: Target, client_id: bytes, quota: int) -> Callable[[], _LoadConnection]:
        counts = self.by_server[target.name]
        limit = quota if self.settings.requests is not None else None
        return lambda: _LoadConnection(self, counts, client_id, limit)

    def answered(self, *, counted: bool = True) -> None:
        """One request is done (answered, or lost with its connection)."""
        self.outstanding -= 1
        if counted:
            self.completed += 1
        if not self.sending and self.outstanding <= 0:
            self.drained.set()

    def connection_done(self) -> None:
        self.open_connections -= 1
        if self.open_connections <= 0 and self.all_closed is not None and not self.all_closed.done():
            self.all_closed.set_result(None)

    async def run(self, progress: Any) -> None:
        self.started_ns = time.monotonic_ns()
        for connection in self.connections:
            connection.next_send_ns = self.started_ns + int(self.random.random() * self.interval_ns)
            connection.fill()
        deadline = (
            time.monotonic() + self.settings.duration_s if self.settings.duration_s is not None else None
        )
        assert self.all_closed is not None
        while not self.all_closed.done():
            progress[self.index] = self.completed
            if deadline is not None and time.monotonic() >= deadline:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.all_closed), 0.1)
        # Stop sending; wait for the replies already asked for, then close.
        self.sending = False
        if self.outstanding > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drained.wait(), _DRAIN_TIMEOUT_S)
        self.ended_ns = time.monotonic_ns()
        self.stopping = True
        for connection in self.connections:
            if connection.transport is not None:
                connection.transport.close()
        progress[self.index] = self.completed

    def results(self) -> dict[str, Any]:
        return {
            "by_server": {
                name: (counts.iamat, counts.whatsat, counts.errors, counts.latencies_ns.tobytes())
                for name, counts in self.by_server.items()
            },
            "connection_errors": self.connection_errors,
            "started_ns": self.started_ns,
            "ended_ns": self.ended_ns,
        }


def _new_loop(choice: str) -> asyncio.AbstractEventLoop:
    if choice in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _worker_main(
    index: int,
    targets: Sequence[Target],
    settings: LoadSettings,
    *,
    pipe: multiprocessing.connection.Connection,
    start: Any,
    progress: Any,
) -> None:
    # A thousand connections need more descriptors than a common default soft limit (1024).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = _new_loop(settings.loop)
    asyncio.set_event_loop(loop)
    worker = _Worker(index, targets, settings)
    try:
        try:
            loop.run_until_complete(worker.connect())
        except (OSError, TimeoutError) as exc:
            pipe.send(("error", f"cannot connect: {exc}"))
            return
        pipe.send(("ready", None))
        if not start.wait(_READY_TIMEOUT_S):
            return
        loop.run_until_complete(worker.run(progress))
        pipe.send(("done", worker.results()))
    finally:
        loop.close()
        pipe.close()


def run_load(
    targets: Sequence[Target],
    settings: LoadSettings,
    *,
    during: Callable[[threading.Event], None] | None = None,
    on_progress: Callable[[int, float], None] | None = None,
) -> LoadResult:
    """Run the load in ``settings.workers`` forked processes and merge their counts.

    ``during(stop)`` runs in a thread of this process once the load has started (the prober);
    ``stop`` is set when the load is over, and the thread is waited for.
    ``on_progress(completed, elapsed_s)`` is called about ten times a second.

    Raises:
        ConnectionError: a worker could not open its connections.
    """
    context = multiprocessing.get_context("fork")
    workers = min(settings.workers, settings.connections)
    settings = dataclasses.replace(settings, workers=workers)
    start = context.Event()
    progress = context.Array("q", workers, lock=False)
    pipes: list[multiprocessing.connection.Connection] = []
    processes = []
    for index in range(workers):
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_worker_main,
            args=(index, targets, settings),
            kwargs={"pipe": theirs, "start": start, "progress": progress},
            name=f"herdref-bench-{index}",
            daemon=True,
        )
        process.start()
        theirs.close()
        pipes.append(ours)
        processes.append(process)
    try:
        for pipe in pipes:
            if not pipe.poll(_READY_TIMEOUT_S):
                raise ConnectionError("a load worker did not get ready in time")
            try:
                status, detail = pipe.recv()
            except EOFError:
                raise ConnectionError("a load worker died while connecting") from None
            if status != "ready":
                raise ConnectionError(str(detail))
        started = time.monotonic()
        started_wall = time.time()
        start.set()
        stop_side_job = threading.Event()
        side_job = None
        if during is not None:
            side_job = threading.Thread(
                target=during, args=(stop_side_job,), name="bench-prober", daemon=True
            )
            side_job.start()
        try:
            results: list[dict[str, Any]] = []
            waiting = list(pipes)
            while waiting:
                for ready in multiprocessing.connection.wait(waiting, timeout=0.1):
                    pipe = cast("multiprocessing.connection.Connection", ready)
                    try:
                        status, detail = pipe.recv()
                    except EOFError:
                        raise ConnectionError("a load worker died during the run") from None
                    results.append(detail)
                    waiting.remove(pipe)
                if on_progress is not None:
                    on_progress(sum(progress[:]), time.monotonic() - started)
            ended_wall = time.time()
        finally:
            stop_side_job.set()
            if side_job is not None:
                side_job.join()
    finally:
        for process in processes:
            process.join(5.0)
            if process.is_alive():
                process.kill()
                process.join()
        for pipe in pipes:
            pipe.close()
    # The load's own span: from the first worker's first request to the last worker's last reply.
    elapsed = (max(r["ended_ns"] for r in results) - min(r["started_ns"] for r in results)) / _NANOS
    by_server = {target.name: ServerCounts() for target in targets}
    connection_errors = 0
    for result in results:
        connection_errors += result["connection_errors"]
        for name, (iamat, whatsat, errors, latencies) in result["by_server"].items():
            counts = by_server[name]
            counts.iamat += iamat
            counts.whatsat += whatsat
            counts.errors += errors
            counts.latencies_ns.frombytes(latencies)
    return LoadResult(settings, elapsed, by_server, connection_errors, started_wall, ended_wall)


# ---- propagation ---------------------------------------------------------------------------


class _LineClient:
    """A blocking client for the prober: precise to the microsecond, unlike a poll interval on
    an event loop (epoll's timeout is whole milliseconds)."""

    def __init__(self, target: Target) -> None:
        self.socket = socket.create_connection((target.host, target.port), timeout=_CONNECT_TIMEOUT_S)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def send(self, line: bytes) -> None:
        self.socket.sendall(line)

    def _read_until(self, end: bytes) -> bytes:
        while (position := self.buffer.find(end)) < 0:
            chunk = self.socket.recv(65_536)
            if not chunk:
                raise ConnectionError("the server closed the prober's connection")
            self.buffer += chunk
        reply, self.buffer = self.buffer[: position + len(end)], self.buffer[position + len(end) :]
        return reply

    def read_line(self) -> bytes:
        return self._read_until(b"\n")[:-1]

    def read_whatsat(self) -> bytes | None:
        """The first line of a WHATSAT reply (WHATSAT-5), or None for ``?`` (ERR-1)."""
        first = self._read_until(b"\n")
        if first.startswith(b"?"):
            return None
        self._read_until(b"\n\n")  # the JSON holds no empty line (WHATSAT-5)
        return first[:-1]

    def close(self) -> None:
        self.socket.close()


def measure_propagation(
    targets: Sequence[Target],
    *,
    result: PropagationResult,
    stop: threading.Event | None = None,
    probes: int | None = None,
    interval_s: float = 0.05,
    poll_interval_s: float = 0.0005,
    timeout_s: float = 2.0,
    client_prefix: str = "",
) -> PropagationResult:
    """Send probe IAMATs one at a time (to each server in turn) and time how long until
    every other server returns the probe's record. Runs until ``stop`` is set or ``probes``
    are done; samples go into ``result`` as they are taken."""
    result.poll_interval_s = poll_interval_s
    clients = {target.name: _LineClient(target) for target in targets}
    clock = _ClientTime()
    try:
        for number in itertools.count():
            if (probes is not None and number >= probes) or (stop is not None and stop.is_set()):
                break
            origin = targets[number % len(targets)]
            client_id = f"{client_prefix}probe{os.getpid()}-{number}".encode()
            clients[origin.name].send(b"IAMAT %s %s %s\n" % (client_id, _LOCATION, clock.next()))
            at_line = clients[origin.name].read_line()
            replied_ns = time.monotonic_ns()
            pending = [target.name for target in targets if target.name != origin.name]
            last_seen_ns = replied_ns
            give_up_ns = replied_ns + int(timeout_s * _NANOS)
            while pending and time.monotonic_ns() < give_up_ns:
                question = b"WHATSAT %s 1 0\n" % client_id
                for name in pending:
                    clients[name].send(question)
                answers = [clients[name].read_whatsat() for name in pending]
                now_ns = time.monotonic_ns()
                result.polls += len(pending)
                if any(answer == at_line for answer in answers):
                    last_seen_ns = now_ns
                pending = [name for name, answer in zip(pending, answers, strict=True) if answer != at_line]
                if pending:
                    time.sleep(poll_interval_s)
            if pending:
                result.incomplete += 1
            else:
                result.samples_ns.append(last_seen_ns - replied_ns)
            if stop is not None:
                stop.wait(interval_s)
            else:
                time.sleep(interval_s)
    finally:
        for client in clients.values():
            client.close()
    return result


# ---- flooding cost -------------------------------------------------------------------------


def flooding_bound(config: HerdConfig) -> int:
    """AT messages one update costs when flooded through a connected herd: the origin sends to
    each neighbour and every other server to each neighbour but the sender (FLOOD-1, FLOOD-3)."""
    degrees = sum(len(config.neighbours(name)) for name in config.servers)
    return degrees - (len(config.servers) - 1)


def count_log_lines(paths: Iterable[Path], kind: bytes, since_wall: float, until_wall: float) -> int:
    """How many ``<time> <kind> ...`` lines the logs hold with a time in the window."""
    total = 0
    for path in paths:
        try:
            with path.open("rb") as log:
                for line in log:
                    stamp, _, rest = line.partition(b" ")
                    if not rest.startswith(kind + b" "):
                        continue
                    try:
                        when = float(stamp)
                    except ValueError:
                        continue
                    if since_wall <= when <= until_wall:
                        total += 1
        except FileNotFoundError:
            continue
    return total


def wait_for_quiet_logs(paths: Sequence[Path], *, quiet_s: float = 0.3, deadline_s: float = 5.0) -> None:
    """Wait until the log files stop growing (floods settled and flushed), or the deadline."""

    def sizes() -> list[int]:
        return [path.stat().st_size if path.exists() else 0 for path in paths]

    give_up = time.monotonic() + deadline_s
    last = sizes()
    last_change = time.monotonic()
    while time.monotonic() < give_up:
        time.sleep(0.05)  # polling interval while watching the files
        now = sizes()
        if now != last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change >= quiet_s:
            return


# ---- the command ---------------------------------------------------------------------------


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
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument("--log-dir", type=Path, help="the herd's log directory (default: from the herd file)")
    parser.add_argument("--probe-interval-ms", type=float, default=50.0, help="pause between probes")
    parser.add_argument("--probe-poll-ms", type=float, default=0.5, help="WHATSAT poll interval of a probe")
    parser.add_argument("--no-probe", action="store_true", help="do not measure propagation")
    parser.add_argument("--progress", action="store_true", help="show progress even when not a tty")
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


def _report(
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
            "latency_ms": _latency_summary_ms(counts.latencies_ns),
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
            "latency_ms": _latency_summary_ms(
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
            **_latency_summary_ms(ordered),
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


def _format_report(report: dict[str, Any]) -> str:
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
        lines.append(
            f"flooding: {flooding['at_messages']} AT messages for {flooding['updates']} updates = "
            f"{flooding['per_update']} per update (bound {flooding['bound_per_update']})"
        )
    return "\n".join(lines)


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

    show_progress = args.progress or sys.stderr.isatty()

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
    report = _report(config, load, probe_result, log_paths)
    if not log_paths:
        report["flooding"] = {"source": f"no logs found in {log_dir} (use --log-dir)"}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_format_report(report))
    return 0
