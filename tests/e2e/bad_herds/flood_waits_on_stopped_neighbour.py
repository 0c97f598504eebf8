"""One bug: each record is flooded by one background task that connects to the neighbours one
after another (open, write, close) with no timeout, so once a stopped neighbour's accept queue
is full, the neighbours after it in the list never get the record (LINK-4). The replies are not
delayed: only the floods to the other neighbours are."""

import asyncio

from _base import HerdServer, main


class FloodWaitsOnStoppedNeighbour(HerdServer):
    ephemeral_links = True

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        task = asyncio.get_running_loop().create_task(self.flood_in_turn(at_line, exclude))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def flood_in_turn(self, at_line: bytes, exclude: str | None) -> None:
        for peer in self.neighbours:
            if peer == exclude:
                continue
            try:
                # the bug: no timeout, and the next neighbour waits for this one
                _, writer = await asyncio.open_connection(*self.servers[peer])
                writer.write(at_line + b"\n")
                await writer.drain()
                writer.close()
            except OSError:
                continue


if __name__ == "__main__":
    main(FloodWaitsOnStoppedNeighbour)
