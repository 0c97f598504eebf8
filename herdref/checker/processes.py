"""Server processes on this machine: start them, signal them, wait until they listen, stop them.
The checker's launcher, ``herdref herd``, ``herdref grade``, the end-to-end tests and the
benchmarks all start servers this way.

Rules:

* Every process starts in a session, hence a process group, of its own, and every signal goes
  to the whole group: a wrapper script's children stop and die with it, and a terminal's
  Ctrl-C reaches only the parent, which stops its servers itself.
* "Up" means "its port accepts a TCP connection" (:func:`herdref.checker.ports.port_open`);
  a process that exits while it is waited for is :class:`ProcessExited` at once.
* Stopping is SIGTERM (after SIGCONT, so a paused process can act on it), a grace period, then
  SIGKILL; every process is reaped, and what is left of its group is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Final, TypeAlias

from herdref.checker.deadline import DEFAULT_POLL_S, wait_until
from herdref.checker.ports import port_open

__all__ = [
    "ProcessExited",
    "describe_exit",
    "kill_process",
    "signal_group",
    "start_process",
    "stop_processes",
    "wait_listening",
]

_PR_SET_PDEATHSIG: Final = 1
#: Where a child's stdout or stderr goes: ``subprocess.DEVNULL``/``PIPE``/``STDOUT``, a file, or ours.
Output: TypeAlias = int | IO[bytes] | None


class ProcessExited(RuntimeError):
    """A process ended while it was waited for."""

    def __init__(self, name: str, returncode: int) -> None:
        super().__init__(f"{name} exited with {describe_exit(returncode)}")
        self.name = name
        self.returncode = returncode


def describe_exit(returncode: int) -> str:
    """``status 3`` or, for a process a signal ended, ``signal 9``."""
    return f"status {returncode}" if returncode >= 0 else f"signal {-returncode}"


def _die_with_parent_hook() -> Callable[[], None] | None:
    """What a child runs before exec so that it gets SIGTERM when its parent dies (Linux
    ``PR_SET_PDEATHSIG``, kept across exec); None elsewhere. libc is loaded here, in the parent,
    so the child only makes two system calls; a parent that died before the prctl is caught by
    the parent-pid check."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return hook


def start_process(
    command: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdout: Output = subprocess.DEVNULL,
    stderr: Output = None,
    die_with_parent: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``command`` in a process group of its own, its stdin empty (``env`` None: this
    process's). With ``die_with_parent`` (only for a parent that runs no threads: it needs a
    pre-exec hook) it gets SIGTERM when this process dies, even by SIGKILL.

    Raises:
        OSError: the command cannot be started.
    """
    hook = _die_with_parent_hook() if die_with_parent else None
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        preexec_fn=hook,  # noqa: PLW1509
    )


def signal_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the group ``pid`` leads (every process :func:`start_process` starts
    leads one); a group that is gone already is no error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def kill_process(
    process: subprocess.Popen[bytes], sig: int = signal.SIGKILL, *, grace_s: float = 5.0
) -> None:
    """Send ``sig`` (SIGKILL by default) to the group, SIGKILL after ``grace_s``; reaped."""
    if process.poll() is None:
        signal_group(process.pid, sig)
        if sig != signal.SIGKILL:
            signal_group(process.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
    _reap(process, time.monotonic() + grace_s)


def stop_processes(processes: Iterable[subprocess.Popen[bytes]], *, grace_s: float = 3.0) -> None:
    """SIGTERM every group at once, SIGKILL what is left after ``grace_s``; all reaped."""
    running = list({id(process): process for process in processes}.values())
    for process in running:
        if process.poll() is None:
            signal_group(process.pid, signal.SIGTERM)
            signal_group(process.pid, signal.SIGCONT)
    deadline = time.monotonic() + grace_s
    for process in running:
        _reap(process, deadline)


def _reap(process: subprocess.Popen[bytes], deadline: float) -> None:
    try:
        process.wait(max(deadline - time.monotonic(), 0.01))
    except subprocess.TimeoutExpired:
        signal_group(process.pid, signal.SIGKILL)
        process.wait()
    # The process is gone, but children in its group may outlive it.
    signal_group(process.pid, signal.SIGKILL)


def wait_listening(
    process: subprocess.Popen[bytes],
    host: str,
    port: int,
    *,
    deadline_s: float,
    name: str = "",
    poll_s: float = DEFAULT_POLL_S,
) -> float:
    """Seconds until ``host:port`` accepted a connection.

    Raises:
        ProcessExited: ``process`` ended first.
        DeadlinePassed: the port stayed closed past the deadline.
    """
    name = name or f"process {process.pid}"

    def listening() -> bool:
        if process.poll() is not None:
            raise ProcessExited(name, process.returncode)
        return port_open(host, port)

    return wait_until(
        listening, deadline_s=deadline_s, what=f"{name} listening on {host}:{port}", poll_s=poll_s
    )
