"""One bug: a server takes back any record that names it as its origin, comparing no client times
(its own record, trusted), so when a client reports twice in a row the first record, echoed back
by a neighbour after the second was taken and flooded, replaces the newer one (FLOOD-2: a record
replaces the stored one only when its client time is strictly greater). Records flooded from
other servers are compared by value, as _base.py does.

Each server also sends every record back to the server that made it, when that is a neighbour
(a student herd's flood to every neighbour), and sends that copy when a newer record of the
client made by that server comes (a copy of the same or an older record, relayed round a cycle,
does not count): the echo of the first report always arrives after the second was taken, so the
older record is put back every time, not only when a race goes its way (a real herd that floods
to every neighbour and compares no times on flooded records loses its newer record by that race:
a student's Juzang herd did, under some seeds only)."""

from decimal import Decimal

from _base import HerdServer, main


class OwnRecordBackReplacesNewer(HerdServer):
    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        # (neighbour, client) -> the record to echo back to it with its next record of the client
        self.echoes: dict[tuple[str, bytes], bytes] = {}

    async def on_at(self, fields: list[bytes]) -> None:
        self.check_at(fields)
        origin, client, client_time = fields[1].decode(errors="replace"), fields[3], fields[5]
        at_line = b" ".join(fields)
        if origin == self.name:
            stored = self.table.get(client)
            if stored is None or stored[1] != at_line:
                self.table[client] = (client_time, at_line)  # the bug: no comparison
            return
        echo = self.echoes.get((origin, client))
        if echo is not None and Decimal(client_time.decode()) > Decimal(echo.split()[5].decode()):
            # The echo of the record this server made before, now that a newer one came.
            del self.echoes[(origin, client)]
            self.queues[origin].put_nowait(echo)
        stored_it = self.is_newer(client, client_time)
        if stored_it:
            self.table[client] = (client_time, at_line)
            if origin in self.queues:
                self.echoes[(origin, client)] = at_line + b"\n"
            await self.flood(at_line, exclude=origin)


if __name__ == "__main__":
    main(OwnRecordBackReplacesNewer)
