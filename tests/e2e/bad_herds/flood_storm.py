"""One bug: the whole table is re-flooded to every neighbour in a tight loop (bounded here: until 3
s after the last IAMAT) (FLOOD-2)."""

import asyncio
import time

from _base import HerdServer, main


class FloodStorm(HerdServer):
    storm_s = 3.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.storm_until = 0.0
        self.storming = False

    async def on_iamat(self, fields: list[bytes]) -> list[bytes]:
        self.storm_until = time.monotonic() + self.storm_s
        if not self.storming:
            self.storming = True
            asyncio.get_running_loop().create_task(self.storm())
        return await super().on_iamat(fields)

    async def storm(self) -> None:
        # The bug: "flood until everybody has it" with nothing to tell that they have.
        while time.monotonic() < self.storm_until:
            for _, at_line in list(self.table.values()):
                for peer in self.neighbours:
                    if self.queues[peer].qsize() < 1000:
                        self.queues[peer].put_nowait(at_line + b"\n")
            await asyncio.sleep(0.001)
        self.storming = False


if __name__ == "__main__":
    main(FloodStorm)
