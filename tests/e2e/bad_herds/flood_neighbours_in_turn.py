"""One bug: each record goes to the neighbours one after another, each on a new connection
whose opening is awaited before the next neighbour's (LINK-4). The reply does not wait for the
flood, but a stopped neighbour whose accept queue is full holds every later neighbour's copy:
a neighbour that is stopped delays the floods to the other neighbours."""

import asyncio

from _base import HerdServer, main


class FloodNeighboursInTurn(HerdServer):
    ephemeral_links = True

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        task = asyncio.get_running_loop().create_task(self.flood_in_turn(at_line + b"\n", exclude))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def flood_in_turn(self, data: bytes, exclude: str | None) -> None:
        for peer in sorted(self.neighbours):
            if peer == exclude:
                continue
            try:
                # The bug: no timeout and no task of its own, so the next neighbour waits for
                # this connection (SYNs to a full accept queue are retried for minutes).
                _, writer = await asyncio.open_connection(*self.servers[peer])
            except OSError:
                continue
            try:
                writer.write(data)
                writer.write_eof()
                await writer.drain()
            except OSError:
                pass
            finally:
                writer.close()


if __name__ == "__main__":
    main(FloodNeighboursInTurn)
