"""LocationTable: the newest AT record per client, nothing else (STATE-1).

Rule 1: a record replaces the stored one only if its client time is strictly greater
(FLOOD-2); an equal or older time is a duplicate and changes nothing.
Rule 2: records are stored as their AT line, the exact bytes every server relays and returns
(FLOOD-5), so the table costs one bytes object per client and its key.
"""

from __future__ import annotations

from collections.abc import Iterator

from herdref.protocol import is_newer

__all__ = ["LocationTable", "client_time_of"]


def client_time_of(at_line: bytes) -> bytes:
    """The client-time field of a stored AT line (its last field)."""
    return at_line[at_line.rfind(b" ") + 1 :]


class LocationTable:
    """A pure last-writer-wins map from client ID to AT line, ordered by client time."""

    __slots__ = ("_lines",)

    def __init__(self) -> None:
        self._lines: dict[bytes, bytes] = {}

    def update(self, client_id: bytes, client_time: bytes, at_line: bytes) -> bool:
        """Store ``at_line`` if it is newer than what is stored; True if it was (flood it)."""
        stored = self._lines.get(client_id)
        if stored is not None and not is_newer(client_time, client_time_of(stored)):
            return False
        self._lines[client_id] = at_line
        return True

    def get(self, client_id: bytes) -> bytes | None:
        return self._lines.get(client_id)

    def __len__(self) -> int:
        return len(self._lines)

    def __contains__(self, client_id: object) -> bool:
        return client_id in self._lines

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        return iter(self._lines.items())
