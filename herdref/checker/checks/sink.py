"""A listener on a stopped server's port that counts what its neighbours send there: how the
flood-storm checks see a record arrive again and again (FLOOD-2)."""

from __future__ import annotations

import re
import socket
import threading
from collections import Counter

__all__ = ["Sink"]


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
