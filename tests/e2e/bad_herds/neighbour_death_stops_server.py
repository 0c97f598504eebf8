"""One bug: when the link to a neighbour drops (the neighbour went down), the server stops its
own event loop and exits (a student herd: ``loop.stop()`` in ``connection_lost``), so one
server's death takes its neighbours down with it (LINK-4: a neighbour that is down delays
nothing; the course's herd keeps working when servers die)."""

import asyncio

from _base import HerdServer, main


class NeighbourDeathStopsServer(HerdServer):
    async def link(self, peer: str) -> None:
        host, port = self.servers[peer]
        while True:
            try:
                reader, writer = await asyncio.open_connection(host, port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        closed = asyncio.ensure_future(reader.read())
        while True:
            item = asyncio.ensure_future(self.queues[peer].get())
            done, _ = await asyncio.wait({item, closed}, return_when=asyncio.FIRST_COMPLETED)
            if item not in done:
                print(f"lost {peer}: Stop the event loop", flush=True)
                asyncio.get_running_loop().stop()  # the bug: the whole server ends
                return
            writer.write(item.result())
            await writer.drain()


if __name__ == "__main__":
    main(NeighbourDeathStopsServer)
