"""A model of a herd, built from observations, and the properties every herd must keep.

The model knows only what an observer outside the servers can know: the topology (servers and
undirected links), which servers were alive and which links worked when, and the records the
clients created (an IAMAT at a server and the AT line it answered). It never looks inside a
server, so the same model judges the in-process simulation (``herdref.checker.simulation``), a real
herd driven over TCP (``herdref validate``) and anyone else's herd.

What it derives, per record (one AT line answered to one IAMAT):

* ``may``: the servers that may hold it. A record moves only over a working link between two
  live servers, so it may be anywhere in the connected component of a server that may hold it,
  at any moment; a server that crashes loses everything it held (FLOOD-4, no leakage).
* ``must``: the servers that must hold it, or a newer record of the same client. The origin
  must, from its reply on (STATE-1). Whenever the herd is observed quiet (:meth:`HerdModel.quiet`):

  * ``catch_up=True`` (the herdref extension, CATCHUP-1): every live server connected to a
    server in ``must`` by a path of working links must too, whenever the record was created,
    across restarts; a crashed server leaves ``must``. Servers of one component must then
    agree: each holds a record of the same client time for each client, or none.
  * ``catch_up=False`` (the plain spec, FLOOD-1): only a record created since the last change
    of topology, and newer than anything its origin may have held for that client (so it was
    stored and flooded), must reach its origin's component; nothing is owed to servers that
    join later.

Rules: the model is pure and deterministic (no clock, no randomness, no set iteration order
in any result); client times compare as exact fractions, computed here rather than by the
code under test. The property functions (``check_*``) return a list of :class:`Violation`,
empty when the property holds, and never raise on bad server output: a malformed reply is a
violation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

#: An undirected link, its two server names in sorted order.
Link = tuple[str, str]
#: Observed tables: server -> client ID -> the AT line it holds, or None when it answered that
#: it knows nothing of the client. A client missing from a server's mapping was not observed.
Tables = Mapping[str, Mapping[bytes, bytes | None]]


def link(a: str, b: str) -> Link:
    """The undirected link between ``a`` and ``b``."""
    if a == b:
        raise ValueError(f"a link joins two different servers, not {a!r} to itself")
    return (a, b) if a < b else (b, a)


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken property: the SPEC clause and what was seen."""

    clause: str
    message: str
    #: Other clauses whose breach explains what was seen as well (a server holding an older
    #: record: a flood that never came, FLOOD-1, or one it refused, FLOOD-2).
    also: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.clause}: {self.message}"


@dataclass(frozen=True, slots=True)
class Record:
    """One location record: the AT line a server answered to an IAMAT."""

    client_id: bytes
    client_time: bytes
    at_line: bytes
    origin: str
    #: The model's step counter when the IAMAT was answered.
    step: int
    #: The topology epoch (changes whenever a server or link goes down or up).
    epoch: int
    #: FLOOD-3: the most AT messages one flood of this record may cost in the topology it was
    #: created in (see :func:`flooding_bound`).
    bound: int
    #: Newer than anything its origin may have held for the client, so the origin certainly
    #: stored and flooded it (an equal or older client time is a duplicate, FLOOD-2).
    fresh: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Tables observed at one step, with the life of each server (a crash starts a new one)."""

    step: int
    lives: Mapping[str, int]
    tables: Tables
    #: True when each table lists every client the server holds, so a missing client means
    #: "holds nothing" (the simulator sees whole tables; a wire observer sees what it asked).
    complete: bool = False

    def holding(self, server: str, client_id: bytes) -> tuple[bool, bytes | None]:
        """Whether ``server``'s record for ``client_id`` was observed, and that record."""
        table = self.tables.get(server)
        if table is None:
            return False, None
        if client_id in table:
            return True, table[client_id]
        return self.complete, None


@dataclass(frozen=True, slots=True)
class ConnectionLog:
    """The AT lines one server wrote on one connection to a neighbour.

    A new segment starts each time the whole table is queued for the neighbour (CATCHUP-1/2),
    which legitimately repeats records already sent.
    """

    sender: str
    receiver: str
    serial: int
    segments: Sequence[Sequence[bytes]]


# ---- graphs ------------------------------------------------------------------------------


def components(servers: Iterable[str], links: Iterable[Iterable[str]]) -> tuple[tuple[str, ...], ...]:
    """The connected components of the graph, each in the order ``servers`` lists them; a link is
    any pair of names (a tuple, or the herd file's frozensets), and links to servers not listed
    are ignored, so ``servers`` may be the live ones."""
    order = list(dict.fromkeys(servers))
    adjacent: dict[str, list[str]] = {server: [] for server in order}
    for a, b in links:
        if a in adjacent and b in adjacent:
            adjacent[a].append(b)
            adjacent[b].append(a)
    seen: set[str] = set()
    result: list[tuple[str, ...]] = []
    for start in order:
        if start in seen:
            continue
        seen.add(start)
        frontier = [start]
        members = {start}
        while frontier:
            for other in adjacent[frontier.pop()]:
                if other not in seen:
                    seen.add(other)
                    members.add(other)
                    frontier.append(other)
        result.append(tuple(server for server in order if server in members))
    return tuple(result)


def flooding_bound(servers: Iterable[str], links: Iterable[Link], *, origin: str | None = None) -> int:
    """FLOOD-1/3: the AT messages one update costs when flooded through a connected component C.

    The origin sends it to each of its neighbours; every other server first hears it from one
    neighbour and sends it to the others: ``sum(deg_C(v) for v in C) - (|C| - 1)``. Without
    ``origin`` the graph must be connected.
    """
    server_list = list(dict.fromkeys(servers))
    link_list = [link(a, b) for a, b in links]
    parts = components(server_list, link_list)
    if origin is None:
        if len(parts) != 1:
            raise ValueError("the graph is not connected; name the origin of the update")
        members = set(parts[0])
    else:
        matching = [part for part in parts if origin in part]
        if not matching:
            raise ValueError(f"{origin!r} is not a server of the graph")
        members = set(matching[0])
    degree_sum = 2 * sum(1 for a, b in set(link_list) if a in members and b in members)
    return degree_sum - (len(members) - 1)


# ---- the model ---------------------------------------------------------------------------


class HerdModel:
    """What each server may and must hold, from the herd's observed history."""

    def __init__(
        self, servers: Iterable[str], links: Iterable[tuple[str, str]], *, catch_up: bool = True
    ) -> None:
        self.servers = tuple(dict.fromkeys(servers))
        self.links = tuple(sorted({link(a, b) for a, b in links}))
        for a, b in self.links:
            if a not in self.servers or b not in self.servers:
                raise ValueError(f"link {a}-{b} names a server that is not in the herd")
        self.catch_up = catch_up
        self.step = 0
        self.epoch = 0
        self.alive = dict.fromkeys(self.servers, True)
        self.lives = dict.fromkeys(self.servers, 0)
        self.working = set(self.links)
        #: Every record, by AT line, in creation order.
        self.records: dict[bytes, Record] = {}
        self._may: dict[bytes, set[str]] = {}
        self._must: dict[bytes, set[str]] = {}
        self._lines_by_client: dict[bytes, list[bytes]] = {}

    # ---- observations --------------------------------------------------------------------

    def create(self, origin: str, client_id: bytes, client_time: bytes, at_line: bytes) -> Record:
        """``origin`` answered an IAMAT from ``client_id`` with ``at_line`` (IAMAT-4)."""
        self._require_alive(origin)
        self.step += 1
        known = self.records.get(at_line)
        if known is None:
            bound = flooding_bound(self.servers, self._live_links(), origin=origin)
            # Times compare as the herd wrote them in its AT lines (a lenient herd may echo a
            # numerically equal time, IAMAT-5): what servers hold is compared with the same.
            value = time_of_line(at_line)
            fresh = all(time_of_line(line) < value for line in self.may_lines(origin, client_id))
            known = Record(client_id, client_time, at_line, origin, self.step, self.epoch, bound, fresh)
            self.records[at_line] = known
            self._may[at_line] = set()
            self._must[at_line] = set()
            self._lines_by_client.setdefault(client_id, []).append(at_line)
        # STATE-1: from its reply on, the origin holds this record or a newer one.
        self._must[at_line].add(origin)
        self._may[at_line].update(self._component_of(origin))
        return known

    def crash(self, server: str) -> None:
        """``server`` stopped and lost its memory."""
        self._require_alive(server)
        self._change()
        self.alive[server] = False
        self.lives[server] += 1
        for holders in (*self._may.values(), *self._must.values()):
            holders.discard(server)

    def restart(self, server: str) -> None:
        """``server`` runs again, with an empty table."""
        if self.alive[server]:
            raise ValueError(f"{server} is already running")
        self._change()
        self.alive[server] = True
        self._spread_may()

    def cut(self, a: str, b: str) -> None:
        """The link between ``a`` and ``b`` stops carrying anything."""
        self._change()
        self.working.discard(self._known_link(a, b))

    def heal(self, a: str, b: str) -> None:
        """The link between ``a`` and ``b`` works again."""
        self._change()
        self.working.add(self._known_link(a, b))
        self._spread_may()

    def quiet(self) -> None:
        """The herd has been quiet in the current topology: every message sent was received,
        every link that can be up is up. Grows ``must`` as the module docstring says."""
        self.step += 1
        for part in self.live_components():
            members = set(part)
            for line, holders in self._must.items():
                if self.catch_up:
                    owed = not holders.isdisjoint(members)
                else:
                    record = self.records[line]
                    owed = record.fresh and record.epoch == self.epoch and record.origin in members
                if owed:
                    holders.update(members)

    # ---- queries -------------------------------------------------------------------------

    def live_components(self) -> tuple[tuple[str, ...], ...]:
        """The components of live servers over working links."""
        live = [server for server in self.servers if self.alive[server]]
        return components(live, self._live_links())

    def may_lines(self, server: str, client_id: bytes) -> list[bytes]:
        """The AT lines of ``client_id`` that ``server`` may hold now, oldest created first."""
        return [line for line in self._lines_by_client.get(client_id, ()) if server in self._may[line]]

    def must_record(self, server: str, client_id: bytes) -> Record | None:
        """The newest record of ``client_id`` that ``server`` must hold now (or a newer one)."""
        newest: Record | None = None
        for line in self._lines_by_client.get(client_id, ()):
            if server in self._must[line]:
                record = self.records[line]
                if newest is None or time_of_line(record.at_line) > time_of_line(newest.at_line):
                    newest = record
        return newest

    def client_ids(self) -> list[bytes]:
        """Every client that has created a record, in order of its first record."""
        return list(self._lines_by_client)

    def snapshot(self, tables: Tables, *, complete: bool = False) -> Snapshot:
        """Stamp observed tables (of live servers) with the current step and server lives."""
        return Snapshot(self.step, dict(self.lives), tables, complete)

    # ---- internals -----------------------------------------------------------------------

    def _change(self) -> None:
        self.step += 1
        self.epoch += 1

    def _require_alive(self, server: str) -> None:
        if not self.alive.get(server, False):
            raise ValueError(f"{server} is not a running server of the herd")

    def _known_link(self, a: str, b: str) -> Link:
        pair = link(a, b)
        if pair not in self.links:
            raise ValueError(f"{a}-{b} is not a link of the herd")
        return pair

    def _live_links(self) -> list[Link]:
        return [(a, b) for a, b in self.links if (a, b) in self.working and self.alive[a] and self.alive[b]]

    def _component_of(self, server: str) -> tuple[str, ...]:
        for part in self.live_components():
            if server in part:
                return part
        return ()

    def _spread_may(self) -> None:
        # FLOOD-4: anything a live server may hold may reach its whole component.
        for part in self.live_components():
            members = set(part)
            for holders in self._may.values():
                if not holders.isdisjoint(members):
                    holders.update(members)


# ---- properties over tables --------------------------------------------------------------


def client_time_value(client_time: bytes) -> Fraction:
    """FLOOD-2: a client time as an exact number (computed here, not by the code under test);
    a malformed time is -1, older than any valid one."""
    try:
        return Fraction(client_time.decode("ascii"))
    except (ValueError, ZeroDivisionError):
        return Fraction(-1)


def time_of_line(at_line: bytes) -> Fraction:
    """The client time an AT line carries: its last field (white space after it is not part of
    it: a relayed copy with a trailing space carries the same time, and which record it is
    must not turn on the space; that the line changed is FLOOD-5's)."""
    fields = at_line.split()
    return client_time_value(fields[-1]) if fields else Fraction(-1)
