"""One bug: a server does not keep the record of an IAMAT it answers; it floods the AT line and
keeps it when a neighbour sends it back, as it keeps any record from a neighbour (one code path
for every AT line, a student's shortcut). A WHATSAT at that server right after the reply gets
'?' whenever it outruns the round trip, and with every neighbour down the record never comes
(STATE-1: a server holds the record from its AT reply on)."""

from _base import HerdServer, main


class OwnRecordFromFloodBack(HerdServer):
    def store_iamat(self, client: bytes, client_time: bytes, at_line: bytes, accepted: bool) -> None:
        pass  # the bug: kept only when it comes back from a neighbour

    async def on_at(self, fields: list[bytes]) -> None:
        self.check_at(fields)
        client, client_time = fields[3], fields[5]
        at_line = b" ".join(fields)
        if self.is_newer(client, client_time):
            self.table[client] = (client_time, at_line)
            # To every neighbour, the one it came from included: that is how the origin gets
            # its own record back (a newer-only test stops the echo there).
            await self.flood(self.relay(at_line))


if __name__ == "__main__":
    main(OwnRecordFromFloodBack)
