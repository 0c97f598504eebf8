"""Start, stop, pause and restart the servers of a herd under test, whatever they are written in.

Rules:

* A server is one process started from a command template in which ``{name}``, ``{port}``,
  ``{config}`` and ``{places_url}`` are replaced. The template is split like a shell line first
  and substituted word by word, so a path with spaces stays one argument.
* A template without ``{name}`` and ``{port}`` starts one program that serves every server of
  the herd (a single-process herd): it is started once, and nothing kills or pauses one server.
* Each server runs in its own process group (``start_new_session``), and every signal goes to
  the whole group, so a wrapper script's children stop and die with it.
* Its stdout and stderr go to a file per start, kept for the report.
* "Up" means "its port accepts a TCP connection"; every wait has a deadline and reports how
  long it took. Nothing sleeps a fixed time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.ports import port_open
from herdref.checker.processes import (
    ProcessExited,
    kill_process,
    signal_group,
    start_process,
    stop_processes,
    wait_listening,
)
from herdref.herd.config import HerdConfig

logger = logging.getLogger(__name__)

__all__ = ["LaunchError", "Launcher", "PortBusy", "ServerProcess", "is_single_process_template"]

_STOP_GRACE_S: Final = 3.0


class PortBusy(RuntimeError):
    """A port of the herd file already accepts connections before the herd is started: the
    checks would talk to whatever holds it."""


class LaunchError(RuntimeError):
    """A server could not be started, or never opened its port before the deadline."""

    def __init__(self, message: str, *, name: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass(slots=True)
class ServerProcess:
    name: str
    process: subprocess.Popen[bytes]
    output_path: Path
    output_file: IO[bytes]
    paused: bool = False
    #: When the process exited (:func:`time.monotonic`), seen by a thread that waits for it.
    exited_at: float | None = None
    #: When the checker sent it a signal to end it (a kill, or a stop of the whole herd).
    signalled_at: float | None = None

    @property
    def died_by_itself(self) -> bool:
        """It exited before the checker ever signalled it to end."""
        return self.exited_at is not None and (
            self.signalled_at is None or self.exited_at < self.signalled_at
        )

    def watch_exit(self) -> None:
        """Note when the process exits, from a thread of its own (it only waits)."""

        def wait() -> None:
            self.process.wait()
            self.exited_at = time.monotonic()

        threading.Thread(target=wait, name=f"exit of {self.name}", daemon=True).start()


def is_single_process_template(template: str) -> bool:
    """The template names no server (no ``{name}`` or ``{port}``): one program serves every
    server of the herd. It is started once, and no single server can be killed or paused."""
    return "{name}" not in template and "{port}" not in template


@dataclass(slots=True)
class Launcher:
    """The processes of one herd, started from ``template`` (see the module docstring)."""

    template: str
    config: HerdConfig
    config_path: Path
    output_dir: Path
    cwd: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    places_url: str = ""
    processes: dict[str, ServerProcess] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)
    #: Servers a check stopped on purpose (not a crash).
    stopped: set[str] = field(default_factory=set)
    #: Each server killed on purpose, one at a time (a check's fault, not a stop of the whole
    #: herd), with when (:func:`time.monotonic`): a neighbour that exits right after it died of
    #: its death (herdref.checker.aftermath).
    kill_log: list[tuple[str, float]] = field(default_factory=list)

    @property
    def single_process(self) -> bool:
        """See :func:`is_single_process_template`."""
        return is_single_process_template(self.template)

    def command(self, name: str) -> list[str]:
        address = self.config.address(name)
        values = {
            "name": name,
            "port": str(address.port),
            "config": str(self.config_path),
            "places_url": self.places_url,
        }
        return [word.format_map(values) for word in shlex.split(self.template)]

    # ---- life cycle ----------------------------------------------------------------------

    def start(self, name: str) -> None:
        """Start ``name`` (without waiting for its port)."""
        self.stopped.discard(name)
        if self.alive(name):
            return
        if self.single_process:
            running = next(
                (server for server in self.processes.values() if server.process.poll() is None), None
            )
            if running is not None:  # the one program already serves this server too
                self.processes[name] = running
                return
        previous = self.processes.get(name)
        if previous is not None:  # a server that died by itself: its output file is done
            previous.output_file.close()
        self.starts[name] = self.starts.get(name, 0) + 1
        self.output_dir.mkdir(parents=True, exist_ok=True)
        output_path = self.output_dir / f"{name}.{self.starts[name]}.log"
        output_file = output_path.open("wb")
        try:
            process = start_process(
                self.command(name),
                cwd=self.cwd,
                env={**os.environ, **self.env},
                stdout=output_file,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            output_file.close()
            raise LaunchError(f"cannot start {name}: {exc.strerror or exc}", name=name) from None
        self.processes[name] = ServerProcess(name, process, output_path, output_file)
        self.processes[name].watch_exit()
        # -v (herdref.tools.cli): what the checker does to the herd, as it happens.
        logger.info(
            "started %s (pid %d): %s; output in %s",
            name,
            process.pid,
            shlex.join(self.command(name)),
            output_path,
        )

    def start_all(self, *, deadline_s: float) -> None:
        """Start every server and wait until each listens.

        Raises:
            PortBusy: a port already answered before anything was started.
            LaunchError: a server exited, or did not listen before the deadline.
        """
        for name, address in self.config.servers.items():
            if not self.alive(name) and port_open(address.host, address.port):
                raise PortBusy(
                    f"{address.host}:{address.port} ({name}) is already in use; stop what listens there"
                )
        for name in self.config.servers:
            self.start(name)
        for name in self.config.servers:
            self.wait_listening(name, deadline_s=deadline_s)

    def wait_listening(self, name: str, *, deadline_s: float) -> float:
        """Seconds until ``name``'s port accepted a connection.

        Raises:
            LaunchError: the process exited, or the port stayed closed past the deadline.
        """
        address = self.config.address(name)
        try:
            return wait_listening(
                self.processes[name].process, address.host, address.port, deadline_s=deadline_s, name=name
            )
        except ProcessExited as exc:
            raise LaunchError(
                f"{exc} before opening port {address.port}; output: {self.output_tail(name)!r}", name=name
            ) from None
        except DeadlinePassed:
            raise LaunchError(
                f"{name} did not open {address.host}:{address.port} within {deadline_s:g} s", name=name
            ) from None

    def wait_closed(self, name: str, *, deadline_s: float) -> None:
        """Wait until ``name``'s port refuses connections (a killed server's socket is gone)."""
        address = self.config.address(name)
        with contextlib.suppress(DeadlinePassed):
            wait_until(lambda: not port_open(address.host, address.port), deadline_s=deadline_s)

    def kill(self, name: str, sig: int = signal.SIGKILL, *, deadline_s: float = 5.0) -> None:
        """Send ``sig`` (SIGKILL by default, or SIGTERM) to ``name``'s group and reap it."""
        self.stopped.add(name)
        server = self.processes.get(name)
        if server is None or server.process.poll() is not None:
            return
        logger.info("sending %s to %s (pid %d)", signal.Signals(sig).name, name, server.process.pid)
        self.kill_log.append((name, time.monotonic()))
        server.signalled_at = self.kill_log[-1][1]
        kill_process(server.process, sig, grace_s=deadline_s)
        server.paused = False
        server.output_file.close()
        self.wait_closed(name, deadline_s=deadline_s)

    def pause(self, name: str) -> None:
        """SIGSTOP: the server keeps its sockets open but does nothing (a hung neighbour)."""
        server = self.processes[name]
        logger.info("pausing %s (SIGSTOP)", name)
        signal_group(server.process.pid, signal.SIGSTOP)
        server.paused = True

    def resume(self, name: str) -> None:
        server = self.processes[name]
        logger.info("resuming %s (SIGCONT)", name)
        signal_group(server.process.pid, signal.SIGCONT)
        server.paused = False

    def restart(self, name: str, *, deadline_s: float) -> float:
        """Kill ``name`` if it runs, start it again; seconds until it listens."""
        self.kill(name)
        self.start(name)
        return self.wait_listening(name, deadline_s=deadline_s)

    def alive(self, name: str) -> bool:
        server = self.processes.get(name)
        return server is not None and server.process.poll() is None

    def crashed(self, name: str) -> bool:
        """``name``'s process has exited although no check stopped it: a server a check killed
        (``stopped``) and did not start again is down, not crashed."""
        server = self.processes.get(name)
        return server is not None and name not in self.stopped and server.process.poll() is not None

    def ensure_all_running(self, *, deadline_s: float, keep_down: Collection[str] = ()) -> None:
        """Resume paused servers and restart dead ones (between checks), except those the run
        keeps stopped (``keep_down``), all of them listening within ``deadline_s`` together
        (not each: the caller's deadline is what is left of the run's budget)."""
        for name, server in self.processes.items():
            if server.paused and server.process.poll() is None:
                self.resume(name)
        wanted = [name for name in self.config.servers if name not in keep_down]
        started: set[str] = set()
        for name in wanted:
            if not self.alive(name):
                self.start(name)
                started.add(name)
        until = time.monotonic() + deadline_s
        for name in wanted:
            try:
                self.wait_listening(name, deadline_s=max(0.0, until - time.monotonic()))
            except LaunchError:
                if name in started or self.alive(name):
                    raise
                # It was still exiting when looked at: a process whose sockets are closed is
                # not reaped at once, so a server that died on the check's last line can look
                # alive for a moment after it. That death was the check's; this is a restart.
                self.start(name)
                self.wait_listening(name, deadline_s=max(0.0, until - time.monotonic()))

    def stop_all(self) -> None:
        """SIGTERM every server, SIGKILL what is left after a grace period."""
        logger.info("stopping every server")
        now = time.monotonic()
        for server in self.processes.values():
            server.signalled_at = server.signalled_at or now
        stop_processes((server.process for server in self.processes.values()), grace_s=_STOP_GRACE_S)
        for server in self.processes.values():
            server.output_file.close()

    # ---- output --------------------------------------------------------------------------

    def output_tail(self, name: str, *, limit: int = 2000) -> str:
        """The end of ``name``'s latest output file."""
        server = self.processes.get(name)
        if server is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            if not server.output_file.closed:
                server.output_file.flush()
            data = server.output_path.read_bytes()
            return data[-limit:].decode("utf-8", "replace")
        return ""

    def output_files(self) -> list[Path]:
        return sorted(self.output_dir.glob("*.log")) if self.output_dir.exists() else []
