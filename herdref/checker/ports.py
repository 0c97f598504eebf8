"""Loopback ports for herds started on this machine: free ones, open ones, and a herd on free
ones (the herd file the checker, the tests and the benchmarks start servers from)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

try:
    import fcntl
except ImportError:  # not on POSIX: ports are still bind-tested, only not reserved
    fcntl = None  # type: ignore[assignment]

from herdref.herd.config import HerdConfig, LinkMode, PlacesSettings, ServerAddress

__all__ = ["LOOPBACK", "free_ports", "herd_on_free_ports", "port_open"]

LOOPBACK: Final = "127.0.0.1"


#: Where free ports are drawn from when the kernel's ephemeral range is known: below it, so
#: that no outgoing connection (a herd's flood, a client, Places) can take a port between the
#: moment it is chosen and the moment a server binds it. Ports under 10000 are left alone
#: (well-known and course default ports live there).
_LOWEST_CHOSEN_PORT: Final = 10_000
_EPHEMERAL_RANGE_FILE: Final = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: Each process draws in turn from a block of its own (chosen by its PID; from a random start;
#: on into the next blocks when it needs more), so that processes choosing ports at the same
#: moment (parallel test workers, a checker and the herds it starts) do not hand out the same
#: port before either binds it.
_BLOCK_PORTS: Final = 512
_next_in_block: dict[int, int] = {}
#: Ports handed out stay reserved, machine-wide, for as long as the process that chose them
#: lives: a herd's server that is stopped and started again (validate's restart checks) leaves
#: its port free for a moment, and a bind test alone would then let another process's chooser
#: hand it out (a process that needs more than its block, as the corpus runs do, walks into
#: other processes' blocks). The registry maps port -> [pid, time handed out].
_REGISTRY_NAME: Final = f"herdref-ports-{os.getuid() if hasattr(os, 'getuid') else 0}"
#: A reservation older than this is let go even if its PID is alive again (PID reuse).
_RESERVATION_MAX_AGE_S: Final = 6 * 3600.0


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """``count`` ports nothing listens on now and no other living process was handed: taken
    in turn from this process's block below the kernel's ephemeral range (else handed out by
    the kernel), so that a server started on one a little later does not find it taken by
    another chooser or a connection's local end, and keeps it while its chooser lives."""
    candidates = _block_candidates()
    sockets: list[socket.socket] = []
    with _registry() as reserved:
        try:
            while len(sockets) < count:
                port = next(candidates, 0)  # 0: the block is used up, the kernel chooses
                if port in reserved:
                    continue
                sock = socket.socket()
                sockets.append(sock)
                try:
                    sock.bind((host, port))
                except OSError:
                    sockets.pop().close()  # in use: the next one
                    if port == 0:
                        raise
            ports = [sock.getsockname()[1] for sock in sockets]
        finally:
            for sock in sockets:
                sock.close()
        handed_out = [os.getpid(), time.time()]
        reserved.update({port: handed_out for port in ports})
    return ports


def _registry_directory() -> Path:
    """The machine's shared temporary folder, not this process's: a process given a TMPDIR of
    its own (each job of ``herdref grade``) must still see every other chooser's ports."""
    shared = Path("/tmp")
    if os.name == "posix" and os.access(shared, os.W_OK | os.X_OK):
        return shared
    return Path(tempfile.gettempdir())


@contextlib.contextmanager
def _registry() -> Iterator[dict[int, list[float]]]:
    """The ports other living processes were handed (this one's own are free to it: its block
    walk already keeps from handing one out twice), locked for the caller to add to."""
    directory = _registry_directory()
    if fcntl is None:
        yield {}
        return
    try:
        lock = open(directory / f"{_REGISTRY_NAME}.lock", "a")  # noqa: SIM115 (held to the end)
    except OSError:  # no writable temporary folder: bind tests only
        yield {}
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = directory / f"{_REGISTRY_NAME}.json"
        try:
            stored = {int(port): held for port, held in json.loads(path.read_text()).items()}
        except (OSError, ValueError, AttributeError):  # none yet, or unreadable: start afresh
            stored = {}
        now = time.time()
        living = {
            port: held
            for port, held in stored.items()
            if isinstance(held, list)
            and len(held) == 2
            and now - held[1] < _RESERVATION_MAX_AGE_S
            and _alive(int(held[0]))
        }
        reserved = {port: held for port, held in living.items() if held[0] != os.getpid()}
        yield reserved  # the caller adds the ports it hands out
        living.update(reserved)
        with contextlib.suppress(OSError):
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps({str(port): held for port, held in living.items()}))
            os.replace(temporary, path)


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _block_candidates() -> Iterator[int]:
    """This process's ports in turn, from where its last call stopped: its own block first,
    then on through the rest of the range (a process that needs more than one block, as the
    corpus runs do, never gets a port it was handed before until the whole range went round)."""
    highest = _ephemeral_floor() - 1
    span = highest - _LOWEST_CHOSEN_PORT + 1
    if span < _BLOCK_PORTS:
        return
    pid = os.getpid()
    first = (pid % (span // _BLOCK_PORTS)) * _BLOCK_PORTS
    if pid not in _next_in_block:  # a fork starts afresh; a random start keeps PID reuse apart
        _next_in_block.clear()
        _next_in_block[pid] = random.SystemRandom().randrange(_BLOCK_PORTS)
    for _ in range(span):
        offset = _next_in_block[pid]
        _next_in_block[pid] = (offset + 1) % span
        yield _LOWEST_CHOSEN_PORT + (first + offset) % span


def _ephemeral_floor() -> int:
    """The lowest port the kernel hands out to outgoing connections (0 when unknown)."""
    try:
        return int(_EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


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
