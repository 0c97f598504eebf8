"""One bug: a flooded record is handled as a client's new report: each server stores, and relays,
an AT line of its own (its server ID, its time difference), and the copy that comes back to the
server that received the IAMAT replaces the line it answered with (FLOOD-5: every server stores
and returns the AT reply of the server that received the IAMAT). Each server relays its own line
a second after it got the record (a herd that relays from a periodic task), so the first WHATSAT
after the IAMAT still shows the reply line; only what the flood leaves behind differs."""

import asyncio
import time
from decimal import Decimal

from _base import HerdServer, main


class FloodHandledAsReport(HerdServer):
    #: How long a server waits before it relays a record (its relay task's period).
    relay_delay_s = 1.0

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.relayed: set[tuple[bytes, bytes]] = set()  # (client, client time) sent on once

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        fields = at_line.split(b" ")
        self.relayed.add((fields[3], fields[5]))
        await super().flood(at_line, exclude)

    async def on_at(self, fields: list[bytes]) -> None:
        self.check_at(fields)
        client, location, client_time = fields[3], fields[4], fields[5]
        own = b"AT %s %s %s %s %s" % (
            self.name.encode(),
            self.time_diff(time.time(), client_time),
            client,
            location,
            client_time,
        )
        stored = self.table.get(client)
        if stored is None or Decimal(client_time.decode()) >= Decimal(stored[0].decode()):
            self.table[client] = (client_time, own)  # the bug: an equal time (a copy) wins too
        if (client, client_time) not in self.relayed:
            self.relayed.add((client, client_time))
            task = asyncio.get_running_loop().create_task(self.relay_later(own))
            self.sending.add(task)
            task.add_done_callback(self.sending.discard)

    async def relay_later(self, at_line: bytes) -> None:
        await asyncio.sleep(self.relay_delay_s)
        await self.flood(at_line)  # to every neighbour, the one it came from included


if __name__ == "__main__":
    main(FloodHandledAsReport)
