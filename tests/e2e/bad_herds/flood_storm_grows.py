"""One bug: flooding never stops and grows (FLOOD-2), in the manner of a student herd
(2021): a server relays every AT line it receives to all of its neighbours, the one it came
from included, whether it already holds the record or not, each copy on a connection of its
own; and an IAMAT is answered only once its own copies are written, so replies slow down as
the storm grows. Bounded here only in rate (at most 32 copies in flight per server), never
in time: the storm goes on until the herd is stopped."""

import asyncio

from _base import HerdServer, main


class FloodStormGrows(HerdServer):
    ephemeral_links = True
    in_flight = 32

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.slots = asyncio.Semaphore(self.in_flight)

    async def on_iamat(self, fields: list[bytes]) -> list[bytes]:
        reply = await super().on_iamat(fields)
        await asyncio.gather(*self.sending)  # the reply waits for its flood, as in the original
        return reply

    def flood_received(self, stored: bool) -> bool:
        return True  # the bug: known or not, it goes on

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        await super().flood(at_line)  # the bug: back to the sender too

    async def send_flood(self, peer: str, data: bytes) -> None:
        async with self.slots:
            await super().send_flood(peer, data)


if __name__ == "__main__":
    main(FloodStormGrows)
