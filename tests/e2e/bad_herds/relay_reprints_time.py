"""One bug, strict only: a server keeps the client time of a record it got from a neighbour as a
float printed to the microsecond, so it stores and relays '1796319437.185589' for
'1796319437.185589075': a smaller value, within the graders' 1e-6 s tolerance of the time sent
(FLOOD-5 asks the same octets everywhere; it is the same record, not an older one)."""

from _base import HerdServer, main


def reprinted(client_time: bytes) -> bytes:
    whole, _, fraction = client_time.partition(b".")
    return whole + b"." + (fraction[:6] or b"0")  # cut, as a float printed with %.6f-like digits


class RelayReprintsTime(HerdServer):
    async def on_at(self, fields: list[bytes]) -> None:
        if len(fields) == 6 and self.time_ok(fields[5]):
            fields = [*fields[:5], reprinted(fields[5])]  # the client time as a float
        await super().on_at(fields)


if __name__ == "__main__":
    main(RelayReprintsTime)
