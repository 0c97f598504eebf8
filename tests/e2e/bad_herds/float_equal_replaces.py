"""One bug: a report replaces the stored one when its time differs as a string and is not
smaller as a float (`stored != t and float(stored) <= float(t)`), so two reports 1 ns apart,
equal as binary floats, replace each other wherever they meet. Floods go to every neighbour,
the sender included (a newer-only test stops an echo of the same line, so one record is
flooded finitely), and two such reports that cross on a link swap places for ever: records go
round the herd without end (FLOOD-2; a student herd wrote this test)."""

from _base import HerdServer, main


class FloatEqualReplaces(HerdServer):
    def is_newer(self, client: bytes, client_time: bytes) -> bool:
        stored = self.table.get(client)
        return stored is None or (stored[0] != client_time and float(stored[0]) <= float(client_time))

    async def on_at(self, fields: list[bytes]) -> None:
        self.check_at(fields)
        client, client_time = fields[3], fields[5]
        at_line = b" ".join(fields)
        if self.is_newer(client, client_time):
            self.table[client] = (client_time, at_line)
            await self.flood(self.relay(at_line))  # to every neighbour, the sender included


if __name__ == "__main__":
    main(FloatEqualReplaces)
