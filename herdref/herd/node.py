"""HerdNode: one server's protocol logic, with no sockets, no clock and no HTTP.

The asyncio shell (``herdref.herd.server``) and the simulator (``herdref.checker.simulation``) drive the same
node: they hand it each received line with the connection it came on and the time, and carry
out what it decides: a reply, a Places look-up, and AT lines queued for neighbours.

Rules:

* IAMAT-4/7: every valid IAMAT is answered with a fresh AT line; only a strictly newer record
  is stored and flooded.
* FLOOD-1/3: a stored record is queued for every neighbour except the one it came from.
* FLOOD-6: an AT line is a flood whatever connection it arrives on; it gets no reply.
* LINK-5: each neighbour has one outbox keyed by client, so a slow or dead neighbour costs at
  most one pending record per client, however many updates it misses.
* PEER-4: in a herd with TLS between servers, the shell marks each connection: one on the
  client port may not send AT or PEER; one on the TLS peer port carries the names its
  certificate proves, and its greeting must name one of them.
* CATCHUP-1/2: when a link (re)connects, or a neighbour announces a new incarnation, the whole
  table is queued for it, so a restarted or re-joined server converges without new IAMATs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from herdref.herd.state import LocationTable
from herdref.protocol import (
    At,
    IAmAt,
    Peer,
    ProtocolError,
    WhatsAt,
    error_reply,
    format_at,
    format_time_diff,
    iamat_fields,
    location_degrees,
    parse_line,
)

if TYPE_CHECKING:
    from herdref.herd.peer_auth import PeerAuthenticator

__all__ = ["HerdNode", "PlacesLookup", "Reaction", "ReactionFields", "Session"]


@dataclass(slots=True)
class Session:
    """What a node remembers about one connection."""

    #: PEER-1: the neighbour that opened this connection, once it has said so.
    peer: str | None = None
    #: PEER-4: False on the client port of a herd with TLS between servers: AT and PEER lines
    #: are refused there, so a client cannot plant a location.
    peer_lines: bool = True
    #: PEER-4: on the TLS peer port, the server names the peer's verified certificate holds
    #: (CN and DNS SANs); its greeting must name one, and AT waits for that greeting.
    certificate_names: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class PlacesLookup:
    """WHATSAT-5: fetch places, then answer with ``at_line`` and the JSON."""

    at_line: bytes
    latitude: str
    longitude: str
    radius_km: bytes
    bound: int
    #: The WHATSAT line as received, for the ``?`` reply if Places fails (PLACES-5).
    request_line: bytes


class Reaction(NamedTuple):
    """What the shell must do about one received line.

    A NamedTuple rather than a frozen dataclass: as immutable, but built in a third of the time
    (a frozen dataclass sets each field through ``object.__setattr__``), and one is built for
    every line."""

    reply: bytes | None = None
    lookup: PlacesLookup | None = None
    #: Neighbours whose outbox gained lines; the shell should flush them.
    flood_to: tuple[str, ...] = ()
    #: ERR-3: the clause a rejected line broke, for the log.
    rejected_by: str | None = None


_NOTHING = Reaction()
#: What :meth:`HerdNode.react` returns: a Reaction's four fields in its order (reply, lookup,
#: flood_to, rejected_by); a plain tuple on the IAMAT path, a Reaction elsewhere.
ReactionFields = tuple[bytes | None, PlacesLookup | None, tuple[str, ...], str | None]


class HerdNode:
    """The state and decisions of one herd server."""

    def __init__(
        self,
        name: str,
        neighbours: Iterable[str],
        *,
        incarnation: str = "0",
        peer_auth: PeerAuthenticator | None = None,
        max_clients: int | None = None,
    ) -> None:
        self.name = name
        #: PEER-3: with a shared secret, only connections whose greeting proves it may flood.
        self.peer_auth = peer_auth
        self.name_bytes = name.encode()
        self.neighbours = tuple(neighbours)
        self.incarnation = incarnation
        #: LIMIT-7: at most ``max_clients`` clients are held (None: no cap, for simulations).
        self.table = LocationTable(max_clients=max_clients)
        self._neighbour_by_bytes = {neighbour.encode(): neighbour for neighbour in self.neighbours}
        self._outboxes: dict[str, dict[bytes, bytes]] = {neighbour: {} for neighbour in self.neighbours}
        self._incarnations: dict[str, bytes] = {}
        #: FLOOD-1/3: who gets a record, by the neighbour it came from (None: a client), worked
        #: out once rather than for every stored record.
        self._flood_targets: dict[str | None, tuple[str, ...]] = {
            sender: tuple(neighbour for neighbour in self.neighbours if neighbour != sender)
            for sender in (None, *self.neighbours)
        }

    # ---- lines ---------------------------------------------------------------------------

    def receive(self, session: Session, line: bytes, now_ns: int) -> Reaction:
        """Decide what to do about one line (LF removed) received at ``now_ns``."""
        reaction = self.react(session, line, now_ns)
        return reaction if isinstance(reaction, Reaction) else Reaction(*reaction)

    def react(self, session: Session, line: bytes, now_ns: int) -> ReactionFields:
        """:meth:`receive` for the server's line loop, which unpacks what it gets: an IAMAT's
        reaction is a plain tuple rather than a Reaction (even one made with the tuple
        constructor underneath): 2,180 fewer instructions per IAMAT of the server's line path,
        53,070 to 50,880, measured with callgrind (issue 12)."""
        fields = iamat_fields(line)  # the common case, without building a message
        if fields is not None:
            return self._on_iamat(fields[1], fields[2], fields[3], now_ns)
        try:
            message = parse_line(line)
        except ProtocolError as exc:
            if self.peer_auth is not None and session.peer_lines:
                # Imported here: only a herd with a shared secret needs it (start-up time).
                from herdref.herd.peer_auth import is_authenticated_greeting

                fields = line.split()
                if is_authenticated_greeting(fields):
                    return self._on_authenticated_peer(fields, session, line, now_ns)
            return Reaction(reply=error_reply(line), rejected_by=exc.clause)
        if message is None:
            return _NOTHING  # FRAME-5: blank lines get no reply
        if isinstance(message, IAmAt):
            return self._on_iamat(message.client_id, message.location, message.client_time, now_ns)
        if isinstance(message, WhatsAt):
            return self._on_whatsat(message, line)
        if not session.peer_lines:
            # PEER-4: with TLS between servers, floods and greetings come only over TLS.
            return Reaction(reply=error_reply(line), rejected_by="PEER-4")
        if self.peer_auth is not None and session.peer is None:
            # PEER-3: with a secret, AT (and the unproved three-field PEER) only after a
            # greeting that proves it: a client cannot plant a location.
            return Reaction(reply=error_reply(line), rejected_by="PEER-3")
        if isinstance(message, At):
            if session.peer is None and session.certificate_names is not None:
                # PEER-4: on the TLS peer port, a flood comes after the greeting that names
                # the certificate's server.
                return Reaction(reply=error_reply(line), rejected_by="PEER-4")
            return self._on_at(message, session)
        return self._on_peer(message, session, line)

    def _on_iamat(self, client_id: bytes, location: bytes, client_time: bytes, now_ns: int) -> ReactionFields:
        # AT-1, IAMAT-5: the fields of ``format_at`` joined directly; an ``At`` built only to be
        # formatted would cost as much again as the join (this is the path of every IAMAT).
        time_diff = format_time_diff(now_ns, client_time)
        at_line = b" ".join((b"AT", self.name_bytes, time_diff, client_id, location, client_time))
        flood_to = self._store(client_id, client_time, at_line, sender=None)
        return (at_line + b"\n", None, flood_to, None)

    def _on_whatsat(self, message: WhatsAt, line: bytes) -> Reaction:
        at_line = self.table.get(message.client_id)
        if at_line is None:
            # WHATSAT-4: a client this server has no record of is an invalid request.
            return Reaction(reply=error_reply(line), rejected_by="WHATSAT-4")
        location = at_line.split(b" ", 5)[4]
        latitude, longitude = location_degrees(location)
        lookup = PlacesLookup(at_line, latitude, longitude, message.radius_km, message.bound, line)
        return Reaction(lookup=lookup)

    def _on_at(self, message: At, session: Session) -> Reaction:
        # FLOOD-5: the record is kept and relayed as the canonical single-spaced AT line.
        return Reaction(
            flood_to=self._store(
                message.client_id, message.client_time, format_at(message), sender=session.peer
            )
        )

    def _on_authenticated_peer(
        self, fields: list[bytes], session: Session, line: bytes, now_ns: int
    ) -> Reaction:
        assert self.peer_auth is not None
        neighbour = self._neighbour_by_bytes.get(fields[1])
        if neighbour is None or session.peer is not None:
            return Reaction(reply=error_reply(line), rejected_by="PEER-2")
        failed = self.peer_auth.verify(fields, self.name_bytes, now_ns=now_ns)
        if failed is not None:
            return Reaction(reply=error_reply(line), rejected_by="PEER-3")
        return self._on_peer(Peer(fields[1], fields[2]), session, line)

    def _on_peer(self, message: Peer, session: Session, line: bytes) -> Reaction:
        neighbour = self._neighbour_by_bytes.get(message.server_id)
        if neighbour is None or session.peer is not None:
            # PEER-2: only a neighbour may open a link, and only once per connection.
            return Reaction(reply=error_reply(line), rejected_by="PEER-2")
        names = session.certificate_names
        if names is not None and neighbour not in names:
            # PEER-4: a certificate for one server cannot open a link as another.
            return Reaction(reply=error_reply(line), rejected_by="PEER-4")
        session.peer = neighbour
        if self._incarnations.get(neighbour) == message.incarnation:
            return _NOTHING
        # CATCHUP-2: a neighbour we have not seen in this incarnation may have lost its
        # memory; give it everything we know.
        self._incarnations[neighbour] = message.incarnation
        return Reaction(flood_to=self.link_up(neighbour))

    def _store(
        self, client_id: bytes, client_time: bytes, at_line: bytes, *, sender: str | None
    ) -> tuple[str, ...]:
        if not self.table.update(client_id, client_time, at_line):
            return ()  # FLOOD-2: a duplicate or stale record stops here
        # FLOOD-3: never back over the link the record came from.
        targets = self._flood_targets[sender]
        outboxes = self._outboxes
        for neighbour in targets:
            outboxes[neighbour][client_id] = at_line
        return targets

    # ---- links ---------------------------------------------------------------------------

    def link_up(self, neighbour: str) -> tuple[str, ...]:
        """CATCHUP-1: a link to ``neighbour`` has (re)connected; queue the whole table for it."""
        outbox = self._outboxes[neighbour]
        for client_id, at_line in self.table.items():
            outbox[client_id] = at_line
        return (neighbour,) if outbox else ()

    def take_outbox(self, neighbour: str) -> list[bytes]:
        """The AT lines (without LF) due for ``neighbour``, oldest queued first; empties it."""
        outbox = self._outboxes[neighbour]
        if not outbox:
            return []
        lines = list(outbox.values())
        outbox.clear()
        return lines

    def pending(self, neighbour: str) -> int:
        """How many records wait for ``neighbour``."""
        return len(self._outboxes[neighbour])

    def peer_greeting(self, neighbour: str | None = None, *, now_ns: int = 0, nonce: bytes = b"") -> bytes:
        """PEER-1: the first line this server sends on a link it opens. With a shared secret
        (PEER-3) it names the ``neighbour`` and carries the shell's clock and a fresh random
        ``nonce`` (32 hex digits), so the node itself stays free of both."""
        if self.peer_auth is None:
            return b"PEER %s %s\n" % (self.name_bytes, self.incarnation.encode())
        if neighbour is None:
            raise ValueError("an authenticated greeting names the neighbour it is for")
        return self.peer_auth.greeting(
            self.name_bytes, neighbour.encode(), self.incarnation.encode(), now_ns=now_ns, nonce=nonce
        )
