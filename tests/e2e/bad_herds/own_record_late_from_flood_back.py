"""One bug: as own_record_from_flood_back, a server keeps the record of an IAMAT it answers only
when a neighbour sends it back, and here every server takes 0.1 s to act on an AT line from a
neighbour (it batches them). A WHATSAT at the origin right after its reply gets '?' every
time, not only when it outruns the round trip, so a check that asks for the record at once on
the connection that carried the IAMAT meets the late record on every run (STATE-1: a server
holds the record from its AT reply on)."""

import asyncio

from _base import main
from own_record_from_flood_back import OwnRecordFromFloodBack

#: Longer than any reply's round trip on loopback, far shorter than the propagation time.
_BATCH_DELAY_S = 0.1


class OwnRecordLateFromFloodBack(OwnRecordFromFloodBack):
    async def on_at(self, fields: list[bytes]) -> None:
        self.check_at(fields)  # a malformed AT line is refused at once, as before
        task = asyncio.get_running_loop().create_task(self._on_at_later(fields))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def _on_at_later(self, fields: list[bytes]) -> None:
        await asyncio.sleep(_BATCH_DELAY_S)
        await super().on_at(fields)


if __name__ == "__main__":
    main(OwnRecordLateFromFloodBack)
