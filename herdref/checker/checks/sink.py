"""A listener on a stopped server's port that counts what its neighbours send there: how the
flood-storm checks see a record arrive again and again (FLOOD-2); which server to stop for it,
and how a storm seen is ended."""

from __future__ import annotations

import re
import socket
import threading
from collections import Counter

from herdref.checker.checks.helpers import need_launcher, neighbours_of
from herdref.checker.target import CheckContext, Target
from herdref.model import components

__all__ = ["Sink", "end_storm", "sink_server_for"]


class Sink:
    """A listener that accepts connections on a dead server's port and counts what arrives."""

    def __init__(self, host: str, port: int) -> None:
        self.listener = socket.create_server((host, port), reuse_port=False)
        self.listener.settimeout(0.1)
        self.data = bytearray()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.threads: list[threading.Thread] = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening (the port is free for the server again); idempotent."""
        self.stopped.set()
        for thread in self.threads:
            thread.join(2)
        self.listener.close()

    def saw(self, octets: bytes) -> bool:
        """Whether ``octets`` arrived (on any connection)."""
        return self.count(octets) > 0

    def count(self, octets: bytes) -> int:
        """How many times ``octets`` arrived (over all connections)."""
        with self.lock:
            return self.data.count(octets)

    def most_copies(self, pattern: re.Pattern[bytes]) -> tuple[bytes, int]:
        """The record (matched by ``pattern``) received most often, and how often."""
        with self.lock:
            counts = Counter(pattern.findall(bytes(self.data)))
        return counts.most_common(1)[0] if counts else (b"", 0)

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._read, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _read(self, connection: socket.socket) -> None:
        connection.settimeout(0.1)
        with connection:
            while not self.stopped.is_set():
                try:
                    chunk = connection.recv(65_536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                with self.lock:
                    self.data += chunk


def sink_server_for(target: Target) -> str:
    """The server whose port listens for copies: the one whose loss leaves the other servers
    the most independent cycles (a storm of two versions of a record chasing each other needs
    one; without it, the last version sent wins and the chase ends), then the most neighbours
    (the most copies to count)."""

    def cycles_without(name: str) -> int:
        alive = [other for other in target.names if other != name]
        links = [pair for pair in target.config.links if name not in pair]
        return len(links) - len(alive) + len(components(alive, links))

    return max(target.names, key=lambda name: (cycles_without(name), len(neighbours_of(target, name)), name))


def end_storm(context: CheckContext) -> None:
    """Kill every server once a storm is seen: a herd busy relaying records for ever answers
    nothing in time, not even a connection to its port, so bringing it back server by server
    waited out each start-up deadline in turn (a student herd: 35 s of one check's run, in a
    run whose budget is 50 s). Killed, it starts again fresh, without the storm's records."""
    launcher = need_launcher(context)
    context.transcript.note("the storm is stopped: every server is killed (each starts again fresh)")
    for name in context.target.names:
        launcher.kill(name)
