"""One bug: each record is flooded before the IAMAT is answered, on a connection of its own per
neighbour (connect, write, close; a neighbour that is down is skipped), so a neighbour that is
stopped (SIGSTOP) holds the reply up once its accept queue is full: connect() then waits, after
about as many records as its listen backlog, however small they are (LINK-4: a stopped neighbour
delays no reply). A student's Juzang herd floods this way."""

import asyncio

from _base import HerdServer, main


class FloodConnectsBeforeReply(HerdServer):
    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        for peer in self.neighbours:
            if peer == exclude:
                continue
            try:
                _, writer = await asyncio.open_connection(*self.servers[peer])  # the bug: awaited
                writer.write(at_line + b"\n")
                await writer.drain()
                writer.close()
                await writer.wait_closed()
            except OSError:
                continue  # a neighbour that is down misses the record

    async def link(self, peer: str) -> None:
        return  # one connection per flood


if __name__ == "__main__":
    main(FloodConnectsBeforeReply)
