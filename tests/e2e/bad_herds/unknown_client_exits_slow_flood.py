"""One bug: a WHATSAT for a client the server does not know ends the whole server process
(WHATSAT-4, ERR-4), in a herd whose floods leave a moment after the reply (a student herd
that relays from a task it starts after answering). So the checker's WHATSATs that ask a
neighbour whether a record has arrived come too soon and kill it, in every check that waits for
a flood before unknown-client has run: those deaths are unknown-client's defect again, not a
flood that never came."""

import asyncio

from _base import main
from unknown_client_exits import UnknownClientExits

#: How long after its reply a server relays a record.
_RELAY_DELAY_S = 0.3


class UnknownClientExitsSlowFlood(UnknownClientExits):
    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        relay = super().flood

        async def later() -> None:
            await asyncio.sleep(_RELAY_DELAY_S)
            await relay(at_line, exclude)

        task = asyncio.get_running_loop().create_task(later())
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)


if __name__ == "__main__":
    main(UnknownClientExitsSlowFlood)
