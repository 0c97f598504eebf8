"""What the kernel shows of a stopped server's TCP ports: how floods towards it are held up.

A herd whose replies wait on its floods stops answering once a flood to a stopped (SIGSTOP)
neighbour cannot go out, and there are two ways that happens:

* a persistent link written synchronously blocks once the link's socket buffers are full: the
  octets wait unread in an established connection to the neighbour's port;
* a flood that opens a connection per record blocks in ``connect()`` once the neighbour's accept
  queue is full: as many records as its listen backlog, whatever their size.

Where the checker shares the herd's network namespace (Linux), ``/proc/net/tcp`` and
``/proc/net/tcp6`` tell them apart: a LISTEN line's receive queue field is how many connections
wait in its accept queue (its backlog is not shown there); an established socket's is its unread
octets.
Elsewhere (another host, ``--isolate``, no ``/proc``) nothing is read and both are named.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["PortQueues", "how_floods_wait", "parse_tcp_table", "port_queues"]

#: The kernel's TCP tables, IPv4 and IPv6.
TCP_TABLES: Final = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
_LISTEN: Final = "0A"
_ESTABLISHED: Final = "01"


@dataclass(frozen=True)
class PortQueues:
    """The queues of the sockets on one local port."""

    #: Connections waiting to be accepted (None: no LISTEN socket seen).
    accept_queue: int | None
    #: Octets received and not read, summed over the established connections to the port.
    unread: int
    #: How many established connections to the port there are.
    connections: int


def parse_tcp_table(text: str, port: int) -> PortQueues:
    """The queues on local ``port`` in one ``/proc/net/tcp`` (or ``tcp6``) table."""
    accept_queue: int | None = None
    unread = connections = 0
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5 or ":" not in fields[1] or ":" not in fields[4]:
            continue
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port != port:
            continue
        receive = int(fields[4].split(":")[1], 16)
        if fields[3] == _LISTEN:
            accept_queue = (accept_queue or 0) + receive
        elif fields[3] == _ESTABLISHED:
            unread += receive
            connections += 1
    return PortQueues(accept_queue, unread, connections)


def port_queues(ports: Iterable[int], tables: Iterable[Path] = TCP_TABLES) -> dict[int, PortQueues] | None:
    """The queues on each local port, or None where no table can be read."""
    texts = []
    for table in tables:
        try:
            texts.append(table.read_text(encoding="ascii", errors="replace"))
        except OSError:
            continue
    if not texts:
        return None
    found = {}
    for port in ports:
        parts = [parse_tcp_table(text, port) for text in texts]
        listening = [part for part in parts if part.accept_queue is not None]
        found[port] = PortQueues(
            accept_queue=sum(part.accept_queue or 0 for part in listening) if listening else None,
            unread=sum(part.unread for part in parts),
            connections=sum(part.connections for part in parts),
        )
    return found


def how_floods_wait(victim: str, queues: dict[int, PortQueues] | None) -> str:
    """Which of the two ways floods to the stopped ``victim`` are held up, in words true of
    what ``queues`` (its ports' queues, read while it is stopped) show; both where they show
    neither."""
    per_connection = (
        "a flood that opens a connection per record blocks in connect() once the stopped "
        "neighbour's accept queue is full (as many records as its listen backlog, whatever their size)"
    )
    buffered = "a flood written synchronously on a link blocks once the link's socket buffers are full"
    for port, seen in sorted((queues or {}).items()):
        if (seen.accept_queue or 0) >= _MANY_WAITING:
            return (
                f"{seen.accept_queue} connections wait in {victim}'s accept queue on port {port}: "
                f"{per_connection}"
            )
    for port, seen in sorted((queues or {}).items()):
        if seen.unread >= _MANY_UNREAD:
            return (
                f"{seen.unread / 2**10:.0f} KiB wait unread in {seen.connections} connection(s) to "
                f"{victim}'s port {port}: {buffered}"
            )
    return f"either {buffered}, or {per_connection}"


#: Connections waiting in a stopped server's accept queue that show floods opening one per
#: record: more than a herd's links to it (a persistent link per neighbour) could explain.
_MANY_WAITING: Final = 16
#: Unread octets on a stopped server's port that show a link's buffers full: more than one
#: record and more than a small receive window (a loopback socket's default is 128 KiB).
_MANY_UNREAD: Final = 64 * 2**10
