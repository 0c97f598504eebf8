"""A server's listening sockets, opened before the event loop and before the heavy imports.

The course graders start a server and query it half a second later; on a loaded machine a
Python process may need longer than that just to import asyncio, so ``herdref serve`` binds its
ports first (this module imports only ``socket``) and the event loop adopts the sockets later.
From ``listen()`` on, the kernel completes connections and keeps what clients send until the
server reads it, so a grader that connects early is answered a little later instead of being
refused.

The sockets are made as asyncio's ``create_server(host, port, reuse_address=True)`` makes them:
one per address the host resolves to, ``SO_REUSEADDR`` (a restarted server can listen at once
although connections of its previous run linger in TIME_WAIT), IPv6 sockets IPv6-only.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from herdref.herd.config import ServerAddress

__all__ = ["BACKLOG", "BoundPorts", "PortUnavailable", "accept_waiting", "bind_ports", "has_unread_input"]

#: Pending connections the kernel keeps for a listener that has not accepted them yet
#: (asyncio's default for ``create_server``).
BACKLOG: Final = 100


class PortUnavailable(Exception):
    """A port could not be bound; ``str()`` is the one line a user should see."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        reason = "address already in use" if error.errno == errno.EADDRINUSE else error.strerror or str(error)
        super().__init__(f"cannot listen on {host}:{port}: {reason}")
        self.host = host
        self.port = port
        self.error = error


@dataclass(frozen=True, slots=True)
class BoundPorts:
    """The listening sockets of one server: its client port, and its peer port if it has one
    (LINK-1, PEER-4)."""

    client: tuple[socket.socket, ...]
    peer: tuple[socket.socket, ...] = ()

    def close(self) -> None:
        for sock in (*self.peer, *self.client):
            sock.close()


def bind_ports(address: ServerAddress) -> BoundPorts:
    """Bind and listen on ``address``'s peer port (if any), then its client port, so a server
    whose client port accepts connections takes its neighbours' links too. Raises
    :class:`PortUnavailable` naming the port at fault (nothing stays bound then)."""
    peer = _listen(address.host, address.peer_port) if address.peer_port is not None else ()
    try:
        client = _listen(address.host, address.port)
    except PortUnavailable:
        BoundPorts(client=(), peer=peer).close()
        raise
    return BoundPorts(client=client, peer=peer)


def _listen(host: str, port: int) -> tuple[socket.socket, ...]:
    try:
        # An ASCII host goes as bytes: a str would import the idna codec first (start-up time).
        name: str | bytes = host.encode() if host.isascii() else host
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise PortUnavailable(host, port, exc) from None
    sockets: list[socket.socket] = []
    seen: set[tuple[object, ...]] = set()
    try:
        for family, kind, proto, _, sockaddr in infos:
            if (family, sockaddr) in seen:
                continue
            seen.add((family, sockaddr))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(sockaddr)
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise PortUnavailable(host, port, exc) from None
    return tuple(sockets)


def accept_waiting(listener: socket.socket) -> list[socket.socket]:
    """The connections the kernel completed on ``listener`` (non-blocking) before the server
    began to accept: at most a backlog's worth, in the order they arrived."""
    accepted: list[socket.socket] = []
    while len(accepted) < BACKLOG:
        try:
            connection, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            break
        except OSError:  # e.g. ECONNABORTED: that one is gone; the others still wait
            continue
        connection.setblocking(False)
        accepted.append(connection)
    return accepted


def has_unread_input(connection: socket.socket) -> bool:
    """Whether octets wait in ``connection``'s receive buffer (peeked: nothing is consumed).
    False at EOF and on a broken connection: there is nothing more to read first."""
    try:
        return bool(connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except OSError:  # BlockingIOError: empty; anything else: nothing will come
        return False
