"""One bug: a record goes no further than two hops from the server a client reported to: a
server passes on a record from a neighbour only when that neighbour is the record's origin (a
student's guard against flooding for ever). With every server running, no two servers of the
default herd are more than two hops apart, so every record arrives; with one down, a record
whose path around it is three hops long never does (FLOOD-1: a record reaches every server over
any path of running servers)."""

from _base import HerdServer, main


class FloodTwoHops(HerdServer):
    async def on_at(self, fields: list[bytes]) -> None:
        self.check_at(fields)
        client, client_time, origin = fields[3], fields[5], fields[1].decode(errors="replace")
        at_line = b" ".join(fields)
        stored = self.is_newer(client, client_time)
        if stored:
            self.table[client] = (client_time, at_line)
        if stored and origin in self.neighbours:  # the bug: a relayed record goes no further
            await self.flood(self.relay(at_line), exclude=origin)


if __name__ == "__main__":
    main(FloodTwoHops)
