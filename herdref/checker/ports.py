"""Loopback ports for herds started on this machine: free ones, open ones, and a herd on free
ones (the herd file the checker, the tests and the benchmarks start servers from)."""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from herdref.herd.config import HerdConfig, LinkMode, PlacesSettings, ServerAddress

__all__ = ["LOOPBACK", "free_ports", "herd_on_free_ports", "port_open"]

LOOPBACK: Final = "127.0.0.1"


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """Ports the kernel has just handed out, so nothing else listens on them."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_open(host: str, port: int, *, timeout_s: float = 0.2) -> bool:
    """Whether ``host:port`` accepts a TCP connection now (what "up" means for a server)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def port_serves(host: str, port: int, *, timeout_s: float = 0.2) -> bool:
    """Whether a server at ``host:port`` answers, not only listens: it closes a probe that
    half-closed at once. ``herdref serve`` listens before its event loop runs (herd/listen.py),
    so only then does it serve. Nothing is sent, so nothing is logged or stored."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as probe:
            probe.shutdown(socket.SHUT_WR)
            return probe.recv(1) == b""
    except OSError:  # refused, or no answer within the probe's timeout
        return False


def herd_on_free_ports(
    names: Iterable[str],
    links: Iterable[Iterable[str]],
    *,
    log_dir: Path,
    mode: LinkMode = "persistent",
    host: str | Mapping[str, str] = LOOPBACK,
    peer_ports: bool = False,
    places: PlacesSettings | None = None,
    **settings: Any,
) -> HerdConfig:
    """A herd of ``names`` talking over ``links``, each server on a free port (and, with
    ``peer_ports``, a free peer port, LINK-1) at ``host`` (one for all, or one per name); Places
    from the offline fixture unless ``places`` says otherwise; any other :class:`HerdConfig`
    field from ``settings``. Write it with :func:`herdref.herd.config.dump_config`."""
    names = list(names)
    ports = iter(free_ports(len(names) * (2 if peer_ports else 1)))
    servers = {
        name: ServerAddress(
            host if isinstance(host, str) else host[name], next(ports), next(ports) if peer_ports else None
        )
        for name in names
    }
    return HerdConfig(
        servers=servers,
        links=frozenset(frozenset(pair) for pair in links),
        link_mode=mode,
        places=places if places is not None else PlacesSettings(provider="fixture"),
        log_dir=log_dir,
        **settings,
    )
