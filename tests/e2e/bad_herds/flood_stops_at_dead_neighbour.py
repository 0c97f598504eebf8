"""One bug: a record goes to the neighbours one after another from a task of its own, with no
error handling around the connection, so the first neighbour that is down (connection refused)
ends the task and the neighbours after it never get the record (LINK-4: a neighbour that is down
delays neither the replies nor the floods to the other neighbours). The reply does not wait."""

import asyncio

from _base import HerdServer, main


class FloodStopsAtDeadNeighbour(HerdServer):
    ephemeral_links = True

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        task = asyncio.get_running_loop().create_task(self.flood_in_turn(at_line + b"\n", exclude))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def flood_in_turn(self, data: bytes, exclude: str | None) -> None:
        for peer in sorted(self.neighbours):
            if peer == exclude:
                continue
            _, writer = await asyncio.open_connection(*self.servers[peer])  # the bug: raises if down
            writer.write(data)
            writer.write_eof()
            await writer.drain()
            writer.close()


if __name__ == "__main__":
    main(FloodStopsAtDeadNeighbour)
