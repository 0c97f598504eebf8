"""A real herd for end-to-end tests: ``herdref serve`` subprocesses on loopback ports.

Everything is waited for with a deadline: a server is up when its port accepts a connection,
a record has propagated when the server returns it. Nothing sleeps a fixed time.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from herdref.checker import client, deadline, processes
from herdref.checker.ports import herd_on_free_ports, port_serves
from herdref.herd.config import HerdConfig, LinkMode, dump_config, load_config, load_preset

DEFAULT_DEADLINE_S = 5.0

#: The course's current herd, as shipped in the default preset (one description of it, not two).
_DEFAULT_HERD = load_preset()
NAMES_OF_DEFAULT_HERD = list(_DEFAULT_HERD.servers)
LINKS_OF_DEFAULT_HERD = sorted(tuple(sorted(pair)) for pair in _DEFAULT_HERD.links)


def write_herd_file(
    directory: Path,
    *,
    names: list[str] | None = None,
    links: list[tuple[str, str]] | None = None,
    mode: LinkMode = "persistent",
    peer_ports: bool = False,
    **settings: Any,
) -> Path:
    """A herd file on free ports, its logs in ``directory/logs``; with ``peer_ports`` each
    server also gets a peer port, where its neighbours' links connect (LINK-1). ``settings``
    are :class:`HerdConfig` fields (``places``, ``limits``, ``peer_secret_file``, ...)."""
    config = herd_on_free_ports(
        names or NAMES_OF_DEFAULT_HERD,
        LINKS_OF_DEFAULT_HERD if links is None else links,
        log_dir=directory / "logs",
        mode=mode,
        peer_ports=peer_ports,
        **settings,
    )
    path = directory / "herd.toml"
    path.write_text(dump_config(config), encoding="utf-8")
    return path


#: :func:`herdref.checker.deadline.wait_until`, with the harness's deadline unless told otherwise.
wait_until = functools.partial(deadline.wait_until, deadline_s=DEFAULT_DEADLINE_S)


def exchange(host: str, port: int, payload: bytes, *, timeout_s: float = DEFAULT_DEADLINE_S) -> bytes:
    """Send ``payload``, half-close, and read until the server closes (the graders' style);
    fails when the server cannot be reached or does not close in time."""
    reply = client.exchange(host, port, payload, timeout_s=timeout_s)
    if reply.error is not None or not reply.closed:
        why = reply.error or f"not closed within {timeout_s:g} s"
        raise AssertionError(f"{host}:{port}: {why}; received {reply.data!r}")
    return reply.data


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
        self.processes[name] = processes.start_process(
            self.command(name), env=self.env, stderr=subprocess.PIPE
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
        """Wait until ``name`` serves (answers a probe), not only listens (see ``port_serves``)."""
        address = self.config.servers[name]
        process = self.processes[name]

        def serving() -> bool:
            if process.poll() is not None:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise AssertionError(f"{name} exited with {process.returncode}: {stderr}")
            return port_serves(address.host, address.port)

        wait_until(serving, what=f"{name} serving")

    def refused_start(self, name: str) -> tuple[int, bytes]:
        """Start ``name`` when it must refuse to run (a herd file it rejects): its exit status
        and everything it wrote on stderr."""
        process = self.processes[name] = processes.start_process(
            self.command(name), env=self.env, stderr=subprocess.PIPE
        )
        _, stderr = process.communicate(timeout=10)
        return process.returncode, stderr

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        processes.kill_process(self.processes[name], sig, grace_s=DEFAULT_DEADLINE_S)

    def pause(self, name: str) -> None:
        processes.signal_group(self.processes[name].pid, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        processes.signal_group(self.processes[name].pid, signal.SIGCONT)

    def stop_all(self) -> None:
        processes.stop_processes(self.processes.values(), grace_s=DEFAULT_DEADLINE_S)
        for process in self.processes.values():
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
