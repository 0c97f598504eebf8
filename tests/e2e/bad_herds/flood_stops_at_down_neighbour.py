"""One bug: each record is flooded after the reply by a task that connects to the neighbours one
after another with no error handling, so the refused connection to a neighbour that is down
ends the task and the neighbours after it in the list never get the record (LINK-4: a neighbour
that is down delays neither the replies nor the floods to other neighbours). The reply is not
affected: it has gone before the flood starts."""

import asyncio

from _base import main
from flood_waits_on_stopped_neighbour import FloodWaitsOnStoppedNeighbour


class FloodStopsAtDownNeighbour(FloodWaitsOnStoppedNeighbour):
    """The same flooding task (one connection per neighbour, in turn), without its error
    handling."""

    async def flood_in_turn(self, data: bytes, exclude: str | None) -> None:
        for peer in self.neighbours:
            if peer != exclude:
                _, writer = await asyncio.open_connection(*self.servers[peer])  # the bug: raises if down
                writer.write(data)
                writer.close()


if __name__ == "__main__":
    main(FloodStopsAtDownNeighbour)
