"""One bug: each record is flooded by a task of its own that connects to the neighbours one after
another and waits for each connection (open, write, close), with no timeout, so a neighbour that
is stopped (SIGSTOP) and whose accept queue is full holds up the floods to the neighbours after
it in the list (LINK-4: a stopped neighbour delays neither the replies nor the floods to other
neighbours). The reply itself is not delayed: the task runs after it."""

import asyncio

from _base import HerdServer, main


class FloodWaitsOnStoppedNeighbour(HerdServer):
    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        task = asyncio.get_running_loop().create_task(self.flood_in_turn(at_line + b"\n", exclude))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def flood_in_turn(self, data: bytes, exclude: str | None) -> None:
        for peer in self.neighbours:
            if peer == exclude:
                continue
            try:
                # The bug: no timeout, and the next neighbour waits for this one.
                _, writer = await asyncio.open_connection(*self.servers[peer])
                writer.write(data)
                await writer.drain()
                writer.close()
                await writer.wait_closed()
            except OSError:
                continue  # a neighbour that is down is skipped at once

    async def link(self, peer: str) -> None:
        return  # one connection per flood


if __name__ == "__main__":
    main(FloodWaitsOnStoppedNeighbour)
