"""The load generator: worker processes, each with its own event loop, keep their share of the
client connections busy and count every reply by server (see ``herdref.tools.bench``)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import random
import resource
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, cast

from herdref.tools.bench.runs import (
    CONNECT_TIMEOUT_S,
    LOCATION,
    NANOS,
    ClientTime,
    LoadResult,
    LoadSettings,
    ServerCounts,
    Target,
)

__all__ = ["run_load"]

_DRAIN_TIMEOUT_S: Final = 10.0
_READY_TIMEOUT_S: Final = 60.0
_READ_BUFFER_BYTES: Final = 65_536
_IAMAT: Final = 0
_WHATSAT: Final = 1


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
        self.clock = ClientTime()
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
                            (self.next_send_ns - now) / NANOS, self._due
                        )
                    break
                self.next_send_ns += interval_ns
            # The first request of a connection is an IAMAT, so WHATSAT has a record to find.
            if self.sent and ratio and rand() < ratio:
                lines.append(self.whatsat_line)
                self.in_flight.append((_WHATSAT, now))
            else:
                lines.append(b"IAMAT %s %s %s\n" % (self.client_id, LOCATION, self.clock.next()))
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
            int(settings.connections / settings.rate_per_s * NANOS) if settings.rate_per_s else 0
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
                CONNECT_TIMEOUT_S,
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
    elapsed = (max(r["ended_ns"] for r in results) - min(r["started_ns"] for r in results)) / NANOS
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
