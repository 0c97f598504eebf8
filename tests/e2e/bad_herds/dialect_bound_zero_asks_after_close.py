"""No bug the course forbids: a WHATSAT with bound 0 is answered at once with the empty result,
and the herd still asks Places for it, from a task that waits until the client's connection
is closed (a log of what clients asked, say). The request reaches Places after the reply and
after the close. PLACES-4 lets a server make that request (lenient; strict: no request), so
places-bound-zero must see it, however late, and charge it to bound 0 only: the check after it
must not take it for its own WHATSAT's request."""

import asyncio
import contextlib
import contextvars
from decimal import Decimal

from _base import HerdServer, main

#: Set while the connection a command came on is open (one per connection's task).
_CLOSED: contextvars.ContextVar[asyncio.Event] = contextvars.ContextVar("closed")


class BoundZeroAsksAfterClose(HerdServer):
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        closed = asyncio.Event()
        _CLOSED.set(closed)
        try:
            await super().handle(reader, writer)
            await writer.wait_closed()
        finally:
            closed.set()

    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        reply = await super().on_whatsat(fields, line)
        if len(fields) == 4 and fields[3] == b"0" and fields[1] in self.table:
            location = self.table[fields[1]][1].split(b" ")[4]
            radius = Decimal(fields[2].decode())
            closed = _CLOSED.get()
            asyncio.get_running_loop().create_task(self.ask_after(closed, location, radius))
        return reply

    async def ask_after(self, closed: asyncio.Event, location: bytes, radius: Decimal) -> None:
        await closed.wait()
        with contextlib.suppress(*self.places_errors):
            await self.places(self.places_location(location), radius)


if __name__ == "__main__":
    main(BoundZeroAsksAfterClose)
