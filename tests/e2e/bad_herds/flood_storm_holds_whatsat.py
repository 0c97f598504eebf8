"""One bug, as flood_storm (the whole table re-flooded in a tight loop, FLOOD-2, here by every
server that holds a record, so that the storm comes back to the origin), in a herd whose
WHATSAT waits for a quiet moment: it is answered only once no AT line has come in for
0.5 s (a student's lock shared with the flood handler). While the storm rages, a WHATSAT gets
no reply within the reply timeout; with the server running alone, at once. The dialect step's
probes, taken while the storm raged, must not be judged as framing defects (a student herd's
storm held its WHATSAT replies past the timeout, and frame-half-close-whatsat failed it)."""

import asyncio
import time

from _base import main
from flood_storm import FloodStorm

#: How long the server must have been quiet of AT lines before it answers a WHATSAT.
_QUIET_S = 0.5


class FloodStormHoldsWhatsat(FloodStorm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.last_at = 0.0

    async def on_at(self, fields: list[bytes]) -> None:
        self.last_at = time.monotonic()
        await super().on_at(fields)
        # Every server that holds a record storms with it, so the storm comes back to the origin.
        self.storm_until = time.monotonic() + self.storm_s
        if not self.storming:
            self.storming = True
            asyncio.get_running_loop().create_task(self.storm())

    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        while time.monotonic() - self.last_at < _QUIET_S:  # noqa: ASYNC110 (a student's poll)
            await asyncio.sleep(0.05)
        return await super().on_whatsat(fields, line)


if __name__ == "__main__":
    main(FloodStormHoldsWhatsat)
