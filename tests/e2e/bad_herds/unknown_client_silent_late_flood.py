"""One bug (WHATSAT-4): a WHATSAT for a client the server holds no record of is never answered
(the handler waits for a record that never comes, the connection left open). Besides, each
record is flooded a moment after the reply, from a task of its own, which the course allows
(FLOOD-7 is a SHOULD): so a WHATSAT sent to a neighbour right after the AT reply meets the
silence, and a flood check must not take that one silent ask for the record never arriving."""

import asyncio

from _base import HerdServer, main

#: How long after the reply a record leaves for the neighbours.
FLOOD_DELAY_S = 0.3


class UnknownClientSilentLateFlood(HerdServer):
    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        if len(fields) == 4 and fields[1] not in self.table:
            await asyncio.Event().wait()  # the bug: no answer, ever, for an unknown client
        return await super().on_whatsat(fields, line)

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        async def later() -> None:
            await asyncio.sleep(FLOOD_DELAY_S)
            await HerdServer.flood(self, at_line, exclude)

        task = asyncio.get_running_loop().create_task(later())
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)


if __name__ == "__main__":
    main(UnknownClientSilentLateFlood)
