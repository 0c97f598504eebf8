"""Dialect, no bug: a line loop that returns without ``writer.close()``, so a connection closes
only when the garbage collector frees it: some end in EOF right after the reply, some stay open
(a student herd). Here, deterministically, every other connection that
carried a command is held open (the first one is closed). FRAME-4's "then closes" is herdref's
own choice; the TA grader reads one chunk and closes itself."""

import asyncio
import itertools

from _base import HerdServer, main


class CloseLeftToGc(HerdServer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kept: list[asyncio.StreamWriter] = []  # the ones the collector has not freed yet
        self.connections = itertools.count(1)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        serial = 0
        while True:
            line = await reader.readline()
            if not line:
                break
            if self.is_blank(line):
                continue
            serial = serial or next(self.connections)
            reply = await self.answer(line)
            if reply:
                await self.send_reply(writer, reply)
        if serial % 2 == 1 or serial == 0:
            writer.close()  # what the collector did to this one, at once
        else:
            self.kept.append(writer)


if __name__ == "__main__":
    main(CloseLeftToGc)
