"""A real herd for end-to-end tests: ``herdref serve`` subprocesses on loopback ports.

Everything is waited for with a deadline: a server is up when its port accepts a connection,
a record has propagated when the server returns it. Nothing sleeps a fixed time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from herdref.checker.ports import free_ports
from herdref.herd.config import HerdConfig, load_config, load_preset

DEFAULT_DEADLINE_S = 5.0
_POLL_INTERVAL_S = 0.005

#: The course's current herd, as shipped in the default preset (one description of it, not two).
_DEFAULT_HERD = load_preset()
NAMES_OF_DEFAULT_HERD = list(_DEFAULT_HERD.servers)
LINKS_OF_DEFAULT_HERD = sorted(tuple(sorted(pair)) for pair in _DEFAULT_HERD.links)


def write_herd_file(
    directory: Path,
    *,
    names: list[str] | None = None,
    links: list[tuple[str, str]] | None = None,
    mode: str = "persistent",
    places: dict[str, str] | None = None,
    extra: str = "",
    peer_ports: bool = False,
) -> Path:
    """A herd file on free ports; with ``peer_ports`` each server also gets a peer port, where
    its neighbours' links connect (LINK-1)."""
    names = names or NAMES_OF_DEFAULT_HERD
    links = LINKS_OF_DEFAULT_HERD if links is None else links
    ports = free_ports(len(names) * (2 if peer_ports else 1))
    lines = ["[servers]"]
    for index, name in enumerate(names):
        peer = f", peer_port = {ports[len(names) + index]}" if peer_ports else ""
        lines.append(f"{name} = {{ port = {ports[index]}{peer} }}")
    lines += ["", "[links]", f'mode = "{mode}"', "pairs = ["]
    lines += [f'    ["{a}", "{b}"],' for a, b in links]
    lines += ["]", "", "[places]"]
    for key, value in (places or {"provider": "fixture"}).items():
        lines.append(f'{key} = "{value}"')
    lines += ["", "[log]", f'dir = "{directory / "logs"}"', "", extra]
    path = directory / "herd.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def wait_until(
    condition: Callable[[], bool], *, deadline_s: float = DEFAULT_DEADLINE_S, what: str = ""
) -> float:
    """Poll ``condition`` until it holds; returns the seconds it took. Fails after the deadline."""
    start = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - start
        if time.monotonic() - start > deadline_s:
            raise AssertionError(f"not true within {deadline_s} s: {what or condition}")
        time.sleep(_POLL_INTERVAL_S)


def exchange(host: str, port: int, payload: bytes, *, timeout_s: float = DEFAULT_DEADLINE_S) -> bytes:
    """Send ``payload``, half-close, and read until the server closes (the graders' style)."""
    deadline = time.monotonic() + timeout_s
    with socket.create_connection((host, port), timeout=timeout_s) as connection:
        connection.sendall(payload)
        connection.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            connection.settimeout(max(deadline - time.monotonic(), 0.001))
            chunk = connection.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def serving(host: str, port: int) -> bool:
    """Whether a server answers on ``port``, not only listens: ``herdref serve`` listens before
    its event loop runs (herd/listen.py), so a probe that half-closes at once is closed by the
    server only once it serves. Nothing is sent, so nothing is logged or stored."""
    try:
        with socket.create_connection((host, port), timeout=0.2) as probe:
            probe.shutdown(socket.SHUT_WR)
            return probe.recv(1) == b""
    except OSError:  # refused, or no answer within the probe's timeout
        return False


class Herd:
    """The servers of one herd file, each a real ``herdref serve`` process."""

    def __init__(self, config_path: Path, *, env: dict[str, str] | None = None) -> None:
        self.config_path = config_path
        self.config: HerdConfig = load_config(config_path)
        self.env = {**os.environ, **(env or {})}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    # ---- processes -----------------------------------------------------------------------

    def command(self, name: str) -> list[str]:
        return [sys.executable, "-m", "herdref", "serve", name, "--config", str(self.config_path)]

    def start(self, name: str, *, wait: bool = True) -> float:
        """Start ``name``; returns the seconds until it served (closed a probe, see ``serving``)."""
        started = time.monotonic()
        previous = self.processes.get(name)
        if previous is not None and previous.stderr is not None:
            previous.stderr.close()  # a restart: the old process's pipe would leak
        self.processes[name] = subprocess.Popen(
            self.command(name), env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if wait:
            self.wait_listening(name)
        return time.monotonic() - started

    def start_all(self) -> None:
        for name in self.config.servers:
            self.start(name, wait=False)
        for name in self.config.servers:
            self.wait_listening(name)

    def wait_listening(self, name: str) -> None:
        address = self.config.servers[name]
        process = self.processes[name]

        def listening() -> bool:
            if process.poll() is not None:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise AssertionError(f"{name} exited with {process.returncode}: {stderr}")
            return serving(address.host, address.port)

        wait_until(listening, what=f"{name} serving")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[name]
        process.send_signal(sig)
        process.wait(DEFAULT_DEADLINE_S)

    def pause(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGCONT)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(DEFAULT_DEADLINE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr:
                process.stderr.close()

    def alive(self) -> list[str]:
        return [name for name, process in self.processes.items() if process.poll() is None]

    # ---- talking to it -------------------------------------------------------------------

    def send(self, name: str, payload: bytes, *, timeout_s: float = DEFAULT_DEADLINE_S) -> bytes:
        address = self.config.servers[name]
        return exchange(address.host, address.port, payload, timeout_s=timeout_s)

    def iamat(
        self, name: str, client: str, location: str = "+34.068930-118.445127", when: str | None = None
    ) -> bytes:
        when = when if when is not None else f"{time.time():.9f}"
        reply = self.send(name, f"IAMAT {client} {location} {when}\n".encode())
        assert reply.startswith(b"AT "), reply
        return reply.rstrip(b"\n")

    def stored_at_line(self, name: str, client: str) -> bytes | None:
        """The first line of a WHATSAT reply at ``name``, or None if it has no record."""
        reply = self.send(name, f"WHATSAT {client} 1 0\n".encode())
        if reply.startswith(b"? "):
            return None
        return reply.split(b"\n", 1)[0]

    def wait_for_record(
        self, name: str, client: str, at_line: bytes, *, deadline_s: float = DEFAULT_DEADLINE_S
    ) -> float:
        return wait_until(
            lambda: self.stored_at_line(name, client) == at_line,
            deadline_s=deadline_s,
            what=f"{name} holds {at_line!r}",
        )


@contextlib.contextmanager
def running_herd(config_path: Path, *, env: dict[str, str] | None = None) -> Iterator[Herd]:
    herd = Herd(config_path, env=env)
    try:
        herd.start_all()
        yield herd
    finally:
        herd.stop_all()
