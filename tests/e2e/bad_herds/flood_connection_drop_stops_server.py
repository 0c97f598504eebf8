"""One bug: each record is flooded on a connection of its own that is left open, and when a
neighbour's side of one closes (the neighbour went down) the server stops its own event loop and
exits (a student herd: ``loop.stop()`` in the flooding protocol's ``connection_lost``). With no
persistent links, a server holds a connection to a neighbour only once it has flooded a record
there: one server's death then takes down every server that flooded to it (LINK-4)."""

import asyncio
import contextlib

from _base import HerdServer, main


class FloodConnectionDropStopsServer(HerdServer):
    ephemeral_links = True

    async def send_flood(self, peer: str, data: bytes) -> None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(*self.servers[peer]), 2)
        except (OSError, TimeoutError):
            return  # a neighbour that is down misses the record
        writer.write(data)  # and the connection stays open: neither side closes it
        with contextlib.suppress(OSError):
            await writer.drain()
            await reader.read()  # ends only when the neighbour's side closes
        print(f"lost {peer}: Stop the event loop", flush=True)
        asyncio.get_running_loop().stop()  # the bug: the whole server ends


if __name__ == "__main__":
    main(FloodConnectionDropStopsServer)
