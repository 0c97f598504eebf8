"""One bug, strict only: a server keeps the location of a record it got from a neighbour as two
floats, so it stores and relays '+34.06893-118.445127' for '+34.068930-118.445127' (FLOOD-5 asks
the same octets everywhere; the location is the same within the graders' tolerance)."""

import re

from _base import HerdServer, main


def reprinted(location: bytes) -> bytes:
    latitude, longitude = re.fullmatch(rb"([+-][0-9.]+)([+-][0-9.]+)", location).groups()  # type: ignore[union-attr]
    return b"".join(f"{float(part):+.15g}".encode() for part in (latitude, longitude))


class RelayReprintsLocation(HerdServer):
    async def on_at(self, fields: list[bytes]) -> None:
        if len(fields) == 6 and self.location_ok(fields[4]):
            fields = [*fields[:4], reprinted(fields[4]), fields[5]]  # the location as floats
        await super().on_at(fields)


if __name__ == "__main__":
    main(RelayReprintsLocation)
