"""A whole herd in one process: pure ``HerdNode`` objects over an in-memory network that the
caller drives step by step.

The network is explicit. Each connection a server opens to a neighbour has a FIFO queue of
lines written but not yet read (TCP keeps order within a connection, nothing across them);
:meth:`Simulation.deliver` picks which connection's next line is read next, so a caller (a
Hypothesis state machine) chooses every interleaving. Links can be cut and healed, servers
crashed (the node and everything in flight to or from it is lost) and restarted (a new node
with a new incarnation). The clock is virtual: it ticks once per step.

The links behave as ``herdref.herd.links`` runs them (LINK-1), with connecting and writing
immediate, since timing is the caller's choice of delivery order:

* ``persistent``: every server opens its own connection to each neighbour it can reach. On
  connecting it writes ``peer_greeting()``, then queues its whole table (``link_up``,
  CATCHUP-1), then writes its outbox; afterwards each reaction that names the neighbour in
  ``flood_to`` writes the outbox. A cut or a crash drops both connections of the link with
  their queues; the next connection catches up again.
* ``ephemeral``: a connection is one batch (greeting, then the outbox) opened when the server
  has not greeted the neighbour yet, has records for it, or lost lines; a failed attempt (the
  neighbour is unreachable) means lost lines, and the next batch starts with ``link_up``. A
  cut while a batch is in flight is seen by its sender (lost lines); a receiver that crashes
  loses its batches silently, and its new incarnation's greeting makes the sender catch up
  (CATCHUP-2).

With ``lazy_links=True`` a link's work is itself a pending step: a connection is opened, and
an outbox written, only when the caller picks that step (as a link task runs when the event
loop gets to it, or after its backoff, LINK-2), so reconnections race greetings and records
coalesce in outboxes meanwhile (LINK-5). By default links act at once.

The network is loopback: two servers that are not configured neighbours can still reach each
other (a node that names extra neighbours gets connections to them, as ``PeerLinks`` would
open them); only configured links can be cut.

Rules: no global randomness, no wall clock, no dependence on set iteration order: the same
calls give the same trace, byte for byte. WHATSAT is answered with a deterministic fake
Places body (:func:`fake_places_body`) in the legacy shape, cut to the bound.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal, Protocol

from herdref.herd.node import HerdNode, PlacesLookup, Reaction, Session
from herdref.model import ConnectionLog, Link, link

if TYPE_CHECKING:
    from herdref.herd.config import LinkMode

__all__ = ["Connection", "NodeFactory", "Pending", "Simulation", "fake_places_body"]

#: 2023-11-14T22:13:20Z: the virtual clock's start, in nanoseconds.
START_NS: Final = 1_700_000_000_000_000_000
#: Each step moves the clock by 1.000000007 ms, so time differences use all nine digits.
TICK_NS: Final = 1_000_007


class NodeFactory(Protocol):
    """Makes a node (``HerdNode`` itself, or a subclass with a planted bug)."""

    def __call__(self, name: str, neighbours: Iterable[str], *, incarnation: str) -> HerdNode: ...


@dataclass(slots=True)
class Connection:
    """One TCP connection a server opened to a neighbour."""

    serial: int
    sender: str
    receiver: str
    ephemeral: bool
    #: The receiver's state for this connection (set once it reads the PEER greeting).
    session: Session = field(default_factory=Session)
    #: Lines written by the sender and not yet read by the receiver, LF removed.
    queue: collections.deque[bytes] = field(default_factory=collections.deque)
    #: The AT lines written, a new segment per catch-up (see ``herdref.model.ConnectionLog``).
    segments: list[list[bytes]] = field(default_factory=lambda: [[]])


@dataclass(frozen=True, slots=True)
class Pending:
    """A step the caller may take: the next line of a connection, or (with lazy links) a
    link's pending work, ``connect`` or ``write`` (then ``serial`` is 0 and ``line`` empty)."""

    serial: int
    sender: str
    receiver: str
    line: bytes
    kind: Literal["line", "connect", "write"] = "line"


@dataclass(slots=True)
class _EphemeralLink:
    greeted: bool = False
    lost_lines: bool = False


def fake_places_body(lookup: PlacesLookup) -> bytes:
    """A deterministic legacy Nearby Search answer for ``lookup``, results cut to its bound,
    laid out like Google's (``"key" : value``, three-space indent, no empty line)."""
    available = 1 + (sum(lookup.at_line) + sum(lookup.radius_km)) % 24
    results = [
        {
            "geometry": {"location": {"lat": float(lookup.latitude), "lng": float(lookup.longitude)}},
            "name": f"Place {index}",
            "vicinity": f"{index} Simulated Way",
        }
        for index in range(min(available, lookup.bound))
    ]
    document = {"html_attributions": [], "results": results, "status": "OK"}
    return json.dumps(document, indent=3, separators=(",", " : ")).encode()


class Simulation:
    """A herd of nodes on an in-memory network, advanced one explicit step at a time."""

    def __init__(
        self,
        servers: Iterable[str],
        links: Iterable[tuple[str, str]],
        *,
        mode: LinkMode = "persistent",
        node_factory: NodeFactory = HerdNode,
        start_ns: int = START_NS,
        tick_ns: int = TICK_NS,
        lazy_links: bool = False,
    ) -> None:
        self.servers = tuple(dict.fromkeys(servers))
        self.links = tuple(sorted({link(a, b) for a, b in links}))
        self.mode = mode
        self.lazy_links = lazy_links
        self.node_factory = node_factory
        self.now_ns = start_ns
        self.tick_ns = tick_ns
        self.nodes: dict[str, HerdNode | None] = dict.fromkeys(self.servers)
        self.lives = dict.fromkeys(self.servers, 0)
        self.cut_links: set[Link] = set()
        #: Open connections by serial; a dict keeps them in the order they were opened.
        self.connections: dict[int, Connection] = {}
        self.closed: list[Connection] = []
        #: AT lines written on any connection, by line (catch-ups included).
        self.sends: collections.Counter[bytes] = collections.Counter()
        #: How many times a server queued its whole table for a neighbour.
        self.catch_ups = 0
        #: Replies a server wrote on a connection a neighbour opened (a peer never should).
        self.peer_replies: list[tuple[str, str, bytes]] = []
        #: Every step, for replay comparisons.
        self.trace: list[bytes] = []
        self._serial = 0
        self._persistent: dict[tuple[str, str], Connection] = {}
        self._ephemeral: dict[tuple[str, str], _EphemeralLink] = {}
        #: Lazy links: the work each link has yet to do, in the order it arose.
        self._link_work: dict[tuple[str, str], Literal["connect", "write"]] = {}
        self._neighbours = {
            name: tuple(other for other in self.servers if other != name and link(name, other) in self.links)
            for name in self.servers
        }
        for name in self.servers:
            self.nodes[name] = self._new_node(name)
        for name in self.servers:
            self._open_links_of(name)

    # ---- looking --------------------------------------------------------------------------

    def alive(self, server: str) -> bool:
        return self.nodes[server] is not None

    def node(self, server: str) -> HerdNode:
        node = self.nodes[server]
        if node is None:
            raise ValueError(f"{server} is down")
        return node

    def neighbours(self, server: str) -> tuple[str, ...]:
        """The configured neighbours of ``server``."""
        return self._neighbours[server]

    def reachable(self, sender: str, receiver: str) -> bool:
        """Both run and, if they are configured neighbours, their link is not cut. (A name
        that is no server of the herd is never reachable: nothing listens there.)"""
        if self.nodes.get(sender) is None or self.nodes.get(receiver) is None:
            return False
        pair = link(sender, receiver)
        return pair not in self.cut_links

    def pending(self) -> list[Pending]:
        """The steps that can be taken: the next line of every connection that has one,
        oldest connection first, then the work of lazy links."""
        steps = [
            Pending(connection.serial, connection.sender, connection.receiver, connection.queue[0])
            for connection in self.connections.values()
            if connection.queue
        ]
        steps += [
            Pending(0, sender, receiver, b"", kind) for (sender, receiver), kind in self._link_work.items()
        ]
        return steps

    def is_quiet(self) -> bool:
        """Nothing is in flight and no link has work left (what waits for an unreachable
        neighbour cannot move)."""
        return not self._link_work and not any(connection.queue for connection in self.connections.values())

    def tables(self) -> dict[str, dict[bytes, bytes]]:
        """Each running server's table: client ID -> AT line."""
        return {name: dict(node.table.items()) for name, node in self.nodes.items() if node is not None}

    def connection_logs(self) -> list[ConnectionLog]:
        """What every connection, closed or open, carried, in the order they were opened."""
        every = sorted([*self.closed, *self.connections.values()], key=lambda connection: connection.serial)
        return [
            ConnectionLog(connection.sender, connection.receiver, connection.serial, connection.segments)
            for connection in every
        ]

    # ---- clients --------------------------------------------------------------------------

    def send(self, server: str, line: bytes) -> bytes | None:
        """A client sends ``line`` (no LF) to ``server`` on a new connection; the reply (a
        WHATSAT is answered as ``HerdServer.answer_whatsat`` does, with the fake body)."""
        node = self.node(server)
        self._tick(b"client %s %s" % (server.encode(), line))
        reaction = node.receive(Session(), line, self.now_ns)
        self._carry_out(server, reaction)
        if reaction.lookup is not None:
            return self._answer(reaction.lookup)
        return reaction.reply

    def iamat(self, server: str, client_id: bytes, location: bytes, client_time: bytes) -> bytes | None:
        return self.send(server, b"IAMAT %s %s %s" % (client_id, location, client_time))

    def whatsat(self, server: str, client_id: bytes, radius_km: bytes, bound: int) -> bytes | None:
        return self.send(server, b"WHATSAT %s %s %d" % (client_id, radius_km, bound))

    # ---- the network ----------------------------------------------------------------------

    def deliver(self, index: int) -> Pending:
        """Take the ``index``-th step of :meth:`pending`: its receiver reads the line, or its
        link does its work."""
        ready = [connection for connection in self.connections.values() if connection.queue]
        if index >= len(ready):
            return self._do_link_work(index - len(ready))
        connection = ready[index]
        line = connection.queue.popleft()
        delivered = Pending(connection.serial, connection.sender, connection.receiver, line)
        self._tick(
            b"deliver #%d %s>%s %s"
            % (connection.serial, delivered.sender.encode(), delivered.receiver.encode(), line)
        )
        receiver = connection.receiver
        reaction = self.node(receiver).receive(connection.session, line, self.now_ns)
        if reaction.reply is not None or reaction.lookup is not None:
            self.peer_replies.append((connection.sender, receiver, reaction.reply or line))
        # CATCHUP-2: a greeting from a new incarnation makes the receiver queue its table for
        # the sender; a persistent connection starts a new segment for it.
        catch_up_for = connection.sender if line.startswith(b"PEER ") else None
        self._carry_out(receiver, reaction, catch_up_for=catch_up_for)
        if connection.ephemeral and not connection.queue:
            self._close(connection)
        return delivered

    def run_until_quiet(
        self, *, max_deliveries: int = 10_000, choose: Callable[[int], int] | None = None
    ) -> int:
        """Deliver until quiet or ``max_deliveries``; ``choose(count)`` picks among the pending
        lines (default: the oldest connection). Returns the number delivered."""
        delivered = 0
        while delivered < max_deliveries:
            count = sum(1 for connection in self.connections.values() if connection.queue)
            count += len(self._link_work)
            if not count:
                break
            self.deliver(choose(count) if choose is not None else 0)
            delivered += 1
        return delivered

    def cut(self, a: str, b: str) -> None:
        """The link stops: both of its connections drop, with what they carried."""
        pair = self._configured(a, b)
        self._tick(b"cut %s-%s" % (a.encode(), b.encode()))
        self.cut_links.add(pair)
        for connection in list(self.connections.values()):
            if link(connection.sender, connection.receiver) == pair:
                if connection.ephemeral:
                    self._ephemeral[(connection.sender, connection.receiver)].lost_lines = True
                self._close(connection)

    def heal(self, a: str, b: str) -> None:
        """The link works again; both ends reconnect."""
        pair = self._configured(a, b)
        self._tick(b"heal %s-%s" % (a.encode(), b.encode()))
        self.cut_links.discard(pair)
        for sender, receiver in ((a, b), (b, a)):
            node = self.nodes[sender]
            if node is not None and receiver in node.neighbours:
                self._open(sender, receiver)

    def crash(self, server: str) -> None:
        """``server`` dies: its node, and everything in flight to or from it, is gone."""
        self.node(server)
        self._tick(b"crash %s" % server.encode())
        self.nodes[server] = None
        self.lives[server] += 1
        for connection in list(self.connections.values()):
            if server in (connection.sender, connection.receiver):
                self._close(connection)
        for key in [key for key in self._ephemeral if key[0] == server]:
            del self._ephemeral[key]
        for key in [key for key in self._link_work if key[0] == server]:
            del self._link_work[key]

    def restart(self, server: str) -> None:
        """``server`` starts again: a new node with a new incarnation and an empty table. Its
        own links connect first, then its neighbours reconnect to it."""
        if self.nodes[server] is not None:
            raise ValueError(f"{server} is already running")
        self._tick(b"restart %s" % server.encode())
        self.nodes[server] = self._new_node(server)
        self._open_links_of(server)
        for other, node in self.nodes.items():
            if node is not None and other != server and server in node.neighbours:
                self._open(other, server)

    # ---- internals ------------------------------------------------------------------------

    def _tick(self, event: bytes) -> None:
        self.now_ns += self.tick_ns
        self.trace.append(event)

    def _configured(self, a: str, b: str) -> Link:
        pair = link(a, b)
        if pair not in self.links:
            raise ValueError(f"{a}-{b} is not a link of the herd")
        return pair

    def _new_node(self, name: str) -> HerdNode:
        return self.node_factory(name, self._neighbours[name], incarnation=str(self.lives[name]))

    def _open_links_of(self, server: str) -> None:
        for neighbour in self.node(server).neighbours:
            self._open(server, neighbour)

    def _new_connection(self, sender: str, receiver: str, *, ephemeral: bool) -> Connection:
        self._serial += 1
        connection = Connection(self._serial, sender, receiver, ephemeral)
        connection.queue.append(self.node(sender).peer_greeting().rstrip(b"\n"))  # PEER-1
        self.connections[connection.serial] = connection
        return connection

    def _do_link_work(self, index: int) -> Pending:
        (sender, receiver), kind = list(self._link_work.items())[index]
        del self._link_work[(sender, receiver)]
        self._tick(b"%s %s>%s" % (kind.encode(), sender.encode(), receiver.encode()))
        if self.nodes[sender] is not None:
            if kind == "connect":
                self._open(sender, receiver, now=True)
            else:
                self._write(sender, receiver, now=True)
        return Pending(0, sender, receiver, b"", kind)

    def _open(self, sender: str, receiver: str, *, now: bool = False) -> None:
        """The sender's link to ``receiver`` connects if it would (see the module docstring)."""
        if self.lazy_links and not now:
            self._link_work[(sender, receiver)] = "connect"
            return
        node = self.node(sender)
        if self.mode == "persistent":
            connection = self._persistent.get((sender, receiver))
            if connection is not None:
                self._take_outbox(connection)  # already up: the link just writes its outbox
                return
            if not self.reachable(sender, receiver):
                return
            self._persistent[(sender, receiver)] = self._new_connection(sender, receiver, ephemeral=False)
            node.link_up(receiver)  # CATCHUP-1, after the greeting, as links.py does
            self.catch_ups += 1
            self._write(sender, receiver)
            return
        state = self._ephemeral.setdefault((sender, receiver), _EphemeralLink())
        if state.greeted and not state.lost_lines and not node.pending(receiver):
            return
        if not self.reachable(sender, receiver):
            state.lost_lines = True
            return
        if state.lost_lines:
            node.link_up(receiver)  # CATCHUP-1
            self.catch_ups += 1
        connection = self._new_connection(sender, receiver, ephemeral=True)
        self._take_outbox(connection)
        state.greeted, state.lost_lines = True, False

    def _write(self, sender: str, receiver: str, *, now: bool = False) -> None:
        """Write ``sender``'s outbox for ``receiver`` on their connection (or open one)."""
        if self.mode == "ephemeral":
            self._open(sender, receiver, now=now)
            return
        if self.lazy_links and not now:
            self._link_work.setdefault((sender, receiver), "write")
            return
        connection = self._persistent.get((sender, receiver))
        if connection is not None:
            self._take_outbox(connection)

    def _take_outbox(self, connection: Connection) -> None:
        lines = self.node(connection.sender).take_outbox(connection.receiver)
        connection.queue.extend(lines)
        connection.segments[-1].extend(lines)
        self.sends.update(lines)

    def _carry_out(self, server: str, reaction: Reaction, *, catch_up_for: str | None = None) -> None:
        for neighbour in reaction.flood_to:
            if neighbour == catch_up_for:
                self.catch_ups += 1
                connection = self._persistent.get((server, neighbour))
                if connection is not None:
                    connection.segments.append([])
            self._write(server, neighbour)

    def _close(self, connection: Connection) -> None:
        del self.connections[connection.serial]
        connection.queue.clear()
        self.closed.append(connection)
        if self._persistent.get((connection.sender, connection.receiver)) is connection:
            del self._persistent[(connection.sender, connection.receiver)]

    def _answer(self, lookup: PlacesLookup) -> bytes:
        # WHATSAT-5, as HerdServer.answer_whatsat: the stored AT line, the body, an empty line.
        return lookup.at_line + b"\n" + fake_places_body(lookup) + b"\n\n"
