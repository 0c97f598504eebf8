"""One Linux network namespace per grading job, so every submission can listen on the same
hard-coded ports at once.

Each namespace has only a loopback interface (brought up): the submission's servers, the
checker and the Places fixture the checker starts all talk over it, and nothing else shares
its ports. Whether namespaces can be made at all is :func:`herdref.checker.isolation.
isolation_unavailable`'s answer (Linux, root, iproute2), the same test ``validate --isolate``
uses.

Rules: every namespace this module adds is deleted by :meth:`Namespace.delete`, which first
kills every process still inside it (``ip netns pids``), since a namespace whose name is gone
lives on while a process holds it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import Final

from herdref.checker.isolation import isolation_unavailable

__all__ = ["Namespace", "NamespaceError", "namespaces_unavailable"]

_IP_TIMEOUT_S: Final = 30.0


class NamespaceError(RuntimeError):
    """An ``ip netns`` command failed (the message is ip's)."""


def namespaces_unavailable() -> str | None:
    """What per-job namespaces need that is missing here ("root (ip netns add)", "the ip
    command (iproute2)", ...), or None if they can be made."""
    reason = isolation_unavailable()
    return None if reason is None else reason.removeprefix("--isolate needs ")


def _ip(*arguments: str) -> str:
    try:
        completed = subprocess.run(["ip", *arguments], capture_output=True, text=True, timeout=_IP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NamespaceError(f"ip {' '.join(arguments)}: {exc}") from exc
    if completed.returncode != 0:
        raise NamespaceError(f"ip {' '.join(arguments)}: {completed.stderr.strip()}")
    return completed.stdout


class Namespace:
    """A network namespace with loopback up; ``prefix(command)`` runs a command inside it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.created = False

    def create(self) -> None:
        _ip("netns", "add", self.name)
        self.created = True
        _ip("netns", "exec", self.name, "ip", "link", "set", "lo", "up")

    def prefix(self, command: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *command]

    def pids(self) -> list[int]:
        try:
            return [int(word) for word in _ip("netns", "pids", self.name).split()]
        except NamespaceError:
            return []

    def kill_all(self) -> None:
        """SIGKILL every process inside (servers a killed checker left behind included)."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def delete(self) -> None:
        if not self.created:
            return
        self.kill_all()
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True, timeout=_IP_TIMEOUT_S)
        self.created = False
