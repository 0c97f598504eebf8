"""One bug: a record that comes from a neighbour replaces the stored one whenever its AT line
differs, whatever the client times (FLOOD-2: only a strictly newer record replaces the stored
one). A client's own IAMATs are compared by value, as _base.py does, so the server a client
reports to never goes back in time; its neighbours do, when two floods cross and the older
arrives last."""

from _base import HerdServer, main


class RelayTakesOlder(HerdServer):
    async def on_at(self, fields: list[bytes]) -> None:
        self.check_at(fields)
        client, client_time = fields[3], fields[5]
        at_line = b" ".join(fields)
        stored = self.table.get(client)
        if stored is not None and stored[1] == at_line:
            return  # the same line again: the flood has come round
        self.table[client] = (client_time, at_line)  # the bug: no comparison of client times
        await self.flood(at_line, exclude=fields[1].decode(errors="replace"))


if __name__ == "__main__":
    main(RelayTakesOlder)
