"""LocationTable: the newest AT record per client, nothing else (STATE-1).

Rule 1: a record replaces the stored one only if its client time is strictly greater
(FLOOD-2); an equal or older time is a duplicate and changes nothing.
Rule 2: records are stored as their AT line, the exact bytes every server relays and returns
(FLOOD-5). Everything else (the client ID, the client time) is read back out of that line.
Rule 3: the table holds at most ``max_clients`` clients (LIMIT-7): a record for a client it
does not hold is refused once it is full (counted in ``refused``); held clients update as usual.
Rule 4: the table must stay small with millions of clients, so it keeps one bytes object per
client and no copy of the client ID: the dict is keyed by the client ID's hash cut to 60 bits (a
32-byte int instead of a second bytes object), and every look-up checks the client ID inside
the stored line. Clients whose IDs hash alike (about one pair in a billion billion) share a
slot holding a tuple of their lines, so a collision costs time, never correctness.
"""

from __future__ import annotations

from collections.abc import Iterator

from herdref.protocol import is_newer

__all__ = ["LocationTable", "client_id_of", "client_time_of"]


def client_time_of(at_line: bytes) -> bytes:
    """The client-time field of a stored AT line (its last field)."""
    return at_line[at_line.rfind(b" ") + 1 :]


def client_id_of(at_line: bytes) -> bytes:
    """The client-ID field of a stored AT line (``AT server diff ID location time``)."""
    return at_line.split(b" ", 4)[3]


def _client_time_if_holds(at_line: bytes, client_id: bytes) -> bytes | None:
    """``at_line``'s client time if its client-ID field is ``client_id``, else None. A stored
    line is a canonical AT line (rule 2: six fields, one space apart, FLOOD-5), so one split
    finds both fields; one call answers both questions an update asks (every IAMAT of a
    known client asks them)."""
    _, _, _, stored_id, _, stored_time = at_line.split(b" ")
    return stored_time if stored_id == client_id else None


def _holds_client(at_line: bytes, client_id: bytes) -> bool:
    """Whether ``at_line``'s client-ID field is ``client_id``."""
    return _client_time_if_holds(at_line, client_id) is not None


def _is_newer(candidate_time: bytes, stored_time: bytes) -> bool:
    """FLOOD-2, fast: two times with as many digits on each side of the point compare as their
    octets do; anything else goes to the exact general comparison."""
    if len(candidate_time) == len(stored_time) and candidate_time.find(b".") == stored_time.find(b"."):
        return candidate_time > stored_time
    return is_newer(candidate_time, stored_time)


_Slot = bytes | tuple[bytes, ...]
_KEY_MASK = (1 << 60) - 1


class LocationTable:
    """A pure last-writer-wins map from client ID to AT line, ordered by client time."""

    __slots__ = ("_count", "_max_clients", "_slots", "refused")

    @staticmethod
    def _key(client_id: bytes) -> int:
        """The slot key of a client: its hash cut to 60 bits, because CPython stores an int
        below 2**60 in 32 bytes and a full 64-bit one in 48. (A test may override this to
        force collisions.)"""
        return hash(client_id) & _KEY_MASK

    def __init__(self, *, max_clients: int | None = None) -> None:
        self._slots: dict[int, _Slot] = {}
        self._count = 0
        self._max_clients = max_clients if max_clients is not None else float("inf")
        #: LIMIT-7: records of new clients refused because the table was full.
        self.refused = 0

    def update(self, client_id: bytes, client_time: bytes, at_line: bytes) -> bool:
        """Store ``at_line`` if it is newer than what is stored; True if it was (flood it).
        False also when ``client_id`` is new and the table is full (LIMIT-7).

        ``at_line`` must be the AT line of ``client_id`` at ``client_time``."""
        key = self._key(client_id)
        slots = self._slots
        slot = slots.get(key)
        if slot is None:
            if self._count >= self._max_clients:
                self.refused += 1
                return False
            slots[key] = at_line
            self._count += 1
            return True
        if isinstance(slot, bytes):
            # _client_time_if_holds and _is_newer, written out: this is the path of every
            # IAMAT of a known client, and the two calls were about 1.5% of its instructions
            # (issue 12).
            _, _, _, stored_id, _, stored_time = slot.split(b" ")
            if stored_id == client_id:
                if len(client_time) == len(stored_time) and client_time.find(b".") == stored_time.find(b"."):
                    if client_time <= stored_time:
                        return False
                elif not is_newer(client_time, stored_time):
                    return False
                slots[key] = at_line
                return True
            if self._count >= self._max_clients:
                self.refused += 1
                return False
            slots[key] = (slot, at_line)  # a hash collision: both clients share the slot
            self._count += 1
            return True
        return self._update_shared(key, slot, client_id, client_time, at_line)

    def _update_shared(
        self, key: int, lines: tuple[bytes, ...], client_id: bytes, client_time: bytes, at_line: bytes
    ) -> bool:
        for index, stored in enumerate(lines):
            stored_time = _client_time_if_holds(stored, client_id)
            if stored_time is not None:
                if not _is_newer(client_time, stored_time):
                    return False
                self._slots[key] = (*lines[:index], at_line, *lines[index + 1 :])
                return True
        if self._count >= self._max_clients:
            self.refused += 1
            return False
        self._slots[key] = (*lines, at_line)
        self._count += 1
        return True

    def get(self, client_id: bytes) -> bytes | None:
        """The stored AT line of ``client_id``, or None."""
        slot = self._slots.get(self._key(client_id))
        if slot is None:
            return None
        if isinstance(slot, bytes):
            return slot if _holds_client(slot, client_id) else None
        for stored in slot:
            if _holds_client(stored, client_id):
                return stored
        return None

    def __len__(self) -> int:
        return self._count

    def __contains__(self, client_id: object) -> bool:
        return isinstance(client_id, bytes) and self.get(client_id) is not None

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """(client ID, AT line) for every stored client."""
        for slot in self._slots.values():
            if isinstance(slot, bytes):
                yield client_id_of(slot), slot
            else:
                for stored in slot:
                    yield client_id_of(stored), stored
