"""Propagation: how long a new record takes to reach every server, measured with one probe
IAMAT at a time and WHATSAT polls of every other server (see ``herdref.tools.bench``)."""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import Sequence

from herdref.tools.bench.runs import CONNECT_TIMEOUT_S, LOCATION, NANOS, ClientTime, PropagationResult, Target

__all__ = ["measure_propagation"]


class _LineClient:
    """A blocking client for the prober: precise to the microsecond, unlike a poll interval on
    an event loop (epoll's timeout is whole milliseconds)."""

    def __init__(self, target: Target) -> None:
        self.socket = socket.create_connection((target.host, target.port), timeout=CONNECT_TIMEOUT_S)
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
    clock = ClientTime()
    try:
        for number in itertools.count():
            if (probes is not None and number >= probes) or (stop is not None and stop.is_set()):
                break
            origin = targets[number % len(targets)]
            client_id = f"{client_prefix}probe{os.getpid()}-{number}".encode()
            clients[origin.name].send(b"IAMAT %s %s %s\n" % (client_id, LOCATION, clock.next()))
            at_line = clients[origin.name].read_line()
            replied_ns = time.monotonic_ns()
            pending = [target.name for target in targets if target.name != origin.name]
            last_seen_ns = replied_ns
            give_up_ns = replied_ns + int(timeout_s * NANOS)
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
